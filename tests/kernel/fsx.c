/*
 * fsx.c — a small fsx-style file system exerciser for the kernel suite's guest
 * (busybox only, so the test builds this with `gcc -static` at test time).
 *
 *   fsx run FILE [-s SEED] [-n OPS] [-l MAXSIZE] [-o MAXOPLEN]
 *       Random writes, reads, truncates (up and down), mmap reads and writes,
 *       fsyncs and close/reopen cycles on FILE, each read checked against an
 *       in-memory model of the file; at the end the page cache is dropped and
 *       the whole file is read back and compared. Exit 0 when every byte
 *       matched; otherwise the first mismatch and the last operations are
 *       printed and the exit status is 1.
 *   fsx pattern SEED SIZE
 *       Write SIZE deterministic pseudo-random bytes to stdout (reference data
 *       for big dd transfers, without keeping a copy anywhere).
 *   fsx runas UID GID PROGRAM [ARGS...]
 *       Drop to UID/GID (no supplementary groups) and exec PROGRAM: the
 *       permission checks run as an ordinary user.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rnd(void) {
  /* xorshift64*: fast, and the same sequence for the same seed everywhere */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

#define LOG_SIZE 64
static char oplog[LOG_SIZE][96];
static long opcount;

static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(oplog[opcount % LOG_SIZE], sizeof oplog[0], fmt, ap);
  va_end(ap);
  opcount++;
}

static void dump_log(void) {
  long first = opcount > LOG_SIZE ? opcount - LOG_SIZE : 0;
  fprintf(stderr, "last operations:\n");
  for (long i = first; i < opcount; i++) {
    fprintf(stderr, "  %6ld %s\n", i, oplog[i % LOG_SIZE]);
  }
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fsx: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  dump_log();
  exit(1);
}

static const char *path;
static int fd = -1;
static unsigned char *model; /* expected contents, MAXSIZE bytes */
static unsigned char *buf;
static size_t size;          /* expected file size */
static size_t maxsize, maxoplen;

static void reopen(void) {
  if (fd >= 0 && close(fd) < 0) die("close: %s", strerror(errno));
  fd = open(path, O_RDWR);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
}

static void full_pwrite(const unsigned char *p, size_t len, off_t off) {
  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, off);
    if (n < 0) die("pwrite at %lld: %s", (long long)off, strerror(errno));
    p += n, len -= (size_t)n, off += n;
  }
}

static size_t full_pread(unsigned char *p, size_t len, off_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);
    if (n < 0) die("pread at %lld: %s", (long long)off, strerror(errno));
    if (n == 0) break;
    got += (size_t)n;
  }
  return got;
}

static void check(const unsigned char *got, size_t off, size_t len, const char *how) {
  for (size_t i = 0; i < len; i++) {
    if (got[i] != model[off + i]) {
      die("%s mismatch at offset %zu (op at %zu+%zu): got 0x%02x, expected 0x%02x",
          how, off + i, off, len, got[i], model[off + i]);
    }
  }
}

static void check_size(const char *when) {
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat: %s", strerror(errno));
  if ((size_t)st.st_size != size) {
    die("size %s: got %lld, expected %zu", when, (long long)st.st_size, size);
  }
}

static void op_write(void) {
  size_t off = below(maxsize);
  size_t len = 1 + below(maxoplen);
  if (off + len > maxsize) len = maxsize - off;
  for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)rnd();
  note("write %zu+%zu (size %zu)", off, len, size);
  full_pwrite(buf, len, (off_t)off);
  memcpy(model + off, buf, len);
  if (off + len > size) size = off + len;
}

static void op_read(void) {
  if (size == 0) return;
  size_t off = below(size);
  size_t len = 1 + below(maxoplen);
  if (off + len > size) len = size - off;
  note("read %zu+%zu (size %zu)", off, len, size);
  size_t got = full_pread(buf, len, (off_t)off);
  if (got != len) die("short read at %zu: %zu of %zu bytes", off, got, len);
  check(buf, off, len, "read");
}

static void op_truncate(void) {
  size_t to = below(maxsize + 1);
  note("truncate %zu -> %zu", size, to);
  if (ftruncate(fd, (off_t)to) < 0) die("ftruncate to %zu: %s", to, strerror(errno));
  /* Bytes past the new end read as zeros if the file grows again. */
  if (to < size) memset(model + to, 0, size - to);
  size = to;
  check_size("after truncate");
}

static void op_mapread(void) {
  if (size == 0) return;
  size_t off = below(size);
  size_t len = 1 + below(maxoplen);
  if (off + len > size) len = size - off;
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  size_t start = off & ~(pg - 1);
  note("mapread %zu+%zu (size %zu)", off, len, size);
  unsigned char *m = mmap(NULL, off - start + len, PROT_READ, MAP_SHARED, fd, (off_t)start);
  if (m == MAP_FAILED) die("mmap for read: %s", strerror(errno));
  check(m + (off - start), off, len, "mapread");
  munmap(m, off - start + len);
}

