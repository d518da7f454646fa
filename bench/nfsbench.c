/*
 * nfsbench: an NFSv3 load generator on libnfs's async API, so that netfs and
 * nfs-ganesha are measured by the same client, which shares no code with
 * netfs. Built by bench/nfs_bench.ts with `cc -O2 nfsbench.c -lnfs`.
 *
 * usage: nfsbench URL OP [-s MiB] [-b bytes] [-q inflight] [-n count] [-t secs]
 *                           [-r passes]
 *   URL  nfs://HOST/EXPORT?nfsport=P&mountport=P&version=3
 *   OP   seqwrite | seqread | randread | randwrite | create | stat | readdir | remove
 *   -r   readdir: list the directory this many times (default 1), each time
 *        from the server (libnfs's directory cache is turned off), so that a
 *        listing of 10,000 names (20-70 ms) is timed over long enough to
 *        tell two servers apart
 * Prints one JSON line: {"op":..,"ops":..,"bytes":..,"seconds":..}
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <nfsc/libnfs.h>

static struct nfs_context *nfs;
static struct nfsfh *fh;
static const char *op;
static uint64_t file_size, block = 1 << 20, count = 10000;
static int inflight = 1, passes = 1;
static double limit_secs = 10;

static uint64_t submitted, completed, bytes_done, next_offset;
static int outstanding, failed;
static double t_start;
static char *wbuf;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void die(const char *what, int err) {
  fprintf(stderr, "nfsbench: %s: %s (%d)\n", what, nfs_get_error(nfs), err);
  exit(1);
}

/* Waits until no request is outstanding. */
static void drain(void) {
  while (outstanding > 0) {
    struct pollfd pfd = {.fd = nfs_get_fd(nfs), .events = nfs_which_events(nfs)};
    if (poll(&pfd, 1, 1000) < 0 && errno != EINTR) die("poll", -errno);
    if (nfs_service(nfs, pfd.revents) < 0) die("service", -1);
  }
  if (failed) die(op, failed);
}

static int more_wanted(void) {
  int sequential = !strcmp(op, "seqwrite") || !strcmp(op, "seqread");
  if (sequential) return next_offset < file_size;
  if (!strcmp(op, "randread") || !strcmp(op, "randwrite"))
    return submitted < count && now() - t_start < limit_secs;
  return submitted < count;
}

static void submit(void);

static void ignore_cb(int err, struct nfs_context *n, void *data, void *priv) {
  (void)err, (void)n, (void)data, (void)priv;
}

static void done_cb(int err, struct nfs_context *n, void *data, void *priv) {
  (void)n, (void)data, (void)priv;
  outstanding--;
  if (err < 0) {
    fprintf(stderr, "nfsbench: %s failed: %s\n", op, (char *)data);
    failed = err;
    return;
  }
  completed++;
  if (!strcmp(op, "seqread") || !strcmp(op, "seqwrite") ||
      !strcmp(op, "randread") || !strcmp(op, "randwrite"))
    bytes_done += (uint64_t)err;
  else if (!strcmp(op, "create") && data) {
    /* nfs_creat_async hands back an open handle: close it (no wire traffic). */
    nfs_close_async(nfs, (struct nfsfh *)data, ignore_cb, NULL);
  }
  while (!failed && outstanding < inflight && more_wanted()) submit();
}

