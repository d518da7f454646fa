/*
 * kbench: the metadata loop of bench/kernel_bench.ts, run in the user-mode
 * Linux guest against an NFS mount (built with `cc -O2 -static`). One phase
 * per call, so that the host can charge each phase's server CPU time:
 *
 *   kbench create DIR N   open(O_CREAT|O_EXCL) + close of DIR/f000000 ...
 *   kbench stat DIR N     stat of each
 *   kbench remove DIR N   unlink of each
 *
 * Prints the phase's wall-clock seconds (CLOCK_MONOTONIC) and exits 1 on the
 * first failure, naming the file and the error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: kbench create|stat|remove DIR N\n");
    return 2;
  }
  const char *op = argv[1], *dir = argv[2];
  long n = atol(argv[3]);
  char path[4096];
  struct stat st;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%06ld", dir, i);
    int rc;
    if (!strcmp(op, "create")) {
      int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
      rc = fd < 0 ? -1 : close(fd);
    } else if (!strcmp(op, "stat")) {
      rc = stat(path, &st);
    } else if (!strcmp(op, "remove")) {
      rc = unlink(path);
    } else {
      fprintf(stderr, "kbench: unknown phase: %s\n", op);
      return 2;
    }
    if (rc != 0) {
      fprintf(stderr, "kbench: %s %s: %s\n", op, path, strerror(errno));
      return 1;
    }
  }
  printf("%.6f\n", now() - t0);
  return 0;
}