static void op_mapwrite(void) {
  /* Only inside the current size: storing past EOF through a mapping is SIGBUS. */
  if (size == 0) return;
  size_t off = below(size);
  size_t len = 1 + below(maxoplen);
  if (off + len > size) len = size - off;
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  size_t start = off & ~(pg - 1);
  note("mapwrite %zu+%zu (size %zu)", off, len, size);
  unsigned char *m = mmap(NULL, off - start + len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
  if (m == MAP_FAILED) die("mmap for write: %s", strerror(errno));
  for (size_t i = 0; i < len; i++) m[off - start + i] = model[off + i] = (unsigned char)rnd();
  if (msync(m, off - start + len, MS_SYNC) < 0) die("msync: %s", strerror(errno));
  munmap(m, off - start + len);
}

static void drop_caches(void) {
  int d = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (d < 0) return; /* not root: the reopen still revalidates */
  if (write(d, "3\n", 2) < 0) { /* best effort */ }
  close(d);
}

static void verify_all(const char *when) {
  check_size(when);
  size_t off = 0;
  while (off < size) {
    size_t len = size - off < maxoplen ? size - off : maxoplen;
    size_t got = full_pread(buf, len, (off_t)off);
    if (got != len) die("short read %s at %zu: %zu of %zu bytes", when, off, got, len);
    check(buf, off, len, when);
    off += len;
  }
}

static int cmd_run(int argc, char **argv) {
  uint64_t seed = 1;
  long ops = 2000;
  maxsize = 1 << 20;
  maxoplen = 64 << 10;
  int opt;
  while ((opt = getopt(argc, argv, "s:n:l:o:")) != -1) {
    switch (opt) {
      case 's': seed = strtoull(optarg, NULL, 0); break;
      case 'n': ops = strtol(optarg, NULL, 0); break;
      case 'l': maxsize = strtoull(optarg, NULL, 0); break;
      case 'o': maxoplen = strtoull(optarg, NULL, 0); break;
      default: return 2;
    }
  }
  if (optind != argc - 1 || maxsize == 0 || maxoplen == 0) {
    fprintf(stderr, "usage: fsx run FILE [-s SEED] [-n OPS] [-l MAXSIZE] [-o MAXOPLEN]\n");
    return 2;
  }
  path = argv[optind];
  rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
  model = calloc(maxsize, 1);
  buf = malloc(maxoplen);
  if (!model || !buf) die("out of memory");
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("create %s: %s", path, strerror(errno));
  long counts[7] = {0};
  double spent[7] = {0};
  for (long i = 0; i < ops; i++) {
    unsigned r = (unsigned)below(100);
    int kind;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    /* msync and fsync are rare: on ext4 over NBD each costs a journal commit
       and a flush, tens of milliseconds in the guest. */
    if (r < 36) op_write(), kind = 0;
    else if (r < 69) op_read(), kind = 1;
    else if (r < 77) op_truncate(), kind = 2;
    else if (r < 89) op_mapread(), kind = 3;
    else if (r < 94) op_mapwrite(), kind = 4;
    else if (r < 96) {
      note("fsync");
      if (fsync(fd) < 0) die("fsync: %s", strerror(errno));
      kind = 5;
    } else {
      note("close+reopen");
      reopen();
      check_size("after reopen");
      kind = 6;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    counts[kind]++;
    spent[kind] += (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  }
  note("final fsync, close, drop caches, reopen, verify");
  if (fsync(fd) < 0) die("fsync: %s", strerror(errno));
  close(fd);
  fd = -1;
  drop_caches();
  reopen();
  verify_all("final verify");
  close(fd);
  static const char *names[7] = {"write", "read", "truncate", "mapread", "mapwrite", "fsync", "reopen"};
  printf("fsx: %ld ops ok, final size %zu:", ops, size);
  for (int k = 0; k < 7; k++) printf(" %s %ld/%.1fs", names[k], counts[k], spent[k]);
  printf("\n");
  return 0;
}

static int cmd_pattern(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fsx pattern SEED SIZE\n");
    return 2;
  }
  rng_state = strtoull(argv[1], NULL, 0) * 0x9E3779B97F4A7C15ULL + 1;
  unsigned long long left = strtoull(argv[2], NULL, 0);
  static uint64_t block[1 << 17]; /* 1 MiB */
  while (left > 0) {
    for (size_t i = 0; i < sizeof block / sizeof block[0]; i++) block[i] = rnd();
    size_t len = left < sizeof block ? (size_t)left : sizeof block;
    const unsigned char *p = (const unsigned char *)block;
    while (len > 0) {
      ssize_t n = write(1, p, len);
      if (n < 0) {
        perror("fsx pattern: write");
        return 1;
      }
      p += n, len -= (size_t)n, left -= (unsigned long long)n;
    }
  }
  return 0;
}

static int cmd_runas(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: fsx runas UID GID PROGRAM [ARGS...]\n");
    return 2;
  }
  uid_t uid = (uid_t)strtoul(argv[1], NULL, 10);
  gid_t gid = (gid_t)strtoul(argv[2], NULL, 10);
  if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
    perror("fsx runas");
    return 126;
  }
  execvp(argv[3], argv + 3);
  perror("fsx runas: exec");
  return 127;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "pattern") == 0) return cmd_pattern(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "runas") == 0) return cmd_runas(argc - 1, argv + 1);
  fprintf(stderr, "usage: fsx run|pattern|runas ...\n");
  return 2;
}
