/*
 * sparse.c — the system calls of the kernel suite's NFSv4.2 checks that
 * busybox has no command for (nfs42_checks.sh), built with `gcc -static` at
 * test time like fsx.c. Each subcommand makes its calls, prints what they
 * returned and exits 0; a call that fails prints the error and exits 1.
 *
 *   sparse fallocate FILE OFFSET LENGTH
 *       fallocate(2) with mode 0 (an NFSv4.2 client sends ALLOCATE).
 *   sparse punch FILE OFFSET LENGTH
 *       fallocate(2) with FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
 *       (DEALLOCATE).
 *   sparse seek FILE data|hole OFFSET
 *       lseek(2) with SEEK_DATA or SEEK_HOLE (SEEK): prints the position,
 *       or ENXIO.
 *   sparse map FILE
 *       The file's data ranges found by alternating SEEK_DATA and SEEK_HOLE
 *       from 0, as "OFFSET+LENGTH ..." ("none" for a file without data).
 *   sparse copy SRC DST [SRC_OFFSET DST_OFFSET LENGTH]
 *       copy_file_range(2) (COPY) until LENGTH bytes are copied, or without
 *       the offsets all of SRC into DST, created or truncated. Prints the
 *       bytes and the number of calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Calls a subcommand makes at most: every loop below is bounded. */
#define MAX_CALLS 100000

static int die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "sparse: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static long long number(const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 0);
  if (errno || *end || end == s || v < 0) die("not a number: %s", s);
  return v;
}

static int open_or_die(const char *path, int flags) {
  int fd = open(path, flags, 0644);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  return fd;
}

static int cmd_fallocate(char **argv, int mode, const char *name) {
  int fd = open_or_die(argv[0], O_RDWR);
  long long off = number(argv[1]), len = number(argv[2]);
  if (fallocate(fd, mode, off, len) < 0) die("%s %lld+%lld: %s", name, off, len, strerror(errno));
  if (close(fd) < 0) die("close: %s", strerror(errno));
  printf("%s %lld+%lld\n", name, off, len);
  return 0;
}

static int cmd_seek(char **argv) {
  int whence;
  if (strcmp(argv[1], "data") == 0) whence = SEEK_DATA;
  else if (strcmp(argv[1], "hole") == 0) whence = SEEK_HOLE;
  else return die("seek: data or hole, not %s", argv[1]);
  int fd = open_or_die(argv[0], O_RDONLY);
  off_t pos = lseek(fd, (off_t)number(argv[2]), whence);
  if (pos < 0 && errno == ENXIO) printf("ENXIO\n");
  else if (pos < 0) die("lseek SEEK_%s %s: %s", whence == SEEK_DATA ? "DATA" : "HOLE", argv[2], strerror(errno));
  else printf("%lld\n", (long long)pos);
  close(fd);
  return 0;
}

static int cmd_map(char **argv) {
  int fd = open_or_die(argv[0], O_RDONLY);
  off_t pos = 0;
  int ranges = 0;
  for (int i = 0; i < MAX_CALLS; i++) {
    off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) {
      printf("%s\n", ranges ? "" : "none");
      close(fd);
      return 0;
    }
    if (data < 0) die("lseek SEEK_DATA %lld: %s", (long long)pos, strerror(errno));
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) die("lseek SEEK_HOLE %lld: %s", (long long)data, strerror(errno));
    if (data < pos || hole <= data) die("SEEK_DATA %lld gave %lld, SEEK_HOLE then %lld", (long long)pos, (long long)data, (long long)hole);
    printf("%s%lld+%lld", ranges++ ? " " : "", (long long)data, (long long)(hole - data));
    pos = hole;
  }
  return die("more than %d data ranges", MAX_CALLS);
}

static int cmd_copy(int argc, char **argv) {
  int in = open_or_die(argv[0], O_RDONLY);
  loff_t src = 0, dst = 0;
  long long left;
  int out;
  if (argc == 2) {
    struct stat st;
    if (fstat(in, &st) < 0) die("stat %s: %s", argv[0], strerror(errno));
    left = (long long)st.st_size;
    out = open_or_die(argv[1], O_WRONLY | O_CREAT | O_TRUNC);
  } else if (argc == 5) {
    src = (loff_t)number(argv[2]), dst = (loff_t)number(argv[3]), left = number(argv[4]);
    out = open_or_die(argv[1], O_WRONLY | O_CREAT);
  } else {
    return die("usage: sparse copy SRC DST [SRC_OFFSET DST_OFFSET LENGTH]");
  }
  long long total = 0;
  int calls = 0;
  while (left > 0) {
    if (calls++ >= MAX_CALLS) die("copy_file_range: more than %d calls", MAX_CALLS);
    ssize_t n = copy_file_range(in, &src, out, &dst, (size_t)left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("copy_file_range at %lld: %s", (long long)src, strerror(errno));
    if (n == 0) die("copy_file_range: end of %s at %lld, %lld bytes short", argv[0], (long long)src, left);
    total += n, left -= n;
  }
  if (close(out) < 0) die("close %s: %s", argv[1], strerror(errno));
  close(in);
  printf("%lld bytes in %d copy_file_range calls\n", total, calls);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *cmd = argc > 1 ? argv[1] : "";
  if (strcmp(cmd, "fallocate") == 0 && argc == 5) return cmd_fallocate(argv + 2, 0, "fallocate");
  if (strcmp(cmd, "punch") == 0 && argc == 5) {
    return cmd_fallocate(argv + 2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, "punch");
  }
  if (strcmp(cmd, "seek") == 0 && argc == 5) return cmd_seek(argv + 2);
  if (strcmp(cmd, "map") == 0 && argc == 3) return cmd_map(argv + 2);
  if (strcmp(cmd, "copy") == 0 && argc >= 4) return cmd_copy(argc - 2, argv + 2);
  fprintf(stderr, "usage: sparse fallocate|punch FILE OFFSET LENGTH | seek FILE data|hole OFFSET | map FILE |"
                  " copy SRC DST [SRC_OFFSET DST_OFFSET LENGTH]\n");
  return 2;
}
