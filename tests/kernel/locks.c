/*
 * locks.c — the kernel suite's checks of byte-range locks, flock and
 * exclusive creates (NFSv4 keeps these on the server), run in the guest and
 * built with `gcc -static` at test time like fsx.c.
 *
 * Each subcommand plays two processes: A, a "holder" child that opens the
 * file, takes its locks and keeps them until told to unlock, close or exit,
 * and B, a fresh "probe" child per attempt that opens the file itself, tries
 * one lock without waiting and reports what happened. On success it prints
 * one summary line and exits 0; otherwise it says which expectation failed
 * and exits 1.
 *
 *   locks conflict FILE [ALT]  A's write lock on 100+100: B's overlapping
 *       F_SETLK fails (EAGAIN/EACCES), F_GETLK names A's pid, type and range,
 *       adjacent ranges are granted, read locks are shared, and B gets the
 *       range after A unlocks.
 *   locks close FILE [ALT]     A's lock goes when A closes the locking
 *       descriptor, and when A closes another descriptor of the file (POSIX),
 *       while A keeps running.
 *   locks exit FILE [ALT]      A's lock goes when A exits without closing.
 *   locks flock FILE [ALT]     flock(LOCK_EX) conflicts between processes,
 *       LOCK_NB gives EWOULDBLOCK, an fcntl lock conflicts with it too (Linux
 *       sends flock to an NFSv4 server as a whole-file lock), LOCK_SH is
 *       shared, and close releases it.
 *   locks excl DIR [ALTDIR]    O_CREAT|O_EXCL creates once, then EEXIST; the
 *       file, created with mode 0, takes writes through the creating
 *       descriptor. Meant to run as an ordinary user (fsx runas).
 *   locks restart FILE [ALT] -- CMD [ARGS...]  A holds the file open and
 *       write-locked while CMD restarts the server; afterwards A reads and
 *       writes through its descriptor, B still conflicts, and B gets the lock
 *       once A unlocks.
 *
 * ALT is the same file reached through a second mount of the export
 * (nosharecache): the kernel keeps the lock lists of the two mounts apart,
 * so a conflict seen through ALT comes from the server. "-" means none.
 * LOCKS_TIMEOUT (seconds, default 60) bounds every probe; a server in its
 * grace period makes a new lock wait.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int timeout_s = 60;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "locks: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* the reader is gone: it reports the missing answer */
    c += w, n -= (size_t)w;
  }
}

static bool read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r, n -= (size_t)r;
  }
  return true;
}

/* One lock attempt: fcntl F_SETLK / F_GETLK on a range, or flock. */
enum op { SETLK, GETLK, FLOCK };
struct req {
  enum op op;
  short type; /* F_RDLCK, F_WRLCK, F_UNLCK */
  off_t start, len;
  int how; /* flock: LOCK_EX, LOCK_SH, LOCK_UN, | LOCK_NB */
};

static struct req setlk(short type, off_t start, off_t len) { return (struct req){SETLK, type, start, len, 0}; }
static struct req getlk(short type, off_t start, off_t len) { return (struct req){GETLK, type, start, len, 0}; }
static struct req flk(int how) { return (struct req){FLOCK, 0, 0, 0, how}; }

static const char *type_name(short t) { return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : "F_UNLCK"; }

static const char *describe(struct req r) {
  static char buf[96];
  if (r.op == FLOCK) {
    snprintf(buf, sizeof buf, "flock(%s%s)", (r.how & LOCK_EX) ? "LOCK_EX" : (r.how & LOCK_SH) ? "LOCK_SH" : "LOCK_UN",
             (r.how & LOCK_NB) ? "|LOCK_NB" : "");
  } else {
    snprintf(buf, sizeof buf, "%s %s %lld+%lld", r.op == SETLK ? "F_SETLK" : "F_GETLK", type_name(r.type),
             (long long)r.start, (long long)r.len);
  }
  return buf;
}

/* errno of the attempt, 0 on success; F_GETLK's answer goes to *out. */
static int apply(int fd, struct req r, struct flock *out) {
  if (r.op == FLOCK) return flock(fd, r.how) < 0 ? errno : 0;
  struct flock fl = {.l_type = r.type, .l_whence = SEEK_SET, .l_start = r.start, .l_len = r.len};
  if (fcntl(fd, r.op == SETLK ? F_SETLK : F_GETLK, &fl) < 0) return errno;
  if (out) *out = fl;
  return 0;
}

