// Random AF_UNIX operations on a pool of sockets: connects, sends with files (sockets passed
// inside sockets, in cycles), receives, shutdowns, closes mid-connection, forks, options. The
// kernel must survive whatever the order; the test checks the last line. Deterministic for a
// seed, but prints nothing that depends on timing.
// Usage: sock_fuzz [ROUNDS] [OPS_PER_ROUND] [SEED]
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t state;
static uint64_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}
static int pick(int n) { return (int)(rnd() % (uint64_t)n); }

#define POOL 24
static int pool[POOL];
static char dir[128];
static int tag;

static socklen_t name_for(int i, struct sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (i & 1) {  // abstract
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "sock-fuzz-%d-%d", tag, i % 6);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
  }
  snprintf(a->sun_path, sizeof a->sun_path, "%s/s%d", dir, i % 6);
  return sizeof *a;
}

static int any_fd(void) {
  int i = pick(POOL);
  return pool[i] >= 0 ? pool[i] : 3 + pick(8);  // never stdio
}

static void put(int fd) {
  int i = pick(POOL);
  if (pool[i] >= 0) close(pool[i]);
  pool[i] = fd;
}

static int type(void) {
  static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  return types[pick(3)] | (pick(2) ? SOCK_NONBLOCK : 0) | (pick(4) ? 0 : SOCK_CLOEXEC);
}

static int flags(void) {
  static const int f[] = {0, MSG_DONTWAIT, MSG_PEEK | MSG_DONTWAIT, MSG_TRUNC | MSG_DONTWAIT,
                          MSG_WAITALL | MSG_DONTWAIT, MSG_NOSIGNAL | MSG_DONTWAIT, MSG_CMSG_CLOEXEC | MSG_DONTWAIT};
  return f[pick(sizeof f / sizeof f[0])];
}

static char data[300000];

static void one_op(void) {
  struct sockaddr_un a;
  int v;
  switch (pick(20)) {
    case 0: {
      int sv[2];
      if (socketpair(AF_UNIX, type(), 0, sv) == 0) put(sv[0]), put(sv[1]);
      break;
    }
    case 1: put(socket(AF_UNIX, type(), 0)); break;
    case 2: {
      socklen_t l = name_for(pick(12), &a);
      bind(any_fd(), (struct sockaddr*)&a, pick(3) ? l : offsetof(struct sockaddr_un, sun_path));
      break;
    }
    case 3: listen(any_fd(), pick(4)); break;
    case 4: {
      socklen_t l = name_for(pick(12), &a);
      connect(any_fd(), (struct sockaddr*)&a, l);
      break;
    }
    case 5: {
      int fd = accept4(any_fd(), NULL, NULL, SOCK_NONBLOCK);
      if (fd >= 0) put(fd);
      break;
    }
    case 6: case 7: {
      size_t len = pick(4) ? (size_t)pick(200) : (size_t)pick(sizeof data);
      if (pick(2)) {
        send(any_fd(), data, len, flags() | MSG_DONTWAIT | MSG_NOSIGNAL);
      } else {
        socklen_t l = name_for(pick(12), &a);
        sendto(any_fd(), data, len, flags() | MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr*)&a, l);
      }
      break;
    }
    case 8: {  // files, often sockets, in flight
      int n = 1 + pick(4), fds[4];
      for (int i = 0; i < n; i++) fds[i] = any_fd();
      char cbuf[CMSG_SPACE(sizeof fds)];
      memset(cbuf, 0, sizeof cbuf);
      struct iovec iov = {data, (size_t)pick(8)};
      struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
      struct cmsghdr* c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * n);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
      sendmsg(any_fd(), &m, MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
    }
    case 9: case 10: {
      static char buf[70000];
      char cbuf[512];
      struct iovec iov = {buf, (size_t)(pick(3) ? pick(300) : (int)sizeof buf)};
      struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = (size_t)pick(sizeof cbuf)};
      if (recvmsg(any_fd(), &m, flags() | MSG_DONTWAIT) >= 0) {
        for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
          if (c->cmsg_type == SCM_RIGHTS)
            for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
              int fd;
              memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
              if (pick(2)) put(fd); else close(fd);
            }
      }
      break;
    }
    case 11: shutdown(any_fd(), pick(3)); break;
    case 12: {
      int i = pick(POOL);
      if (pool[i] >= 0) close(pool[i]), pool[i] = -1;
      break;
    }
    case 13: {
      static const int opts[] = {SO_PASSCRED, SO_SNDBUF, SO_RCVBUF, SO_ERROR, SO_PEERCRED, SO_TYPE};
      v = pick(2) ? pick(5000) : 1;
      socklen_t l = sizeof v;
      if (pick(2)) setsockopt(any_fd(), SOL_SOCKET, opts[pick(6)], &v, sizeof v);
      else getsockopt(any_fd(), SOL_SOCKET, opts[pick(6)], &v, &l);
      break;
    }
    case 14: {
      struct pollfd p[4];
      for (int i = 0; i < 4; i++) p[i] = (struct pollfd){any_fd(), POLLIN | POLLOUT, 0};
      poll(p, 4, 0);
      break;
    }
    case 15: {
      char buf[64];
      socklen_t l = sizeof buf;
      if (pick(2)) getsockname(any_fd(), (struct sockaddr*)buf, &l);
      else getpeername(any_fd(), (struct sockaddr*)buf, &l);
      break;
    }
    case 16: {  // a short-lived child that uses the shared sockets and blocks for a moment
      pid_t p = fork();
      if (p == 0) {
        signal(SIGALRM, SIG_DFL);
        ualarm(100000, 0);  // a read that blocks for good ends the child
        char buf[512];
        for (int i = 0; i < 8; i++) {
          int fd = any_fd();
          if (pick(2)) read(fd, buf, sizeof buf);
          else write(fd, data, pick(sizeof buf));
        }
        _exit(0);
      }
      break;
    }
    case 17: {
      struct sockaddr unspec = {.sa_family = AF_UNSPEC};
      connect(any_fd(), &unspec, sizeof unspec);
      break;
    }
    case 18: {
      int fd = any_fd();
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) ^ O_NONBLOCK);
      break;
    }
    default: {
      int avail;
      ioctl(any_fd(), pick(2) ? FIONREAD : 0x5411, &avail);
      break;
    }
  }
}