static void submit(void) {
  char path[64];
  int rc = 0;
  uint64_t i = submitted++;
  if (!strcmp(op, "seqwrite")) {
    uint64_t off = next_offset;
    next_offset += block;
    rc = nfs_pwrite_async(nfs, fh, off, block, wbuf, done_cb, NULL);
  } else if (!strcmp(op, "seqread")) {
    uint64_t off = next_offset;
    next_offset += block;
    rc = nfs_pread_async(nfs, fh, off, block, done_cb, NULL);
  } else if (!strcmp(op, "randread") || !strcmp(op, "randwrite")) {
    uint64_t off = (next_random() % (file_size / block)) * block;
    rc = op[4] == 'r'
             ? nfs_pread_async(nfs, fh, off, block, done_cb, NULL)
             : nfs_pwrite_async(nfs, fh, off, block, wbuf, done_cb, NULL);
  } else {
    snprintf(path, sizeof path, "/nfsbench.d/f%06" PRIu64, i);
    if (!strcmp(op, "create"))
      rc = nfs_creat_async(nfs, path, 0644, done_cb, NULL);
    else if (!strcmp(op, "stat"))
      rc = nfs_stat64_async(nfs, path, done_cb, NULL);
    else if (!strcmp(op, "remove"))
      rc = nfs_unlink_async(nfs, path, done_cb, NULL);
    else {
      fprintf(stderr, "nfsbench: unknown op %s\n", op);
      exit(2);
    }
  }
  if (rc < 0) die("queue", rc);
  outstanding++;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: nfsbench URL OP [-s MiB] [-b bytes] [-q n] [-n count] [-t secs] [-r passes]\n");
    return 2;
  }
  const char *url_s = argv[1];
  op = argv[2];
  int size_mb = 256;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "-s")) size_mb = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-b")) block = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "-q")) inflight = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-n")) count = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "-t")) limit_secs = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "-r")) passes = atoi(argv[i + 1]);
  }
  file_size = (uint64_t)size_mb << 20;
  nfs = nfs_init_context();
  if (!nfs) return 1;
  struct nfs_url *url = nfs_parse_url_dir(nfs, url_s);
  if (!url) die("url", -EINVAL);
  if (nfs_mount(nfs, url->server, url->path) != 0) die("mount", -EIO);
  wbuf = malloc(block);
  for (uint64_t i = 0; i < block; i++) wbuf[i] = (char)(i * 7 + 1);

  if (!strcmp(op, "seqwrite") || !strcmp(op, "randwrite")) {
    if (nfs_open(nfs, "/nfsbench.dat", O_RDWR | O_CREAT, &fh) != 0 &&
        nfs_creat(nfs, "/nfsbench.dat", 0644, &fh) != 0)
      die("open", -EIO);
  } else if (!strcmp(op, "seqread") || !strcmp(op, "randread")) {
    if (nfs_open(nfs, "/nfsbench.dat", O_RDONLY, &fh) != 0) die("open", -EIO);
    struct nfs_stat_64 st;
    if (nfs_fstat64(nfs, fh, &st) != 0) die("fstat", -EIO);
    if (!strcmp(op, "seqread")) file_size = st.nfs_size;
    else if (st.nfs_size < file_size) file_size = st.nfs_size;
  } else if (!strcmp(op, "create")) {
    nfs_mkdir(nfs, "/nfsbench.d");
  }

  t_start = now();
  if (!strcmp(op, "readdir")) {
    nfs_set_dircache(nfs, 0);
    for (int pass = 0; pass < passes; pass++) {
      struct nfsdir *dir;
      if (nfs_opendir(nfs, "/nfsbench.d", &dir) != 0) die("opendir", -EIO);
      while (nfs_readdir(nfs, dir)) completed++;
      nfs_closedir(nfs, dir);
    }
  } else {
    while (outstanding < inflight && more_wanted()) submit();
    drain();
  }
  double secs = now() - t_start;
  if (!strcmp(op, "remove")) nfs_rmdir(nfs, "/nfsbench.d");
  if (fh) nfs_close(nfs, fh);
  printf("{\"op\":\"%s\",\"ops\":%" PRIu64 ",\"bytes\":%" PRIu64
         ",\"seconds\":%.6f,\"inflight\":%d,\"block\":%" PRIu64 "}\n",
         op, completed, bytes_done, secs, inflight, block);
  nfs_destroy_url(url);
  nfs_destroy_context(nfs);
  return 0;
}
