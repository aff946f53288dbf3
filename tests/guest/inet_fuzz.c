// Random network-socket operations on a pool of sockets: AF_INET/AF_INET6 TCP and UDP, ping
// and raw sockets, rtnetlink and AF_PACKET, over lo. Binds, listens, connects, accepts, sends
// and receives random bytes with random flags, options of random levels, names and lengths,
// ioctls, shutdowns, closes, forks. Every socket is non-blocking, so nothing waits. The kernel
// must survive whatever the order; the test checks the last line. Deterministic for a seed.
// Usage: inet_fuzz [ROUNDS] [OPS_PER_ROUND] [SEED]   (as a guest's init only: on a real
// machine, as root, its random interface ioctls and routes would change the host's network)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t state;
static uint64_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

#define POOL 24
static int pool[POOL];
static unsigned char buf[70000];

static void put(int fd) {
  if (fd < 0) return;
  int i = (int)(rnd() % POOL);
  if (pool[i] >= 0) close(pool[i]);
  pool[i] = fd;
}
static int pick(void) { return pool[rnd() % POOL]; }

static void fill(void* p, size_t n) {
  for (size_t i = 0; i < n; i++) ((unsigned char*)p)[i] = (unsigned char)rnd();
}

// A random address: mostly loopback on a few ports, sometimes garbage of a random length.
static socklen_t address(struct sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  uint16_t port = htons((uint16_t)(7000 + rnd() % 4));
  switch (rnd() % 6) {
    case 0: case 1: {
      struct sockaddr_in* a = (struct sockaddr_in*)ss;
      a->sin_family = AF_INET;
      a->sin_port = port;
      a->sin_addr.s_addr = rnd() % 4 ? htonl(INADDR_LOOPBACK) : rnd() % 2 ? 0 : (in_addr_t)rnd();
      return sizeof *a;
    }
    case 2: case 3: {
      struct sockaddr_in6* a = (struct sockaddr_in6*)ss;
      a->sin6_family = AF_INET6;
      a->sin6_port = port;
      if (rnd() % 3) a->sin6_addr = in6addr_loopback;
      else if (rnd() % 2) { a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff; a->sin6_addr.s6_addr[12] = 127; a->sin6_addr.s6_addr[15] = 1; }
      return sizeof *a;
    }
    case 4: {
      struct sockaddr_nl* a = (struct sockaddr_nl*)ss;
      a->nl_family = AF_NETLINK;
      a->nl_pid = (uint32_t)(rnd() % 3);
      a->nl_groups = (uint32_t)rnd();
      return sizeof *a;
    }
    default:
      fill(ss, sizeof *ss);
      return (socklen_t)(rnd() % (sizeof *ss + 8));
  }
}