/* --- B: one process, one fresh descriptor, one attempt ------------------------------ */

struct res {
  bool opened;
  int err;
  struct flock fl;
};

static struct res probe(const char *path, struct req r) {
  int p[2];
  if (pipe(p) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    close(p[0]);
    alarm((unsigned)timeout_s);
    struct res out = {0};
    int fd = open(path, O_RDWR);
    if (fd < 0) {
      out.err = errno;
    } else {
      out.opened = true;
      out.err = apply(fd, r, &out.fl);
    }
    write_all(p[1], &out, sizeof out);
    _exit(0); /* exit releases whatever B got, before the parent's waitpid returns */
  }
  close(p[1]);
  struct res out;
  bool got = read_all(p[0], &out, sizeof out);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (!got) {
    die("B's %s on %s gave no answer%s", describe(r), path,
        WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? " within LOCKS_TIMEOUT" : "");
  }
  if (!out.opened) die("B could not open %s: %s", path, strerror(out.err));
  return out;
}

static void expect_granted(const char *path, struct req r, const char *why) {
  struct res x = probe(path, r);
  if (x.err) die("%s: B's %s on %s failed: %s, expected success", why, describe(r), path, strerror(x.err));
}

static void expect_denied(const char *path, struct req r, const char *why) {
  struct res x = probe(path, r);
  if (x.err == EAGAIN || x.err == EACCES) return;
  die("%s: B's %s on %s %s%s, expected EAGAIN or EACCES", why, describe(r), path, x.err ? "failed: " : "succeeded",
      x.err ? strerror(x.err) : "");
}

/* F_GETLK must name a conflicting lock of TYPE on START+LEN; returns its pid. */
static pid_t expect_getlk(const char *path, struct req r, short type, off_t start, off_t len) {
  struct res x = probe(path, r);
  if (x.err) die("B's %s on %s failed: %s", describe(r), path, strerror(x.err));
  if (x.fl.l_type != type || x.fl.l_start != start || x.fl.l_len != len) {
    die("B's %s on %s reported %s %lld+%lld, expected %s %lld+%lld", describe(r), path, type_name(x.fl.l_type),
        (long long)x.fl.l_start, (long long)x.fl.l_len, type_name(type), (long long)start, (long long)len);
  }
  return x.fl.l_pid;
}

/* --- A: a process that holds locks until told otherwise ---------------------------- */

struct holder {
  pid_t pid;
  int to, from;
};

struct cmd {
  char op; /* 'u' unlock all, 'c' close the locking fd, 'o' close the other fd, 'x' exit, 'r' read, 'w' write */
  off_t off;
  size_t len;
  char data[64];
};

struct reply {
  int err;
  size_t n;
  char data[64];
};

static void holder_main(int in, int out, const char *path, const struct req *locks, int n, const char *init) {
  alarm((unsigned)timeout_s * 5);
  struct reply rep = {0};
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  int other = fd < 0 ? -1 : open(path, O_RDWR);
  if (fd < 0 || other < 0) rep.err = errno;
  if (!rep.err && init) {
    size_t len = strlen(init);
    if (pwrite(fd, init, len, 0) != (ssize_t)len || fsync(fd) < 0) rep.err = errno ? errno : EIO;
  }
  for (int i = 0; i < n && !rep.err; i++) rep.err = apply(fd, locks[i], NULL);
  write_all(out, &rep, sizeof rep);
  if (rep.err) _exit(1);
  struct cmd c;
  while (read_all(in, &c, sizeof c)) {
    memset(&rep, 0, sizeof rep);
    ssize_t r = 0;
    switch (c.op) {
      case 'u': {
        struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET};
        r = fcntl(fd, F_SETLK, &fl);
        break;
      }
      case 'c': r = close(fd); break;
      case 'o': r = close(other); break;
      case 'x': _exit(0); /* no close: exit releases the locks */
      case 'r':
        if (c.len > sizeof rep.data) c.len = sizeof rep.data;
        r = pread(fd, rep.data, c.len, c.off);
        if (r >= 0) rep.n = (size_t)r;
        break;
      case 'w':
        if (c.len > sizeof c.data) c.len = sizeof c.data;
        r = pwrite(fd, c.data, c.len, c.off);
        if (r >= 0) rep.n = (size_t)r, r = fsync(fd);
        break;
      default: r = -1, errno = EINVAL;
    }
    if (r < 0) rep.err = errno;
    write_all(out, &rep, sizeof rep);
  }
  _exit(0);
}