static void tick(int sig) {}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  int ops = argc > 2 ? atoi(argv[2]) : 400;
  state = argc > 3 ? strtoull(argv[3], 0, 0) : 0x9e3779b97f4a7c15ull;
  state |= 1;
  tag = getpid();
  const char* tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/sock-fuzz-%d", tmp && *tmp ? tmp : "/tmp", tag);
  mkdir(dir, 0700);
  signal(SIGPIPE, SIG_IGN);
  for (int r = 0; r < rounds; r++) {
    uint64_t seed = rnd();
    pid_t p = fork();
    if (p == 0) {
      state = seed | 1;
      // Blocking calls (accept, connect to a full backlog, reads on fds made blocking) are cut
      // short every 20 ms: they end in EINTR and the next operation runs.
      struct sigaction sa = {.sa_handler = tick};
      sigaction(SIGALRM, &sa, NULL);
      struct itimerval it = {{0, 20000}, {0, 20000}};
      setitimer(ITIMER_REAL, &it, NULL);
      for (int i = 0; i < POOL; i++) pool[i] = -1;
      for (int i = 0; i < ops; i++) one_op();
      _exit(0);
    }
    int st;
    while (waitpid(p, &st, 0) < 0) {
    }
    while (waitpid(-1, &st, WNOHANG) > 0) {
    }
  }
  while (wait(NULL) > 0) {
  }
  // Cycles of sockets in flight that the last round left behind are collected when sockets
  // are made (under umkernel; Linux collects on close): a leak checker then sees none.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) close(sv[0]), close(sv[1]);
  for (int i = 0; i < 6; i++) {
    char path[160];
    snprintf(path, sizeof path, "%s/s%d", dir, i);
    unlink(path);
  }
  rmdir(dir);
  printf("sock_fuzz: %d rounds done\n", rounds);
  return 0;
}
