/*
 * nbdpersist — an NBD client for the crash test that survives the server's
 * death: it configures /dev/nbdN through the kernel's generic netlink
 * interface with a request timeout and a dead-connection timeout, so that
 * when the connection drops the kernel holds the block I/O (and resends
 * what was in flight) instead of failing it with EIO; it then waits for the
 * kernel's "link dead" notice and hands the device a new connection
 * (NBD_CMD_RECONFIGURE) as soon as the server answers again. Debian's
 * nbd-client does not do this: with netlink it sets no dead-connection
 * timeout, and its ioctl "-persist" mode lets the kernel fail what was
 * queued and reset the device's size before it reconnects.
 *
 *   nbdpersist HOST PORT EXPORT INDEX TIMEOUT DEAD_TIMEOUT
 *
 * Prints "connected SIZE" once the device is set up, then stays in the
 * foreground (run it with &), printing "reconnected after MS ms" for each
 * reconnection; SIGTERM ends it (disconnect the device first with
 * nbd-client -d). The handshake is fixed newstyle with NBD_OPT_EXPORT_NAME
 * and no zeroes, so replies are simple replies, as the kernel wants.
 * Protocol numbers: the NBD spec (doc/proto.md) and linux/nbd-netlink.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* linux/nbd-netlink.h, written out: the build host may lack the header. */
enum { A_INDEX = 1, A_SIZE = 2, A_BLOCK = 3, A_TIMEOUT = 4, A_SERVER_FLAGS = 5,
       A_SOCKETS = 7, A_DEAD_TIMEOUT = 8 };
enum { SOCK_ITEM = 1, SOCK_FD = 1 };
enum { C_CONNECT = 1, C_RECONFIGURE = 3, C_LINK_DEAD = 4 };

static const char *host, *port_s, *export_name;

static void die(const char *what) {
  fprintf(stderr, "nbdpersist: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

static int read_full(int fd, void *buf, size_t n) {
  for (size_t at = 0; at < n;) {
    ssize_t r = read(fd, (char *)buf + at, n - at);
    if (r <= 0) return -1;
    at += r;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t n) {
  for (size_t at = 0; at < n;) {
    ssize_t r = write(fd, (const char *)buf + at, n - at);
    if (r <= 0) return -1;
    at += r;
  }
  return 0;
}

static uint64_t be64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

/* Connects and negotiates; returns the socket, or -1 (server not back). */
static int handshake(uint64_t *size, uint16_t *flags) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(atoi(port_s))};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
    errno = EINVAL;
    die("address");
  }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  unsigned char greet[18], reply[10];
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0 ||
      read_full(s, greet, 18) < 0 ||
      be64(greet) != 0x4e42444d41474943ULL ||      /* NBDMAGIC */
      be64(greet + 8) != 0x49484156454f5054ULL) {  /* IHAVEOPT */
    close(s);
    return -1;
  }
  size_t len = strlen(export_name);
  unsigned char msg[4 + 16 + 256];
  uint32_t cflags = htonl(1 | 2); /* FIXED_NEWSTYLE | NO_ZEROES */
  memcpy(msg, &cflags, 4);
  memcpy(msg + 4, greet + 8, 8); /* IHAVEOPT */
  uint32_t opt = htonl(1), olen = htonl(len); /* NBD_OPT_EXPORT_NAME */
  memcpy(msg + 12, &opt, 4);
  memcpy(msg + 16, &olen, 4);
  memcpy(msg + 20, export_name, len);
  if (write_full(s, msg, 20 + len) < 0 || read_full(s, reply, 10) < 0) {
    close(s);
    return -1;
  }
  *size = be64(reply);
  *flags = (uint16_t)(reply[8] << 8 | reply[9]);
  return s;
}

/* A netlink message under construction. */
struct msg {
  union {
    struct nlmsghdr h;
    char buf[512];
  } u;
  struct nlattr *nest[4];
  int depth;
};

static void *tail(struct msg *m) { return m->u.buf + NLMSG_ALIGN(m->u.h.nlmsg_len); }

