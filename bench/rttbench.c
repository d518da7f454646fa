/*
 * rttbench: the round trip floor at 1 in flight, for bench/rtt_bench.ts.
 * Built with `cc -O2 rttbench.c`.
 *
 *   rttbench server PORT         an epoll echo server on 127.0.0.1:PORT (one
 *                                thread, non-blocking sockets, echoes what it reads)
 *   rttbench client PORT SECS    sends one ONC RPC NULL call (program 100003,
 *                                version 3, AUTH_NONE, record-marked), waits for
 *                                one whole record back, repeats for SECS seconds
 *
 * An echo server returns the call itself, which is also one whole record, so
 * one client measures echo servers and RPC servers alike. The client prints
 * one JSON line: {"ops":..,"seconds":..}.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

__attribute__((noreturn)) static void serve(int port) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = loopback(port);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(ls, 16) < 0) die("listen");
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  static char buf[65536];
  for (;;) {
    struct epoll_event evs[16];
    int n = epoll_wait(ep, evs, 16, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
        if (c < 0) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      ssize_t got = read(fd, buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        close(fd);
        continue;
      }
      /* Replies are small: a blocking-style loop is enough here. */
      for (ssize_t at = 0; at < got;) {
        ssize_t w = write(fd, buf + at, got - at);
        if (w < 0 && errno != EAGAIN) break;
        if (w > 0) at += w;
      }
    }
  }
}

static int client(int port, double secs) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = loopback(port);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  /* mark, xid, CALL, rpcvers 2, prog 100003, vers 3, proc 0, cred, verf */
  uint32_t call[] = {htonl(0x80000028), 0, 0, htonl(2), htonl(100003),
                     htonl(3), 0, 0, 0, 0, 0};
  unsigned char buf[4096];
  uint64_t ops = 0;
  double start = now(), end = start + secs;
  while (now() < end) {
    call[1] = htonl((uint32_t)ops + 1);
    if (write(s, call, sizeof call) != sizeof call) die("write");
    size_t have = 0, need = 4;
    while (have < need) {
      ssize_t r = read(s, buf + have, sizeof buf - have);
      if (r <= 0) die("read");
      have += r;
      if (need == 4 && have >= 4) {
        uint32_t mark;
        memcpy(&mark, buf, 4);
        need = 4 + (ntohl(mark) & 0x7fffffff);
        if (need > sizeof buf) {
          fprintf(stderr, "rttbench: reply too large\n");
          return 1;
        }
      }
    }
    ops++;
  }
  printf("{\"ops\":%llu,\"seconds\":%.6f}\n", (unsigned long long)ops,
         now() - start);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "server")) serve(atoi(argv[2]));
  if (argc >= 4 && !strcmp(argv[1], "client"))
    return client(atoi(argv[2]), atof(argv[3]));
  fprintf(stderr, "usage: rttbench server PORT | rttbench client PORT SECS\n");
  return 2;
}