static struct holder hold(const char *path, const struct req *locks, int n, const char *init) {
  int down[2], up[2];
  if (pipe(down) < 0 || pipe(up) < 0) die("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    close(down[1]), close(up[0]);
    holder_main(down[0], up[1], path, locks, n, init);
  }
  close(down[0]), close(up[1]);
  struct holder h = {pid, down[1], up[0]};
  struct reply rep;
  if (!read_all(h.from, &rep, sizeof rep)) die("A gave no answer after locking %s", path);
  if (rep.err) die("A could not open and lock %s: %s", path, strerror(rep.err));
  return h;
}

static struct reply tell(struct holder *h, struct cmd c, const char *what) {
  write_all(h->to, &c, sizeof c);
  struct reply rep;
  if (!read_all(h->from, &rep, sizeof rep)) die("A gave no answer to: %s", what);
  if (rep.err) die("A could not %s: %s", what, strerror(rep.err));
  return rep;
}

/* Ends A: 'x' makes it exit at once, still holding whatever it holds. */
static void finish(struct holder *h, char how) {
  struct cmd c = {.op = how};
  if (how == 'x') write_all(h->to, &c, sizeof c);
  close(h->to), close(h->from);
  int st = 0;
  waitpid(h->pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("A (pid %d) ended with status 0x%x", (int)h->pid, st);
}

/* --- the checks ------------------------------------------------------------------ */

static bool has(const char *alt) { return alt && strcmp(alt, "-") != 0; }

static int cmd_conflict(const char *file, const char *alt) {
  struct req a = setlk(F_WRLCK, 100, 100);
  struct holder h = hold(file, &a, 1, NULL);
  expect_denied(file, setlk(F_WRLCK, 150, 10), "inside A's write lock");
  expect_denied(file, setlk(F_RDLCK, 199, 1), "last byte of A's write lock");
  pid_t pid = expect_getlk(file, getlk(F_WRLCK, 150, 10), F_WRLCK, 100, 100);
  if (pid != h.pid) die("F_GETLK named pid %d, A is %d", (int)pid, (int)h.pid);
  expect_granted(file, setlk(F_WRLCK, 0, 100), "range just before A's");
  expect_granted(file, setlk(F_WRLCK, 200, 100), "range just after A's");
  pid_t alt_pid = 0;
  if (has(alt)) {
    expect_denied(alt, setlk(F_WRLCK, 150, 10), "second mount, inside A's write lock");
    alt_pid = expect_getlk(alt, getlk(F_RDLCK, 120, 1), F_WRLCK, 100, 100);
    expect_granted(alt, setlk(F_WRLCK, 300, 10), "second mount, outside A's lock");
  }
  struct req r = setlk(F_RDLCK, 1000, 10);
  struct holder reader = hold(file, &r, 1, NULL);
  expect_granted(file, setlk(F_RDLCK, 1000, 10), "read lock beside A's read lock");
  expect_denied(file, setlk(F_WRLCK, 1005, 1), "write lock inside A's read lock");
  if (has(alt)) expect_denied(alt, setlk(F_WRLCK, 1005, 1), "second mount, write lock inside A's read lock");
  finish(&reader, 'q');
  tell(&h, (struct cmd){.op = 'u'}, "unlock");
  expect_granted(file, setlk(F_WRLCK, 150, 10), "after A unlocked");
  if (has(alt)) expect_granted(alt, setlk(F_WRLCK, 150, 10), "second mount, after A unlocked");
  finish(&h, 'q');
  printf("EAGAIN inside A's lock, F_GETLK names A (pid %d, F_WRLCK 100+100), neighbours granted, read locks shared,"
         " granted after unlock%s",
         (int)h.pid, has(alt) ? "; second mount: conflicts" : "");
  if (has(alt)) printf(" and F_GETLK (pid %d) from the server", (int)alt_pid);
  printf("\n");
  return 0;
}

static int cmd_close(const char *file, const char *alt) {
  struct req a = setlk(F_WRLCK, 0, 0);
  for (int round = 0; round < 2; round++) {
    char how = round == 0 ? 'c' : 'o';
    const char *what = round == 0 ? "close the locking descriptor" : "close its other descriptor";
    struct holder h = hold(file, &a, 1, NULL);
    expect_denied(file, setlk(F_WRLCK, 10, 1), "A holds the whole file");
    if (has(alt)) expect_denied(alt, setlk(F_WRLCK, 10, 1), "second mount, A holds the whole file");
    tell(&h, (struct cmd){.op = how}, what);
    expect_granted(file, setlk(F_WRLCK, 10, 1), what);
    if (has(alt)) expect_granted(alt, setlk(F_WRLCK, 10, 1), what);
    if (kill(h.pid, 0) < 0) die("A is gone before it was told to exit");
    finish(&h, 'q');
  }
  printf("released when A closed the locking descriptor, and when A closed another descriptor of the file (POSIX),"
         " A still running%s\n", has(alt) ? "; seen through both mounts" : "");
  return 0;
}

static int cmd_exit(const char *file, const char *alt) {
  struct req a = setlk(F_WRLCK, 0, 0);
  struct holder h = hold(file, &a, 1, NULL);
  expect_denied(file, setlk(F_WRLCK, 10, 1), "A holds the whole file");
  if (has(alt)) expect_denied(alt, setlk(F_WRLCK, 10, 1), "second mount, A holds the whole file");
  double t0 = now();
  finish(&h, 'x');
  expect_granted(file, setlk(F_WRLCK, 10, 1), "A exited");
  if (has(alt)) expect_granted(alt, setlk(F_WRLCK, 10, 1), "second mount, A exited");
  printf("released by A's exit (descriptor never closed), B granted %.0f ms after%s\n", (now() - t0) * 1000,
         has(alt) ? ", through both mounts" : "");
  return 0;
}

static int cmd_flock(const char *file, const char *alt) {
  struct req ex = flk(LOCK_EX);
  struct holder h = hold(file, &ex, 1, NULL);
  expect_denied(file, flk(LOCK_EX | LOCK_NB), "A holds LOCK_EX");
  expect_denied(file, flk(LOCK_SH | LOCK_NB), "A holds LOCK_EX");
  expect_denied(file, setlk(F_WRLCK, 4096, 1), "A's flock is a whole-file lock on the server");
  if (has(alt)) expect_denied(alt, flk(LOCK_EX | LOCK_NB), "second mount, A holds LOCK_EX");
  tell(&h, (struct cmd){.op = 'c'}, "close the flocked descriptor");
  expect_granted(file, flk(LOCK_EX | LOCK_NB), "A closed its descriptor");
  if (has(alt)) expect_granted(alt, flk(LOCK_EX | LOCK_NB), "second mount, A closed its descriptor");
  finish(&h, 'q');
  struct req sh = flk(LOCK_SH);
  struct holder s = hold(file, &sh, 1, NULL);
  expect_granted(file, flk(LOCK_SH | LOCK_NB), "beside A's LOCK_SH");
  expect_denied(file, flk(LOCK_EX | LOCK_NB), "A holds LOCK_SH");
  finish(&s, 'q');
  expect_granted(file, flk(LOCK_EX | LOCK_NB), "A exited");
  printf("LOCK_EX|LOCK_NB and LOCK_SH|LOCK_NB got EWOULDBLOCK, an fcntl lock conflicted too%s, released on close;"
         " LOCK_SH shared\n", has(alt) ? ", conflict also through the second mount" : "");
  return 0;
}

static int cmd_excl(const char *dir, const char *altdir) {
  static const char text[] = "written through the O_EXCL descriptor\n";
  char path[4096], alt[4096];
  snprintf(path, sizeof path, "%s/excl", dir);
  int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0);
  if (fd < 0) die("first O_CREAT|O_EXCL of %s: %s", path, strerror(errno));
  int again = open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
  if (again >= 0 || errno != EEXIST) die("second O_CREAT|O_EXCL of %s: %s, expected EEXIST", path, again >= 0 ? "succeeded" : strerror(errno));
  if (has(altdir)) {
    snprintf(alt, sizeof alt, "%s/excl", altdir);
    again = open(alt, O_CREAT | O_EXCL | O_RDWR, 0644);
    if (again >= 0 || errno != EEXIST) die("O_CREAT|O_EXCL through the second mount: %s, expected EEXIST", again >= 0 ? "succeeded" : strerror(errno));
  }
  ssize_t n = write(fd, text, sizeof text - 1);
  if (n != (ssize_t)(sizeof text - 1)) die("write through the creating descriptor: %s", n < 0 ? strerror(errno) : "short");
  if (fsync(fd) < 0) die("fsync through the creating descriptor: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat: %s", strerror(errno));
  if ((st.st_mode & 07777) != 0 || st.st_size != n || st.st_uid != getuid()) {
    die("created file: mode %o size %lld uid %d, expected mode 0 size %zd uid %d", st.st_mode & 07777,
        (long long)st.st_size, (int)st.st_uid, n, (int)getuid());
  }
  if (close(fd) < 0) die("close: %s", strerror(errno));
  /* Mode 0 is real: a new open by the owner is refused (root would pass). */
  int denied = getuid() != 0 ? open(path, O_RDONLY) : -1;
  if (denied >= 0) die("uid %d opened its mode 0 file again", (int)getuid());
  if (getuid() != 0 && errno != EACCES) die("reopening the mode 0 file: %s, expected EACCES", strerror(errno));
  printf("created once (then EEXIST%s), mode 0, %zd bytes written through the creating descriptor as uid %d\n",
         has(altdir) ? ", also through the second mount" : "", n, (int)getuid());
  return 0;
}