static void begin(struct msg *m, uint16_t family, uint8_t cmd, uint8_t version) {
  memset(m, 0, sizeof *m);
  m->u.h.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
  m->u.h.nlmsg_type = family;
  m->u.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  struct genlmsghdr *g = NLMSG_DATA(&m->u.h);
  g->cmd = cmd;
  g->version = version;
}

static void attr(struct msg *m, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = tail(m);
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  memcpy((char *)a + NLA_HDRLEN, data, len);
  m->u.h.nlmsg_len = NLMSG_ALIGN(m->u.h.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void u64attr(struct msg *m, uint16_t type, uint64_t v) { attr(m, type, &v, 8); }
static void u32attr(struct msg *m, uint16_t type, uint32_t v) { attr(m, type, &v, 4); }

static void open_nest(struct msg *m, uint16_t type) {
  struct nlattr *a = tail(m);
  a->nla_type = type | NLA_F_NESTED;
  a->nla_len = NLA_HDRLEN;
  m->u.h.nlmsg_len = NLMSG_ALIGN(m->u.h.nlmsg_len) + NLA_HDRLEN;
  m->nest[m->depth++] = a;
}

static void close_nest(struct msg *m) {
  struct nlattr *a = m->nest[--m->depth];
  a->nla_len = (char *)tail(m) - (char *)a;
}

/* Sends `m` and reads until the ACK; returns the error it carries (0 ok). */
static int call(int nl, struct msg *m, char *reply, size_t cap, ssize_t *got) {
  if (send(nl, m->u.buf, m->u.h.nlmsg_len, 0) < 0) die("netlink send");
  for (;;) {
    ssize_t n = recv(nl, reply, cap, 0);
    if (n < 0) die("netlink recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      }
      if (got) *got = (char *)h - reply + h->nlmsg_len;
    }
  }
}

/* The attributes of a genl message, by type, up to `max`. */
static void parse(struct nlattr *a, int len, struct nlattr **out, int max) {
  for (; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
       len -= NLA_ALIGN(a->nla_len),
       a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
    int t = a->nla_type & NLA_TYPE_MASK;
    if (t <= max) out[t] = a;
  }
}

#define DATA(a) ((void *)((char *)(a) + NLA_HDRLEN))

/* Resolves the "nbd" family: its id, and its multicast group's id. */
static void resolve(int nl, uint16_t *family, uint32_t *group) {
  struct msg m;
  begin(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
  attr(&m, CTRL_ATTR_FAMILY_NAME, "nbd", 4);
  if (send(nl, m.u.buf, m.u.h.nlmsg_len, 0) < 0) die("netlink send");
  char buf[8192];
  *family = 0;
  *group = 0;
  for (int done = 0; !done;) {
    ssize_t n = recv(nl, buf, sizeof buf, 0);
    if (n < 0) die("netlink recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        if (e != 0) {
          errno = -e;
          die("no nbd netlink family (is nbd loaded?)");
        }
        done = 1;
        continue;
      }
      struct nlattr *at[CTRL_ATTR_MAX + 1] = {0};
      parse((struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN),
            h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), at, CTRL_ATTR_MAX);
      if (at[CTRL_ATTR_FAMILY_ID]) *family = *(uint16_t *)DATA(at[CTRL_ATTR_FAMILY_ID]);
      if (at[CTRL_ATTR_MCAST_GROUPS]) {
        struct nlattr *g = DATA(at[CTRL_ATTR_MCAST_GROUPS]);
        int len = at[CTRL_ATTR_MCAST_GROUPS]->nla_len - NLA_HDRLEN;
        for (; len >= NLA_HDRLEN && g->nla_len >= NLA_HDRLEN && g->nla_len <= len;
             len -= NLA_ALIGN(g->nla_len),
             g = (struct nlattr *)((char *)g + NLA_ALIGN(g->nla_len))) {
          struct nlattr *ga[CTRL_ATTR_MCAST_GRP_MAX + 1] = {0};
          parse(DATA(g), g->nla_len - NLA_HDRLEN, ga, CTRL_ATTR_MCAST_GRP_MAX);
          if (ga[CTRL_ATTR_MCAST_GRP_ID]) *group = *(uint32_t *)DATA(ga[CTRL_ATTR_MCAST_GRP_ID]);
        }
      }
    }
  }
  if (*family == 0 || *group == 0) {
    errno = ENOENT;
    die("nbd netlink family without a multicast group");
  }
}