static int new_socket(void) {
  static const int fam[] = {AF_INET, AF_INET6, AF_INET, AF_NETLINK, AF_PACKET};
  int f = fam[rnd() % 5], type, proto = 0;
  if (f == AF_NETLINK) type = SOCK_RAW, proto = rnd() % 8 ? NETLINK_ROUTE : (int)(rnd() % 32);
  else if (f == AF_PACKET) type = rnd() % 2 ? SOCK_RAW : SOCK_DGRAM, proto = htons(rnd() % 2 ? 0x0003 : 0x0800);
  else switch (rnd() % 6) {
    case 0: case 1: type = SOCK_STREAM; break;
    case 2: case 3: type = SOCK_DGRAM; break;
    case 4: type = SOCK_DGRAM; proto = IPPROTO_ICMP; break;
    default: type = SOCK_RAW; proto = (int)(rnd() % 256); break;
  }
  return socket(f, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
}

static void op(void) {
  int fd = pick();
  struct sockaddr_storage ss;
  socklen_t len;
  switch (rnd() % 18) {
    case 0: case 1: put(new_socket()); break;
    case 2: len = address(&ss); bind(fd, (struct sockaddr*)&ss, len); break;
    case 3: listen(fd, (int)(rnd() % 8) - 1); break;
    case 4: len = address(&ss); connect(fd, (struct sockaddr*)&ss, len); break;
    case 5: {
      len = sizeof ss;
      int c = accept4(fd, rnd() % 2 ? (struct sockaddr*)&ss : NULL, rnd() % 2 ? &len : NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      put(c);
      break;
    }
    case 6: case 7: {
      size_t n = rnd() % 4 ? rnd() % 2000 : rnd() % sizeof buf;
      fill(buf, n < 64 ? n : 64);
      if (rnd() % 2) {
        len = address(&ss);
        sendto(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL | (int)(rnd() % 2 ? MSG_MORE : 0), (struct sockaddr*)&ss, len);
      } else {
        send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      break;
    }
    case 8: case 9: {
      int flags = MSG_DONTWAIT | (int)(rnd() % 2 ? MSG_PEEK : 0) | (int)(rnd() % 4 ? 0 : MSG_TRUNC) | (int)(rnd() % 8 ? 0 : MSG_WAITALL);
      len = sizeof ss;
      recvfrom(fd, buf, rnd() % sizeof buf, flags, (struct sockaddr*)&ss, &len);
      break;
    }
    case 10: {
      static const int levels[] = {SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, SOL_PACKET, SOL_NETLINK, IPPROTO_ICMP, 255};
      int level = levels[rnd() % 8], name = (int)(rnd() % 70);
      unsigned char v[64];
      fill(v, sizeof v);
      if (rnd() % 2) setsockopt(fd, level, name, v, (socklen_t)(rnd() % 70));
      else { socklen_t vl = (socklen_t)(rnd() % 70); getsockopt(fd, level, name, v, &vl); }
      break;
    }
    case 11: shutdown(fd, (int)(rnd() % 4)); break;
    case 12: {
      int i = (int)(rnd() % POOL);
      if (pool[i] >= 0) close(pool[i]), pool[i] = -1;
      break;
    }
    case 13: {
      static const unsigned long reqs[] = {SIOCGIFCONF, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFADDR, SIOCSIFADDR,
                                           SIOCGIFNETMASK, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFMTU, SIOCSIFMTU,
                                           SIOCADDRT, SIOCDELRT, FIONREAD, TIOCOUTQ, SIOCGIFNAME};
      struct ifreq r;
      fill(&r, sizeof r);
      if (rnd() % 2) strcpy(r.ifr_name, rnd() % 2 ? "lo" : "eth0");
      if (rnd() % 2) { struct ifconf c = {.ifc_len = (int)(rnd() % 200), .ifc_buf = (char*)buf}; ioctl(fd, SIOCGIFCONF, &c); }
      else ioctl(fd, reqs[rnd() % 15], &r);
      break;
    }
    case 14: {  // an rtnetlink request, well-formed or not
      struct nlmsghdr* h = (struct nlmsghdr*)buf;
      size_t n = 16 + rnd() % 200;
      fill(buf, n);
      h->nlmsg_len = (uint32_t)(rnd() % 4 ? n : rnd() % 400);
      h->nlmsg_type = (uint16_t)(RTM_NEWLINK + rnd() % 24);
      h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | (rnd() % 2 ? NLM_F_DUMP : NLM_F_ACK));
      send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
    }
    case 15: {
      struct pollfd p[4];
      for (int i = 0; i < 4; i++) p[i] = (struct pollfd){.fd = pick(), .events = POLLIN | POLLOUT};
      poll(p, 4, 0);
      break;
    }
    case 16: {  // a child does a few things and leaves, sharing the sockets
      if (rnd() % 10) break;
      pid_t pid = fork();
      if (pid == 0) {
        for (int i = 0; i < 20; i++) op();
        _exit(0);
      }
      if (pid > 0) waitpid(pid, NULL, 0);
      break;
    }
    default: {
      len = sizeof ss;
      if (rnd() % 2) getsockname(fd, (struct sockaddr*)&ss, &len);
      else getpeername(fd, (struct sockaddr*)&ss, &len);
      break;
    }
  }
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  int ops = argc > 2 ? atoi(argv[2]) : 500;
  state = (uint64_t)(argc > 3 ? atoll(argv[3]) : 1) * 2654435761u | 1;
  if (getpid() != 1) {
    fprintf(stderr, "inet_fuzz: runs only as a guest's init (it changes interfaces at random)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < POOL; i++) pool[i] = -1;
    for (int i = 0; i < ops; i++) op();
    for (int i = 0; i < POOL; i++)
      if (pool[i] >= 0) close(pool[i]);
  }
  printf("inet_fuzz: %d rounds done\n", rounds);
  return 0;
}