static void drop_caches(void) {
  int d = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (d < 0) return;
  if (write(d, "3\n", 2) < 0) { /* best effort: reads then come from the cache */ }
  close(d);
}

static int cmd_restart(const char *file, const char *alt, char **argv) {
  static const char before[] = "before\n", after[] = "after\n";
  struct req a = setlk(F_WRLCK, 0, 100);
  struct holder h = hold(file, &a, 1, before);
  expect_denied(file, setlk(F_WRLCK, 50, 10), "before the restart");
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("restart command %s failed with status 0x%x", argv[0], st);
  double t0 = now();
  sync();
  drop_caches();
  struct cmd rd = {.op = 'r', .off = 0, .len = sizeof before - 1};
  struct reply got = tell(&h, rd, "read through its descriptor after the restart");
  if (got.n != sizeof before - 1 || memcmp(got.data, before, got.n) != 0) {
    die("A read %zu bytes \"%.*s\" after the restart, expected \"before\"", got.n, (int)got.n, got.data);
  }
  double t_read = now();
  struct cmd wr = {.op = 'w', .off = sizeof before - 1, .len = sizeof after - 1};
  memcpy(wr.data, after, sizeof after - 1);
  tell(&h, wr, "write and fsync through its descriptor after the restart");
  expect_denied(file, setlk(F_WRLCK, 50, 10), "after the restart: A's lock must have been reclaimed");
  if (has(alt)) expect_denied(alt, setlk(F_WRLCK, 50, 10), "second mount, after the restart");
  double t_lock = now();
  tell(&h, (struct cmd){.op = 'u'}, "unlock after the restart");
  expect_granted(file, setlk(F_WRLCK, 50, 10), "A unlocked after the restart");
  tell(&h, (struct cmd){.op = 'c'}, "close after the restart");
  finish(&h, 'q');
  drop_caches();
  char buf[64] = {0};
  int fd = open(file, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (n < 0) die("reading %s back: %s", file, strerror(errno));
  close(fd);
  if (strcmp(buf, "before\nafter\n") != 0) die("%s holds \"%s\", expected \"before\\nafter\\n\"", file, buf);
  printf("A read (%.1fs) and wrote through its descriptor after the restart, its lock still conflicted (%.1fs)%s,"
         " unlock and close worked\n", t_read - t0, t_lock - t0, has(alt) ? " through both mounts" : "");
  return 0;
}

int main(int argc, char **argv) {
  const char *t = getenv("LOCKS_TIMEOUT");
  if (t && atoi(t) > 0) timeout_s = atoi(t);
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 3) {
    fprintf(stderr, "usage: locks conflict|close|exit|flock|excl|restart PATH [ALT] [-- CMD...]\n");
    return 2;
  }
  const char *alt = argc > 3 && strcmp(argv[3], "--") != 0 ? argv[3] : NULL;
  if (strcmp(argv[1], "conflict") == 0) return cmd_conflict(argv[2], alt);
  if (strcmp(argv[1], "close") == 0) return cmd_close(argv[2], alt);
  if (strcmp(argv[1], "exit") == 0) return cmd_exit(argv[2], alt);
  if (strcmp(argv[1], "flock") == 0) return cmd_flock(argv[2], alt);
  if (strcmp(argv[1], "excl") == 0) return cmd_excl(argv[2], alt);
  if (strcmp(argv[1], "restart") == 0) {
    int i = 2;
    while (i < argc && strcmp(argv[i], "--") != 0) i++;
    if (i + 1 >= argc) die("restart needs -- CMD");
    return cmd_restart(argv[2], alt, argv + i + 1);
  }
  fprintf(stderr, "locks: unknown subcommand: %s\n", argv[1]);
  return 2;
}