static int netlink(void) {
  int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
  if (nl < 0) die("netlink socket");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(nl, (struct sockaddr *)&sa, sizeof sa) < 0) die("netlink bind");
  return nl;
}

static void with_socket(struct msg *m, int s) {
  open_nest(m, A_SOCKETS);
  open_nest(m, SOCK_ITEM);
  u32attr(m, SOCK_FD, s);
  close_nest(m);
  close_nest(m);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: nbdpersist HOST PORT EXPORT INDEX TIMEOUT DEAD_TIMEOUT\n");
    return 2;
  }
  host = argv[1];
  port_s = argv[2];
  export_name = argv[3];
  uint32_t index = atoi(argv[4]);
  uint64_t timeout = atoi(argv[5]), dead = atoi(argv[6]);
  setvbuf(stdout, NULL, _IOLBF, 0);

  int ctl = netlink();
  uint16_t family;
  uint32_t group;
  resolve(ctl, &family, &group);

  uint64_t size;
  uint16_t flags;
  int s = handshake(&size, &flags);
  if (s < 0) {
    errno = ECONNREFUSED;
    die("handshake");
  }
  struct msg m;
  begin(&m, family, C_CONNECT, 1);
  u32attr(&m, A_INDEX, index);
  u64attr(&m, A_SIZE, size);
  u64attr(&m, A_BLOCK, 4096);
  u64attr(&m, A_SERVER_FLAGS, flags);
  u64attr(&m, A_TIMEOUT, timeout);
  u64attr(&m, A_DEAD_TIMEOUT, dead);
  with_socket(&m, s);
  char reply[4096];
  int e = call(ctl, &m, reply, sizeof reply, NULL);
  if (e != 0) {
    errno = -e;
    die("NBD_CMD_CONNECT");
  }
  close(s); /* the kernel holds its own reference */
  printf("connected %llu\n", (unsigned long long)size);

  /* The events: a second socket in the multicast group. */
  int ev = netlink();
  if (setsockopt(ev, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    die("joining the nbd multicast group");
  }
  char buf[4096];
  for (;;) {
    ssize_t n = recv(ev, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS) continue;
      die("netlink event");
    }
    int dead_link = 0;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
         h = NLMSG_NEXT(h, n)) {
      struct genlmsghdr *g = NLMSG_DATA(h);
      if (h->nlmsg_type != family || g->cmd != C_LINK_DEAD) continue;
      struct nlattr *at[A_DEAD_TIMEOUT + 1] = {0};
      parse((struct nlattr *)((char *)g + GENL_HDRLEN),
            h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), at, A_DEAD_TIMEOUT);
      if (at[A_INDEX] && *(uint32_t *)DATA(at[A_INDEX]) == index) dead_link = 1;
    }
    if (!dead_link) continue;
    double t0 = now_ms();
    int tries = 0;
    for (;;) {
      uint64_t again;
      tries++;
      s = handshake(&again, &flags);
      if (s >= 0 && again == size) break;
      if (s >= 0) close(s);
      if (now_ms() - t0 > dead * 1000.0) {
        fprintf(stderr, "nbdpersist: the server did not come back in %llu s\n",
                (unsigned long long)dead);
        return 1;
      }
      usleep(100 * 1000);
    }
    begin(&m, family, C_RECONFIGURE, 1);
    u32attr(&m, A_INDEX, index);
    with_socket(&m, s);
    e = call(ctl, &m, reply, sizeof reply, NULL);
    close(s);
    if (e != 0) {
      errno = -e;
      die("NBD_CMD_RECONFIGURE");
    }
    printf("reconnected after %.0f ms (%d tries)\n", now_ms() - t0, tries);
  }
}
