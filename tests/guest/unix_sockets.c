// AF_UNIX sockets: socketpair, path and abstract names, stream/datagram/seqpacket, SCM_RIGHTS
// and SCM_CREDENTIALS, SO_PEERCRED, shutdown, EOF, EPIPE/SIGPIPE, non-blocking calls, poll,
// blocking calls woken by other processes, fork and exec. Prints facts only (no pids, fd
// numbers, addresses or timings), so that its output natively equals its output under
// umkernel. Usage: unix_sockets [PART]; socket paths go to a fresh directory under $TMPDIR
// (default /tmp).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char* program_path;  // argv[0]
static char dir[256];             // where path sockets go
static int uniq;                  // makes abstract names unique on a shared host

static void show(const char* what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %ld\n", what, r);
  fflush(stdout);
}

static void fact(const char* what, int ok) {
  printf("%s: %s\n", what, ok ? "yes" : "no");
  fflush(stdout);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000l};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static int reap(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static socklen_t path_addr(struct sockaddr_un* a, const char* name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name) >= (int)sizeof a->sun_path) {
    fprintf(stderr, "socket path too long: %s/%s (set TMPDIR shorter)\n", dir, name);
    exit(2);
  }
  return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static socklen_t abstract_addr(struct sockaddr_un* a, const char* name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "um-unix-sockets-%d-%s", uniq, name);
  return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static int listener(int type, struct sockaddr_un* a, socklen_t len, int backlog) {
  int s = socket(AF_UNIX, type, 0);
  if (bind(s, (struct sockaddr*)a, len) < 0 || listen(s, backlog) < 0) {
    perror("listener");
    exit(1);
  }
  return s;
}

static int connected(int type, struct sockaddr_un* a, socklen_t len) {
  int s = socket(AF_UNIX, type, 0);
  if (connect(s, (struct sockaddr*)a, len) < 0) {
    perror("connect");
    exit(1);
  }
  return s;
}

static const char* poll_names(int ev) {
  static char buf[128];
  buf[0] = 0;
  const struct { int bit; const char* name; } names[] = {
      {POLLIN, "IN"}, {POLLPRI, "PRI"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"}, {POLLHUP, "HUP"},
      {POLLNVAL, "NVAL"}, {POLLRDHUP, "RDHUP"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (ev & names[i].bit) strcat(strcat(buf, buf[0] ? "|" : ""), names[i].name);
  return buf[0] ? buf : "0";
}

static void show_poll(const char* what, int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
  int n = poll(&p, 1, 0);
  printf("%s: %d %s\n", what, n, poll_names(p.revents));
  fflush(stdout);
}

static int readable_within(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void show_recv(const char* what, int fd, size_t len, int flags) {
  char buf[256];
  if (len > sizeof buf) len = sizeof buf;
  long n = recv(fd, buf, len, flags);
  if (n < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %ld \"%.*s\"\n", what, n, (int)((size_t)n < len ? (size_t)n : len), buf);
  fflush(stdout);
}

static void set_nonblock(int fd, int on) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

// Sends `n` file descriptors with `data`; returns sendmsg's result.
static long send_fds(int s, const char* data, size_t len, const int* fds, int n, int flags) {
  char cbuf[CMSG_SPACE(sizeof(int) * 256)];
  struct iovec iov = {(void*)data, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (n) {
    memset(cbuf, 0, sizeof cbuf);
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  }
  return sendmsg(s, &m, flags);
}

// Receives into `data`; returns the byte count and fills fds[] (up to max) from SCM_RIGHTS.
struct received {
  long n;
  int flags;
  size_t controllen;
  int nfds, fds[256];
  int has_cred;
  struct ucred cred;
  char data[256];
};

static void recv_with(int s, size_t len, size_t clen, int flags, struct received* r) {
  char cbuf[4096];
  memset(r, 0, sizeof *r);
  struct iovec iov = {r->data, len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = clen ? cbuf : NULL, .msg_controllen = clen};
  r->n = recvmsg(s, &m, flags);
  if (r->n < 0) return;
  r->flags = m.msg_flags;
  r->controllen = m.msg_controllen;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (int i = 0; i < n && r->nfds < 256; i++) memcpy(&r->fds[r->nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      r->has_cred = 1;
      memcpy(&r->cred, CMSG_DATA(c), sizeof r->cred);
    }
  }
}

static void show_received(const char* what, const struct received* r) {
  if (r->n < 0) {
    printf("%s: -1 %s\n", what, strerrorname_np(errno));
  } else {
    printf("%s: %ld \"%.*s\" fds=%d%s%s%s%s controllen=%zu\n", what, r->n, (int)(r->n < 256 ? r->n : 256), r->data,
           r->nfds, r->has_cred ? " cred" : "", (r->flags & MSG_TRUNC) ? " TRUNC" : "",
           (r->flags & MSG_CTRUNC) ? " CTRUNC" : "", (r->flags & MSG_CMSG_CLOEXEC) ? " CMSG_CLOEXEC" : "",
           r->controllen);
  }
  fflush(stdout);
}

static void close_fds(struct received* r) {
  for (int i = 0; i < r->nfds; i++) close(r->fds[i]);
  r->nfds = 0;
}

static int open_fd_count(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++)
    if (fcntl(fd, F_GETFD) >= 0) n++;
  return n;
}

static volatile sig_atomic_t sigpipes, alarms;
static void on_sigpipe(int sig) { sigpipes++; }
static void on_alarm(int sig) { alarms++; }

// ---------------------------------------------------------------------------------------

static void pair_tests(void) {
  printf("== socketpair\n");
  int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  const char* names[] = {"stream", "dgram", "seqpacket"};
  for (int i = 0; i < 3; i++) {
    int sv[2];
    char what[64];
    snprintf(what, sizeof what, "socketpair %s", names[i]);
    show(what, socketpair(AF_UNIX, types[i], 0, sv) == 0 ? 0 : -1);
    // Ping-pong with a child: 300 round trips, each side blocking in read.
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      close(sv[0]);
      char buf[64];
      for (;;) {
        long n = read(sv[1], buf, sizeof buf - 1);
        if (n <= 0) _exit(n == 0 ? 0 : 1);
        buf[n] = 0;
        int v = atoi(buf);
        int len = snprintf(buf, sizeof buf, "%d", v + 1);
        if (write(sv[1], buf, len) != len) _exit(2);
      }
    }
    close(sv[1]);
    int v = 0, ok = 1;
    for (int round = 0; round < 300 && ok; round++) {
      char buf[64];
      int len = snprintf(buf, sizeof buf, "%d", v);
      ok = write(sv[0], buf, len) == len;
      long n = read(sv[0], buf, sizeof buf - 1);
      if (n <= 0) break;
      buf[n] = 0;
      ok = ok && atoi(buf) == v + 1;
      v += 2;
    }
    snprintf(what, sizeof what, "%s ping-pong 300 rounds", names[i]);
    fact(what, ok && v == 600);
    close(sv[0]);
    // A datagram socket sees no end of file when its peer closes: stop that child.
    if (types[i] == SOCK_DGRAM) kill(pid, SIGTERM);
    snprintf(what, sizeof what, "%s child status", names[i]);
    show(what, reap(pid));
  }
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv);
  fact("SOCK_CLOEXEC sets FD_CLOEXEC", fcntl(sv[0], F_GETFD) == FD_CLOEXEC && fcntl(sv[1], F_GETFD) == FD_CLOEXEC);
  fact("SOCK_NONBLOCK sets O_NONBLOCK", (fcntl(sv[0], F_GETFL) & O_NONBLOCK) && (fcntl(sv[1], F_GETFL) & O_NONBLOCK));
  show("F_GETFL access mode", fcntl(sv[0], F_GETFL) & O_ACCMODE);
  struct stat st;
  fstat(sv[0], &st);
  fact("fstat is S_IFSOCK", S_ISSOCK(st.st_mode));
  show("fstat permissions", st.st_mode & 07777);
  struct stat st2;
  fstat(sv[1], &st2);
  fact("the two ends are different inodes", st.st_ino != st2.st_ino);
  fact("same device", st.st_dev == st2.st_dev);
  show("lseek", lseek(sv[0], 0, SEEK_SET));
  show("pread", pread(sv[0], (char[4]){0}, 4, 0));
  show("isatty", isatty(sv[0]));
  show("errno after isatty", -errno);
  close(sv[0]);
  close(sv[1]);
  // readv/writev through the File interface.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
  show("writev", writev(sv[0], out, 3));
  char a[3] = {0}, b[8] = {0};
  struct iovec in[2] = {{a, 2}, {b, 7}};
  show("readv", readv(sv[1], in, 2));
  printf("readv parts: %s %s\n", a, b);
  show("FIONREAD empty", ioctl(sv[1], FIONREAD, &(int){0}));
  write(sv[0], "12345", 5);
  int avail = -1;
  ioctl(sv[1], FIONREAD, &avail);
  show("FIONREAD after 5 bytes", avail);
  close(sv[0]);
  close(sv[1]);
}

// ---------------------------------------------------------------------------------------

static void stream_tests(void) {
  printf("== stream names\n");
  struct sockaddr_un a, got;
  socklen_t alen = path_addr(&a, "stream.sock"), glen;
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  show("listen before bind", listen(l, 5));
  show("bind path", bind(l, (struct sockaddr*)&a, alen));
  show("bind again (same path)", bind(l, (struct sockaddr*)&a, alen));
  struct sockaddr_un other;
  socklen_t olen = path_addr(&other, "other.sock");
  show("bind again (other path)", bind(l, (struct sockaddr*)&other, olen));
  struct stat st;
  show("stat path", stat(a.sun_path, &st));
  fact("path is S_IFSOCK", S_ISSOCK(st.st_mode));
  show("path permissions", st.st_mode & 0777);
  show("open path", open(a.sun_path, O_RDWR));
  int taken = socket(AF_UNIX, SOCK_STREAM, 0);
  show("bind taken path", bind(taken, (struct sockaddr*)&a, alen));
  int early = socket(AF_UNIX, SOCK_STREAM, 0);
  show("connect before listen", connect(early, (struct sockaddr*)&a, alen));
  show("listen", listen(l, 5));
  int acc = -1;
  socklen_t vl = sizeof acc;
  getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &acc, &vl);
  show("SO_ACCEPTCONN", acc);
  glen = sizeof got;
  getsockname(l, (struct sockaddr*)&got, &glen);
  fact("getsockname is the path", glen == alen && strcmp(got.sun_path, a.sun_path) == 0);
  show_poll("poll listener, nothing pending", l);

  // A child connects later: accept blocks until then.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    int c = connected(SOCK_STREAM, &a, alen);
    struct sockaddr_un p;
    socklen_t plen = sizeof p;
    getpeername(c, (struct sockaddr*)&p, &plen);
    int ok = plen == alen && strcmp(p.sun_path, a.sun_path) == 0;
    write(c, ok ? "peer ok" : "peer bad", ok ? 7 : 8);
    char buf[32];
    long n = read(c, buf, sizeof buf);
    _exit(n == 5 && memcmp(buf, "reply", 5) == 0 ? 0 : 1);
  }
  glen = sizeof got;
  memset(&got, 0x55, sizeof got);
  int s = accept(l, (struct sockaddr*)&got, &glen);
  fact("accept blocked until the child connected", s >= 0);
  show("accepted address length (unbound client)", glen);
  show("accepted address family", got.sun_family);
  show_recv("server reads", s, 32, 0);
  glen = sizeof got;
  getsockname(s, (struct sockaddr*)&got, &glen);
  fact("accepted socket's name is the listener's", glen == alen && strcmp(got.sun_path, a.sun_path) == 0);
  glen = sizeof got;
  show("getpeername of accepted", getpeername(s, (struct sockaddr*)&got, &glen));
  show("peer name length", glen);
  write(s, "reply", 5);
  show("child status", reap(pid));
  show_recv("read after the client exited", s, 32, 0);
  close(s);

  // Several connections queue until accepted; data sent before accept waits.
  int c1 = connected(SOCK_STREAM, &a, alen);
  int c2 = connected(SOCK_STREAM, &a, alen);
  show("send before accept", send(c1, "early", 5, 0));
  show_poll("poll listener, two pending", l);
  show_poll("poll client, not yet accepted", c1);
  int s1 = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  fact("accept4 flags", (fcntl(s1, F_GETFL) & O_NONBLOCK) && fcntl(s1, F_GETFD) == FD_CLOEXEC);
  show_recv("early data", s1, 32, 0);
  int s2 = accept(l, NULL, NULL);
  fact("accept without flags", !(fcntl(s2, F_GETFL) & O_NONBLOCK) && fcntl(s2, F_GETFD) == 0);
  show("accept4 bad flags", accept4(l, NULL, NULL, 0x1));
  close(c1);
  close(c2);
  close(s1);
  close(s2);

  // A full backlog: non-blocking connects see EAGAIN.
  struct sockaddr_un q;
  socklen_t qlen = path_addr(&q, "backlog.sock");
  int ql = listener(SOCK_STREAM, &q, qlen, 1);
  int nb[4], results = 0;
  for (int i = 0; i < 4; i++) {
    nb[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(nb[i], (struct sockaddr*)&q, qlen);
    printf("connect %d to backlog 1: %s\n", i, r == 0 ? "0" : strerrorname_np(errno));
    results += r == 0;
  }
  fflush(stdout);
  // The listener closes with connections pending: their clients see a reset, then EOF.
  close(ql);
  show_poll("poll client after the listener closed", nb[0]);
  show_recv("recv after the listener closed", nb[0], 32, 0);
  show_recv("recv again", nb[0], 32, 0);
  show("send after the listener closed", send(nb[0], "x", 1, MSG_NOSIGNAL));
  for (int i = 0; i < 4; i++) close(nb[i]);
  show("connect to the closed listener's path", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&q, qlen));

  // Names that do not lead to a listener.
  struct sockaddr_un none;
  socklen_t nlen = path_addr(&none, "missing.sock");
  show("connect missing path", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&none, nlen));
  struct sockaddr_un file;
  socklen_t flen = path_addr(&file, "plain-file");
  close(open(file.sun_path, O_CREAT | O_WRONLY, 0644));
  show("connect regular file", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&file, flen));
  show("bind over regular file", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&file, flen));
  show("connect dgram to stream listener", connect(socket(AF_UNIX, SOCK_DGRAM, 0), (struct sockaddr*)&a, alen));
  show("connect seqpacket to stream listener", connect(socket(AF_UNIX, SOCK_SEQPACKET, 0), (struct sockaddr*)&a, alen));
  struct sockaddr_un deep;
  socklen_t dlen = path_addr(&deep, "no/such/dir.sock");
  show("bind in a missing directory", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&deep, dlen));
  // Unlinking the name: the socket keeps working, new connections cannot find it.
  int before = connected(SOCK_STREAM, &a, alen);
  show("unlink the socket path", unlink(a.sun_path));
  show("connect after unlink", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, alen));
  int sb = accept(l, NULL, NULL);
  show("connection made before unlink still accepted", sb >= 0 ? 0 : -1);
  glen = sizeof got;
  getsockname(l, (struct sockaddr*)&got, &glen);
  fact("getsockname still shows the path", glen == alen && strcmp(got.sun_path, a.sun_path) == 0);
  close(before);
  close(sb);
  // A new socket can take the name again; the old one is unreachable.
  int l2 = listener(SOCK_STREAM, &a, alen, 5);
  int c3 = connected(SOCK_STREAM, &a, alen);
  int a3 = accept(l2, NULL, NULL);
  write(c3, "new", 3);
  show_recv("the new listener gets the connection", a3, 32, 0);
  int lfl = fcntl(l, F_GETFL);
  fcntl(l, F_SETFL, lfl | O_NONBLOCK);
  show("the old listener gets nothing", accept(l, NULL, NULL));
  close(c3);
  close(a3);
  close(l2);
  close(l);
  unlink(a.sun_path);
  // Closing the listener leaves the file, which refuses connections.
  int l3 = listener(SOCK_STREAM, &a, alen, 5);
  close(l3);
  show("connect to a stale socket file", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, alen));
  show("bind over a stale socket file", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&a, alen));
  unlink(a.sun_path);
  unlink(file.sun_path);
  unlink(q.sun_path);

  printf("== abstract names\n");
  struct sockaddr_un ab;
  socklen_t ablen = abstract_addr(&ab, "stream");
  int al = listener(SOCK_STREAM, &ab, ablen, 5);
  show("bind the same abstract name", bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&ab, ablen));
  show("a dgram socket may take the same abstract name", bind(socket(AF_UNIX, SOCK_DGRAM, 0), (struct sockaddr*)&ab, ablen));
  show("connect with a longer name", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&ab, ablen + 1));
  show("connect with a shorter name", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&ab, ablen - 1));
  int ac = connected(SOCK_STREAM, &ab, ablen);
  int as = accept(al, NULL, NULL);
  glen = sizeof got;
  getpeername(ac, (struct sockaddr*)&got, &glen);
  fact("peer name is the abstract name", glen == ablen && memcmp(&got, &ab, ablen) == 0);
  send(ac, "abstract", 8, 0);
  show_recv("abstract connection carries data", as, 32, 0);
  close(ac);
  close(as);
  close(al);
  show("connect after the abstract listener closed", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr*)&ab, ablen));
  int reuse = socket(AF_UNIX, SOCK_STREAM, 0);
  show("the abstract name is free again", bind(reuse, (struct sockaddr*)&ab, ablen));
  close(reuse);

  // Autobind: bind with only the family picks a 5-hex-digit abstract name.
  int auto1 = socket(AF_UNIX, SOCK_STREAM, 0);
  sa_family_t fam = AF_UNIX;
  show("bind with just the family", bind(auto1, (struct sockaddr*)&fam, sizeof fam));
  glen = sizeof got;
  getsockname(auto1, (struct sockaddr*)&got, &glen);
  show("autobound name length", glen);
  fact("autobound name is abstract hex", got.sun_path[0] == 0 && strspn(got.sun_path + 1, "0123456789abcdef") == 5);
  show("bind with just the family again", bind(auto1, (struct sockaddr*)&fam, sizeof fam));
  show("bind a path after autobind", bind(auto1, (struct sockaddr*)&other, olen));
  close(auto1);
  int unb = socket(AF_UNIX, SOCK_STREAM, 0);
  glen = sizeof got;
  getsockname(unb, (struct sockaddr*)&got, &glen);
  show("unbound getsockname length", glen);
  glen = 1;
  getsockname(unb, (struct sockaddr*)&got, &glen);
  show("getsockname with a short buffer reports", glen);
  close(unb);
}

// ---------------------------------------------------------------------------------------

static void dgram_tests(void) {
  printf("== datagrams\n");
  struct sockaddr_un a, from;
  socklen_t alen = path_addr(&a, "dgram.sock"), flen;
  int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
  show("bind dgram", bind(srv, (struct sockaddr*)&a, alen));
  int cli = socket(AF_UNIX, SOCK_DGRAM, 0);
  show("sendto unconnected without address", send(cli, "x", 1, 0));
  show("sendto path", sendto(cli, "one", 3, 0, (struct sockaddr*)&a, alen));
  show("sendto path again", sendto(cli, "two!", 4, 0, (struct sockaddr*)&a, alen));
  show("empty datagram", sendto(cli, "", 0, 0, (struct sockaddr*)&a, alen));
  flen = sizeof from;
  memset(&from, 0x55, sizeof from);
  char buf[64];
  show("recvfrom first", recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr*)&from, &flen));
  show("address length of an unbound sender", flen);
  show_recv("second, message boundary kept", srv, 64, 0);
  show_recv("the empty datagram", srv, 64, MSG_DONTWAIT);
  show_recv("nothing left", srv, 64, MSG_DONTWAIT);
  // A bound sender is reported by name.
  struct sockaddr_un b;
  socklen_t blen = path_addr(&b, "dgram-client.sock");
  bind(cli, (struct sockaddr*)&b, blen);
  sendto(cli, "named", 5, 0, (struct sockaddr*)&a, alen);
  flen = sizeof from;
  recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr*)&from, &flen);
  fact("recvfrom reports the bound sender", flen == blen && strcmp(from.sun_path, b.sun_path) == 0);
  // Truncation, peeking.
  sendto(cli, "0123456789", 10, 0, (struct sockaddr*)&a, alen);
  struct received r;
  recv_with(srv, 4, 0, MSG_PEEK, &r);
  show_received("peek 4 of 10", &r);
  recv_with(srv, 4, 0, MSG_TRUNC, &r);
  show_received("recv 4 of 10 with MSG_TRUNC", &r);
  sendto(cli, "0123456789", 10, 0, (struct sockaddr*)&a, alen);
  recv_with(srv, 4, 0, 0, &r);
  show_received("recv 4 of 10", &r);
  show_recv("rest of a truncated datagram is gone", srv, 64, MSG_DONTWAIT);
  sendto(cli, "abc", 3, 0, (struct sockaddr*)&a, alen);
  show_recv("recv 0 bytes", srv, 0, 0);
  show_recv("the datagram was consumed", srv, 64, MSG_DONTWAIT);

  // Connected datagram sockets; a third party is refused by a connected receiver.
  show("connect dgram", connect(cli, (struct sockaddr*)&a, alen));
  show("send connected", send(cli, "conn", 4, 0));
  show_recv("receive", srv, 64, 0);
  show("getpeername connected dgram", getpeername(cli, (struct sockaddr*)&from, &(socklen_t){sizeof from}));
  int third = socket(AF_UNIX, SOCK_DGRAM, 0);
  show("srv connects to cli", connect(srv, (struct sockaddr*)&b, blen));
  show("third party to a connected socket", sendto(third, "x", 1, 0, (struct sockaddr*)&a, alen));
  show("connect third party to a connected socket", connect(third, (struct sockaddr*)&a, alen));
  struct sockaddr unspec = {.sa_family = AF_UNSPEC};
  show("srv disconnects (AF_UNSPEC)", connect(srv, &unspec, sizeof unspec));
  show("getpeername after disconnect", getpeername(srv, (struct sockaddr*)&from, &(socklen_t){sizeof from}));
  show("third party after disconnect", sendto(third, "y", 1, 0, (struct sockaddr*)&a, alen));
  show_recv("receive from third party", srv, 64, 0);
  // The receiver closes: the connected sender learns it once, then is unconnected.
  close(srv);
  show("send to closed peer", send(cli, "x", 1, 0));
  show("send again", send(cli, "x", 1, 0));
  show("sendto the closed socket's path", sendto(third, "x", 1, 0, (struct sockaddr*)&a, alen));
  unlink(a.sun_path);
  show("sendto a missing path", sendto(third, "x", 1, 0, (struct sockaddr*)&a, alen));
  close(cli);
  close(third);
  unlink(b.sun_path);
  // Losing the peer drops what was received: on the send that finds it closed, and on a
  // disconnect, which also resets a peer connected back.
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  send(sv[1], "queued", 6, 0);
  close(sv[1]);
  show("send after the peer closed, with a message queued", send(sv[0], "x", 1, 0));
  show_recv("the queued message is gone", sv[0], 64, MSG_DONTWAIT);
  close(sv[0]);
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  send(sv[1], "queued", 6, 0);
  show("disconnect with a message queued", connect(sv[0], &unspec, sizeof unspec));
  show_recv("the queued message is gone", sv[0], 64, MSG_DONTWAIT);
  int err = 0;
  getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &err, &(socklen_t){sizeof err});
  show("the peer's SO_ERROR", err);
  close(sv[0]);
  close(sv[1]);

  // A datagram queue holds 11 messages from others; a blocked sender wakes when there is room.
  struct sockaddr_un q;
  socklen_t qlen = abstract_addr(&q, "dgram-queue");
  int rcv = socket(AF_UNIX, SOCK_DGRAM, 0);
  bind(rcv, (struct sockaddr*)&q, qlen);
  int snd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  connect(snd, (struct sockaddr*)&q, qlen);
  int queued = 0;
  while (send(snd, "m", 1, 0) == 1 && queued < 1000) queued++;
  printf("queued before EAGAIN: %d (%s)\n", queued, strerrorname_np(errno));
  show_poll("poll sender to a full queue", snd);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    char c;
    recv(rcv, &c, 1, 0);
    _exit(0);
  }
  set_nonblock(snd, 0);
  show("blocking send waits for room", send(snd, "n", 1, 0));
  reap(pid);
  int n = 0;
  while (recv(rcv, buf, sizeof buf, MSG_DONTWAIT) > 0) n++;
  show("messages drained", n);
  close(snd);
  close(rcv);
  // Oversized datagrams.
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  static char big[16384];
  memset(big, 'q', sizeof big);
  show("datagram larger than SO_SNDBUF", send(sv[0], big, sizeof big, 0));
  show("datagram within SO_SNDBUF", send(sv[0], big, 4000, 0));
  show_recv("MSG_TRUNC returns the datagram's length", sv[1], 8, MSG_TRUNC);
  close(sv[0]);
  close(sv[1]);

  printf("== seqpacket\n");
  struct sockaddr_un sp;
  socklen_t splen = abstract_addr(&sp, "seqpacket");
  int spl = listener(SOCK_SEQPACKET, &sp, splen, 5);
  int spc = connected(SOCK_SEQPACKET, &sp, splen);
  int sps = accept(spl, NULL, NULL);
  send(spc, "first", 5, 0);
  send(spc, "second", 6, 0);
  send(spc, "", 0, 0);
  send(spc, "third message", 13, 0);
  show_recv("seqpacket 1", sps, 64, 0);
  show_recv("seqpacket 2", sps, 64, 0);
  show_recv("seqpacket empty record", sps, 64, 0);
  recv_with(sps, 5, 0, 0, &r);
  show_received("seqpacket truncated", &r);
  show("seqpacket sendto ignores the address", sendto(spc, "addr", 4, 0, (struct sockaddr*)&a, alen));
  show_recv("seqpacket got it", sps, 64, 0);
  show("seqpacket recv on listener", recv(spl, buf, sizeof buf, MSG_DONTWAIT));
  show("seqpacket send unconnected", send(socket(AF_UNIX, SOCK_SEQPACKET, 0), "x", 1, 0));
  shutdown(spc, SHUT_WR);
  show_recv("seqpacket after peer SHUT_WR", sps, 64, 0);
  show("seqpacket send after SHUT_WR", send(spc, "x", 1, MSG_NOSIGNAL));
  close(spc);
  show_poll("seqpacket poll after peer closed", sps);
  show_recv("seqpacket EOF", sps, 64, MSG_DONTWAIT);
  sigpipes = 0;
  signal(SIGPIPE, on_sigpipe);
  show("seqpacket send to closed peer", send(sps, "x", 1, 0));
  show("SIGPIPEs for seqpacket", sigpipes);
  signal(SIGPIPE, SIG_DFL);
  close(sps);
  close(spl);
}

// ---------------------------------------------------------------------------------------

static void shutdown_tests(void) {
  printf("== shutdown, EOF, EPIPE\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(sv[0], "last words", 10);
  show("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
  show_poll("poll reader after peer SHUT_WR", sv[1]);
  show_poll("poll writer after its SHUT_WR", sv[0]);
  show_recv("reader gets the data", sv[1], 64, 0);
  show_recv("then EOF", sv[1], 64, 0);
  show_recv("EOF again", sv[1], 64, MSG_DONTWAIT);
  show("write after SHUT_WR (MSG_NOSIGNAL)", send(sv[0], "x", 1, MSG_NOSIGNAL));
  show("the other direction still works", send(sv[1], "back", 4, 0));
  show_recv("received", sv[0], 64, 0);
  show("shutdown SHUT_RD", shutdown(sv[0], SHUT_RD));
  show("peer writes after SHUT_RD", send(sv[1], "x", 1, MSG_NOSIGNAL));
  show_recv("read after SHUT_RD", sv[0], 64, 0);
  show_poll("poll after SHUT_RDWR", sv[0]);
  show("shutdown bad how", shutdown(sv[0], 3));
  close(sv[0]);
  close(sv[1]);
  // The peer closes: EOF for the reader, EPIPE and SIGPIPE for the writer.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[1]);
  show_poll("poll after peer closed", sv[0]);
  show_recv("read after peer closed", sv[0], 64, 0);
  show("send MSG_NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
  sigpipes = 0;
  signal(SIGPIPE, on_sigpipe);
  show("send without MSG_NOSIGNAL", send(sv[0], "x", 1, 0));
  show("SIGPIPEs", sigpipes);
  show("write()", write(sv[0], "x", 1));
  show("SIGPIPEs after write", sigpipes);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigprocmask(SIG_BLOCK, &set, &old);
  send(sv[0], "x", 1, 0);
  sigset_t pend;
  sigpending(&pend);
  fact("blocked SIGPIPE is pending", sigismember(&pend, SIGPIPE));
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_SETMASK, &old, NULL);
  show("send with SIGPIPE ignored", send(sv[0], "x", 1, 0));
  signal(SIGPIPE, SIG_DFL);
  close(sv[0]);
  // SIGPIPE's default action kills.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[1]);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    write(sv[0], "x", 1);
    _exit(0);
  }
  show("writer killed by SIGPIPE (128+13)", reap(pid));
  close(sv[0]);
  // Unread data makes the close a reset.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(sv[0], "unread", 6);
  close(sv[1]);
  show_poll("poll after peer closed with unread data", sv[0]);
  int err = -1;
  socklen_t el = sizeof err;
  getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el);
  show("SO_ERROR", err);
  show_recv("recv after SO_ERROR read it", sv[0], 64, 0);
  close(sv[0]);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(sv[0], "unread", 6);
  close(sv[1]);
  show_recv("recv reports the reset", sv[0], 64, 0);
  show_recv("then EOF", sv[0], 64, 0);
  close(sv[0]);
  // Shutdown of an unconnected socket.
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  show("shutdown unconnected", shutdown(u, SHUT_RDWR));
  show_poll("poll unconnected after shutdown", u);
  close(u);
  // Datagram shutdown does not reach the peer.
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  shutdown(sv[0], SHUT_WR);
  show("dgram send after own SHUT_WR", send(sv[0], "x", 1, MSG_NOSIGNAL));
  show("dgram peer can still send", send(sv[1], "y", 1, 0));
  shutdown(sv[0], SHUT_RD);
  show("dgram send to a SHUT_RD peer", send(sv[1], "z", 1, MSG_NOSIGNAL));
  show_recv("dgram queued before SHUT_RD", sv[0], 64, MSG_DONTWAIT);
  show_recv("dgram non-blocking after SHUT_RD", sv[0], 64, MSG_DONTWAIT);
  show_recv("dgram blocking after SHUT_RD", sv[0], 64, 0);
  close(sv[0]);
  close(sv[1]);
}

// ---------------------------------------------------------------------------------------

static void nonblock_tests(void) {
  printf("== non-blocking calls and readiness\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  show_poll("poll fresh pair", sv[0]);
  show("recv MSG_DONTWAIT", recv(sv[0], (char[8]){0}, 8, MSG_DONTWAIT));
  set_nonblock(sv[0], 1);
  show("read O_NONBLOCK", read(sv[0], (char[8]){0}, 8));
  int on = 0;
  ioctl(sv[0], FIONBIO, &on);
  fact("FIONBIO clears O_NONBLOCK", !(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
  struct pollfd p = {sv[0], POLLIN, 0};
  show("poll with timeout, nothing to read", poll(&p, 1, 20));
  write(sv[1], "ready", 5);
  show_poll("poll with data", sv[0]);
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(sv[0], &rd);
  FD_SET(sv[0], &wr);
  struct timeval tv = {0, 0};
  show("select", select(sv[0] + 1, &rd, &wr, NULL, &tv));
  fact("select readable and writable", FD_ISSET(sv[0], &rd) && FD_ISSET(sv[0], &wr));
  show_recv("MSG_PEEK", sv[0], 3, MSG_PEEK);
  show_recv("peek again from the start", sv[0], 64, MSG_PEEK);
  show_recv("read", sv[0], 64, 0);
  // Fill the stream until it would block: partial writes, POLLOUT off, then on again.
  set_nonblock(sv[1], 1);
  static char chunk[1 << 20];
  memset(chunk, 'z', sizeof chunk);
  long first = write(sv[1], chunk, sizeof chunk);
  fact("a big non-blocking write is partial", first > 0 && first < (long)sizeof chunk);
  long total = first;
  long w;
  while ((w = write(sv[1], chunk, 4096)) > 0) total += w;
  show("then EAGAIN", w < 0 ? -1 : w);
  struct pollfd pw = {sv[1], POLLOUT, 0};
  show("POLLOUT when full", poll(&pw, 1, 0));
  long drained = 0, n;
  char buf[65536];
  while ((n = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT)) > 0) drained += n;
  fact("everything written was read", drained == total);
  show("POLLOUT after draining", poll(&pw, 1, 0));
  close(sv[0]);
  close(sv[1]);
  // Non-blocking accept and connect.
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "nonblock");
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  bind(l, (struct sockaddr*)&a, alen);
  listen(l, 0);
  show("accept with nothing pending", accept(l, NULL, NULL));
  int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  show("non-blocking connect to a listener with room", connect(c, (struct sockaddr*)&a, alen));
  show_poll("listener with one pending", l);
  int s = accept(l, NULL, NULL);
  show("accept", s >= 0 ? 0 : -1);
  close(s);
  close(c);
  close(l);
  // epoll on sockets.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = 7};
  show("epoll_ctl add socket", epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
  struct epoll_event out[2];
  show("epoll_wait nothing", epoll_wait(ep, out, 2, 0));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(30);
    write(sv[1], "e", 1);
    read(sv[1], buf, 1);  // the parent has seen the data: now hang up
    sleep_ms(30);
    close(sv[1]);
    _exit(0);
  }
  close(sv[1]);
  n = epoll_wait(ep, out, 2, 5000);
  printf("epoll_wait woken by data: %ld data=%u events=%s\n", n, out[0].data.u32, poll_names(out[0].events));
  recv(sv[0], buf, 1, 0);
  write(sv[0], "k", 1);
  n = epoll_wait(ep, out, 2, 5000);
  printf("epoll_wait woken by close: %ld events=%s\n", n, poll_names(out[0].events));
  reap(pid);
  close(ep);
  close(sv[0]);
}

// ---------------------------------------------------------------------------------------

static void rights_tests(void) {
  printf("== SCM_RIGHTS\n");
  int sv[2], p[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pipe(p);
  // Pass the pipe's write end to a child; the child writes into it.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    close(p[0]);
    close(p[1]);
    struct received r;
    recv_with(sv[1], 64, 256, 0, &r);
    if (r.n != 4 || r.nfds != 1) _exit(1);
    struct stat st;
    fstat(r.fds[0], &st);
    if (!S_ISFIFO(st.st_mode)) _exit(2);
    write(r.fds[0], "through the passed fd", 21);
    _exit(0);
  }
  close(sv[1]);
  show("send pipe fd", send_fds(sv[0], "pipe", 4, &p[1], 1, 0));
  close(p[1]);  // the child's copy is now the only writer besides in-flight ones
  char buf[64] = {0};
  long n = read(p[0], buf, sizeof buf);
  printf("parent read from pipe: %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  show("child status", reap(pid));
  show("pipe EOF once the child exited", read(p[0], buf, sizeof buf));
  close(p[0]);
  close(sv[0]);

  // Details: where a read stops, truncation, close-on-exec, peek, limits.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pipe(p);
  int fds[3] = {p[0], p[1], p[0]};
  struct received r;
  int base = open_fd_count();
  send(sv[0], "aaa", 3, 0);
  send_fds(sv[0], "bbb", 3, fds, 2, 0);
  send(sv[0], "ccc", 3, 0);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("bytes before and with fds, read stops after them", &r);
  fact("received fds are open", r.nfds == 2 && fcntl(r.fds[0], F_GETFD) == 0 && fcntl(r.fds[1], F_GETFD) == 0);
  close_fds(&r);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("the rest", &r);
  show("fds with no data on a stream", send_fds(sv[0], "", 0, fds, 1, 0));
  recv_with(sv[1], 64, 256, MSG_DONTWAIT, &r);
  show_received("nothing arrived", &r);
  send_fds(sv[0], "ddd", 3, fds, 3, 0);
  recv_with(sv[1], 64, CMSG_SPACE(sizeof(int)), MSG_CMSG_CLOEXEC, &r);
  show_received("room for 2 of 3 fds, MSG_CMSG_CLOEXEC", &r);
  fact("MSG_CMSG_CLOEXEC sets FD_CLOEXEC", r.nfds == 2 && fcntl(r.fds[0], F_GETFD) == FD_CLOEXEC);
  close_fds(&r);
  send_fds(sv[0], "eee", 3, fds, 3, 0);
  recv_with(sv[1], 64, 10, 0, &r);
  show_received("control buffer smaller than a header", &r);
  send_fds(sv[0], "fff", 3, fds, 3, 0);
  recv_with(sv[1], 64, 0, 0, &r);
  show_received("no control buffer", &r);
  send_fds(sv[0], "ggg", 3, fds, 3, 0);
  recv_with(sv[1], 64, 256, MSG_PEEK, &r);
  show_received("peek installs fds too", &r);
  close_fds(&r);
  recv_with(sv[1], 2, 256, 0, &r);
  show_received("a partial read takes the fds", &r);
  close_fds(&r);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("the rest has none", &r);
  send_fds(sv[0], "hhh", 3, fds, 2, 0);
  read(sv[1], buf, sizeof buf);  // read() drops the files
  show("open fds after all that (relative)", open_fd_count() - base);
  int bad = 999;
  show("send a bad fd", send_fds(sv[0], "x", 1, &bad, 1, 0));
  int many[254];
  for (int i = 0; i < 254; i++) many[i] = p[0];
  show("send 254 fds", send_fds(sv[0], "x", 1, many, 254, 0));
  show("send 253 fds", send_fds(sv[0], "x", 1, many, 253, 0));
  recv_with(sv[1], 64, CMSG_SPACE(sizeof(int) * 253), 0, &r);
  show_received("receive 253 fds", &r);
  close_fds(&r);
  // Bad control messages.
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {"x", 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = 77;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  show("unknown SOL_SOCKET control message", sendmsg(sv[0], &m, 0));
  c->cmsg_level = 6;
  show("control message of another level is ignored", sendmsg(sv[0], &m, 0));
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = 5;
  show("control message length below its header", sendmsg(sv[0], &m, 0));
  c->cmsg_len = sizeof cbuf + 8;
  show("control message longer than the buffer", sendmsg(sv[0], &m, 0));
  recv_with(sv[1], 64, 0, MSG_DONTWAIT, &r);
  show_received("the ignored one arrived", &r);
  close(sv[0]);
  close(sv[1]);

  // Datagrams carry fds per message; a socket can be passed too.
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  int inner[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
  send_fds(sv[0], "sock", 4, &inner[1], 1, 0);
  close(inner[1]);
  send_fds(sv[0], "", 0, &p[0], 1, 0);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("datagram with a socket fd", &r);
  struct stat st;
  fstat(r.fds[0], &st);
  fact("the passed fd is a socket", S_ISSOCK(st.st_mode));
  write(inner[0], "via passed socket", 17);
  show_recv("read through the passed socket", r.fds[0], 64, 0);
  close_fds(&r);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("empty datagram with an fd", &r);
  close_fds(&r);
  close(inner[0]);
  close(sv[0]);
  close(sv[1]);
  close(p[0]);
  close(p[1]);
}

// ---------------------------------------------------------------------------------------

static void creds_tests(void) {
  printf("== credentials\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct ucred u;
  socklen_t ul = sizeof u;
  show("SO_PEERCRED socketpair", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &u, &ul));
  show("length", ul);
  fact("peer pid is ours", u.pid == getpid());
  fact("peer uid/gid are our effective ids", u.uid == geteuid() && u.gid == getegid());
  ul = 4;
  getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &u, &ul);
  show("short SO_PEERCRED length", ul);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    struct ucred c;
    socklen_t cl = sizeof c;
    getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &c, &cl);
    char msg = c.pid == getppid() ? 'y' : 'n';
    write(sv[1], &msg, 1);
    _exit(0);
  }
  char yn = '?';
  read(sv[0], &yn, 1);
  printf("child: peer pid matches getppid: %s\n", yn == 'y' ? "yes" : "no");
  reap(pid);
  close(sv[0]);
  close(sv[1]);
  int lone = socket(AF_UNIX, SOCK_STREAM, 0);
  ul = sizeof u;
  getsockopt(lone, SOL_SOCKET, SO_PEERCRED, &u, &ul);
  printf("unconnected SO_PEERCRED: pid %d uid %d gid %d\n", u.pid, (int)u.uid, (int)u.gid);
  close(lone);

  // Listener and client in different processes: each sees the other.
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, "creds.sock");
  int l = listener(SOCK_STREAM, &a, alen, 5);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    int c = connected(SOCK_STREAM, &a, alen);
    struct ucred lc;
    socklen_t lcl = sizeof lc;
    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &lc, &lcl);
    char msg = lc.pid == getppid() ? 'y' : 'n';
    write(c, &msg, 1);
    read(c, &msg, 1);
    _exit(0);
  }
  int s = accept(l, NULL, NULL);
  ul = sizeof u;
  getsockopt(s, SOL_SOCKET, SO_PEERCRED, &u, &ul);
  fact("server: peer pid is the connecting child", u.pid == pid);
  read(s, &yn, 1);
  printf("client: peer pid is the listening parent: %s\n", yn == 'y' ? "yes" : "no");
  write(s, "k", 1);
  reap(pid);
  close(s);
  close(l);
  unlink(a.sun_path);

  // SO_PASSCRED: SCM_CREDENTIALS on each message.
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  send(sv[0], "before", 6, 0);
  int one = 1, v = 0;
  show("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
  socklen_t vl = sizeof v;
  getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &vl);
  show("SO_PASSCRED reads back", v);
  send(sv[0], "after", 5, 0);
  struct received r;
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("sent before SO_PASSCRED", &r);
  printf("  no credentials: pid %d uid %d gid %d\n", r.cred.pid, (int)r.cred.uid, (int)r.cred.gid);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("sent after SO_PASSCRED", &r);
  fact("  credentials are the sender's", r.cred.pid == getpid() && r.cred.uid == getuid() && r.cred.gid == getgid());
  send(sv[0], "cut", 3, 0);
  recv_with(sv[1], 64, 16, 0, &r);
  show_received("credentials without room", &r);
  // Explicit credentials.
  char cbuf[CMSG_SPACE(sizeof(struct ucred))];
  struct ucred mine = {getpid(), getuid(), getgid()};
  struct iovec iov = {"explicit", 8};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof mine);
  memcpy(CMSG_DATA(c), &mine, sizeof mine);
  show("send explicit credentials", sendmsg(sv[0], &m, 0));
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("explicit credentials", &r);
  fact("  they are ours", r.cred.pid == getpid());
  c->cmsg_len = CMSG_LEN(sizeof mine) - 1;
  show("credentials of the wrong size", sendmsg(sv[0], &m, 0));
  close(sv[0]);
  close(sv[1]);
  // Stream: with SO_PASSCRED, bytes from different senders are not read together.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  send(sv[0], "one", 3, 0);
  send(sv[0], "two", 3, 0);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    send(sv[0], "child", 5, 0);
    _exit(0);
  }
  reap(pid);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("stream, same sender joined", &r);
  recv_with(sv[1], 64, 256, 0, &r);
  show_received("stream, other sender apart", &r);
  fact("  its pid is the child's", r.cred.pid == pid);
  close(sv[0]);
  close(sv[1]);
}

// ---------------------------------------------------------------------------------------

static void options_tests(void) {
  printf("== options\n");
  int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW};
  for (int i = 0; i < 4; i++) {
    int s = socket(AF_UNIX, types[i], 0);
    int v[3];
    socklen_t l = sizeof(int);
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v[0], &l);
    getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v[1], &l);
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v[2], &l);
    printf("type %d: SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d\n", types[i], v[0], v[1], v[2]);
    close(s);
  }
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  int v;
  socklen_t l = sizeof v;
  getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l);
  show("default SO_SNDBUF", v);
  getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l);
  show("default SO_RCVBUF", v);
  v = 1000;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l);
  show("SO_SNDBUF 1000 reads back", v);
  v = 1000;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
  getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l);
  show("SO_RCVBUF 1000 reads back", v);
  v = 65536;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l);
  show("SO_SNDBUF 65536 reads back", v);
  v = 1;
  show("SO_REUSEADDR", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
  v = 0;
  getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &l);
  show("SO_REUSEADDR reads back", v);
  v = 5;
  setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
  getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &l);
  show("SO_KEEPALIVE 5 reads back", v);
  struct linger lg = {1, 7}, lg2;
  show("SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  l = sizeof lg2;
  getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &l);
  printf("SO_LINGER reads back: %d %d (%u bytes)\n", lg2.l_onoff, lg2.l_linger, l);
  l = sizeof v;
  getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l);
  show("SO_ERROR", v);
  show("getsockopt other level", getsockopt(s, 6, 1, &v, &l));
  show("setsockopt other level", setsockopt(s, 6, 1, &v, sizeof v));
  show("unknown option", getsockopt(s, SOL_SOCKET, 9999, &v, &l));
  show("setsockopt short value", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2));
  show("set SO_TYPE", setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v));
  l = 8;
  getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
  show("int option length with a larger buffer", l);
  l = -1;
  show("negative option length", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
  int p[2];
  pipe(p);
  show("getsockopt on a pipe", getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &(socklen_t){4}));
  close(p[0]);
  close(p[1]);
  struct timeval tv = {0, 0};
  l = sizeof tv;
  getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l);
  printf("default SO_RCVTIMEO: %ld.%06ld (%u bytes)\n", (long)tv.tv_sec, (long)tv.tv_usec, l);
  tv.tv_usec = 2000000;
  show("SO_RCVTIMEO bad usec", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  close(s);
  // Receive and accept timeouts end in EAGAIN.
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  tv = (struct timeval){0, 100000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct timeval back;
  l = sizeof back;
  getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &back, &l);
  printf("SO_RCVTIMEO reads back: %ld.%06ld\n", (long)back.tv_sec, (long)back.tv_usec);
  int64_t t0 = now_ms();
  show("recv with SO_RCVTIMEO", recv(sv[0], (char[4]){0}, 4, 0));
  fact("it waited about the timeout", now_ms() - t0 >= 90);
  close(sv[0]);
  close(sv[1]);
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "timeout");
  int lst = listener(SOCK_STREAM, &a, alen, 5);
  setsockopt(lst, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  t0 = now_ms();
  show("accept with SO_RCVTIMEO", accept(lst, NULL, NULL));
  fact("it waited about the timeout", now_ms() - t0 >= 90);
  close(lst);
}

// ---------------------------------------------------------------------------------------

static void blocking_tests(void) {
  printf("== blocking across processes\n");
  // A big transfer: the writer blocks on a full socket many times.
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  const long total = 8 << 20;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    static unsigned char buf[300000];
    long sent = 0;
    while (sent < total) {
      long n = total - sent < (long)sizeof buf ? total - sent : (long)sizeof buf;
      for (long i = 0; i < n; i++) buf[i] = (unsigned char)((sent + i) * 7);
      long w = write(sv[1], buf, n);
      if (w != n) _exit(1);  // blocking writes are complete
      sent += w;
    }
    _exit(0);
  }
  close(sv[1]);
  long got = 0;
  int ok = 1;
  static unsigned char rbuf[70000];
  for (;;) {
    long n = read(sv[0], rbuf, sizeof rbuf);
    if (n <= 0) break;
    for (long i = 0; i < n; i++) ok = ok && rbuf[i] == (unsigned char)((got + i) * 7);
    got += n;
  }
  printf("transferred %ld bytes, intact: %s\n", got, ok ? "yes" : "no");
  show("writer status", reap(pid));
  close(sv[0]);
  // MSG_WAITALL collects pieces sent over time.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 4; i++) {
      sleep_ms(10);
      write(sv[1], "abcd" + i, 1);
    }
    sleep_ms(10);
    close(sv[1]);
    _exit(0);
  }
  close(sv[1]);
  char buf[16] = {0};
  show("MSG_WAITALL for 4 bytes", recv(sv[0], buf, 4, MSG_WAITALL));
  printf("got \"%s\"\n", buf);
  show("MSG_WAITALL for 4 more, EOF first", recv(sv[0], buf, 4, MSG_WAITALL));
  reap(pid);
  close(sv[0]);
  // A blocking connect waits for room in the backlog.
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "blocking");
  int l = listener(SOCK_STREAM, &a, alen, 0);
  int first = connected(SOCK_STREAM, &a, alen);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    int s = accept(l, NULL, NULL);
    _exit(s >= 0 ? 0 : 1);
  }
  int second = socket(AF_UNIX, SOCK_STREAM, 0);
  show("blocking connect to a full backlog", connect(second, (struct sockaddr*)&a, alen));
  show("acceptor status", reap(pid));
  close(first);
  close(second);
  close(l);
  // Signals: SA_RESTART restarts a blocked recv, without it recv fails with EINTR.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
  sigaction(SIGALRM, &sa, NULL);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    kill(getppid(), SIGALRM);
    sleep_ms(50);
    write(sv[1], "late", 4);
    _exit(0);
  }
  alarms = 0;
  show_recv("recv across a SA_RESTART signal", sv[0], 16, 0);
  show("handler ran", alarms);
  reap(pid);
  sa.sa_flags = 0;
  sigaction(SIGALRM, &sa, NULL);
  pid = fork();
  if (pid == 0) {  // signals until the parent's recv gave up (it may not be in recv yet)
    for (;;) {
      sleep_ms(20);
      kill(getppid(), SIGALRM);
    }
  }
  show_recv("recv interrupted without SA_RESTART", sv[0], 16, 0);
  kill(pid, SIGKILL);
  reap(pid);
  signal(SIGALRM, SIG_DFL);
  close(sv[0]);
  close(sv[1]);
  // Threads of work: a server process answers several clients one after another.
  struct sockaddr_un sa_path;
  socklen_t splen = path_addr(&sa_path, "server.sock");
  int srv = listener(SOCK_STREAM, &sa_path, splen, 16);
  fflush(stdout);
  pid_t server = fork();
  if (server == 0) {
    for (int i = 0; i < 5; i++) {
      int c = accept(srv, NULL, NULL);
      char req[32];
      long n = read(c, req, sizeof req);
      if (n <= 0) _exit(1);
      for (long k = 0; k < n; k++) req[k] = req[k] >= 'a' && req[k] <= 'z' ? req[k] - 32 : req[k];
      write(c, req, n);
      close(c);
    }
    _exit(0);
  }
  close(srv);
  pid_t clients[5];
  for (int i = 0; i < 5; i++) {
    clients[i] = fork();
    if (clients[i] == 0) {
      int c = connected(SOCK_STREAM, &sa_path, splen);
      char msg[16], ans[16];
      int len = snprintf(msg, sizeof msg, "client%d", i);
      write(c, msg, len);
      long n = read(c, ans, sizeof ans);
      _exit(n == len && strncmp(ans, "CLIENT", 6) == 0 ? 0 : 1);
    }
  }
  int bad = 0;
  for (int i = 0; i < 5; i++) bad += reap(clients[i]) != 0;
  show("clients answered wrongly", bad);
  show("server status", reap(server));
  unlink(sa_path.sun_path);
}

// ---------------------------------------------------------------------------------------

static int after_exec(char** argv) {
  int keep = atoi(argv[2]), gone = atoi(argv[3]);
  fact("exec: the socket survives", fcntl(keep, F_GETFD) == 0);
  fact("exec: the close-on-exec socket is closed", fcntl(gone, F_GETFD) < 0 && errno == EBADF);
  struct stat st;
  fstat(keep, &st);
  fact("exec: still S_IFSOCK", S_ISSOCK(st.st_mode));
  write(keep, "from the new image", 18);
  return 0;
}

static void exec_tests(void) {
  printf("== fork and exec\n");
  int sv[2], cx[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cx);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", sv[1]);
    snprintf(b, sizeof b, "%d", cx[1]);
    execl(program_path, program_path, "after_exec", a, b, (char*)NULL);
    _exit(127);
  }
  show("exec'd child status", reap(pid));
  show_recv("message from the exec'd program", sv[0], 64, MSG_DONTWAIT);
  // Both processes share one socket after fork: the peer sees EOF only when both closed.
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    sleep_ms(30);
    write(sv[1], "child's copy", 12);
    _exit(0);
  }
  close(sv[1]);
  show_recv("the child's copy still writes", sv[0], 64, 0);
  reap(pid);
  show_recv("EOF once every copy is closed", sv[0], 64, 0);
  close(sv[0]);
  close(cx[0]);
  close(cx[1]);
}

// ---------------------------------------------------------------------------------------

static void error_tests(void) {
  printf("== errors\n");
  show("socket bad flags", socket(AF_UNIX, SOCK_STREAM | 0x1000, 0));
  show("socket type 7", socket(AF_UNIX, 7, 0));
  show("socket type 20", socket(AF_UNIX, 20, 0));
  show("socket protocol 2", socket(AF_UNIX, SOCK_STREAM, 2));
  int ok = socket(AF_UNIX, SOCK_STREAM, PF_UNIX);
  show("socket protocol PF_UNIX", ok >= 0 ? 0 : -1);
  close(ok);
  show("socket family 200", socket(200, SOCK_STREAM, 0));
  show("socket family AF_MAX", socket(AF_MAX, SOCK_STREAM, 0));
  int p[2];
  pipe(p);
  struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "/nonexistent/x"};
  socklen_t al = sizeof a;
  show("getsockname on a pipe", getsockname(p[0], (struct sockaddr*)&a, &al));
  show("send on a pipe", send(p[1], "x", 1, 0));
  show("recv on a bad fd", recv(999, (char[1]){0}, 1, 0));
  close(p[0]);
  close(p[1]);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un bad = {.sun_family = AF_INET};
  strcpy(bad.sun_path, "x");
  show("bind wrong family", bind(s, (struct sockaddr*)&bad, sizeof bad));
  show("bind length 1", bind(s, (struct sockaddr*)&bad, 1));
  show("bind length 111", bind(s, (struct sockaddr*)&a, 111));
  show("bind length 200", bind(s, (struct sockaddr*)&a, 200));
  show("bind bad pointer", bind(s, (struct sockaddr*)8, 20));
  sa_family_t fam = AF_UNIX;
  show("connect with just the family", connect(s, (struct sockaddr*)&fam, sizeof fam));
  show("connect wrong family", connect(s, (struct sockaddr*)&bad, sizeof bad));
  show("recv unconnected stream", recv(s, (char[1]){0}, 1, MSG_DONTWAIT));
  show("read unconnected stream", read(s, (char[1]){0}, 1));
  show("send unconnected stream", send(s, "x", 1, 0));
  show("sendto unconnected stream with address", sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof a));
  al = sizeof a;
  show("getpeername unconnected", getpeername(s, (struct sockaddr*)&a, &al));
  show("accept not listening", accept(s, NULL, NULL));
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  show("listen dgram", listen(d, 1));
  show("accept dgram", accept(d, NULL, NULL));
  show("recv unconnected dgram", recv(d, (char[1]){0}, 1, MSG_DONTWAIT));
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct sockaddr_un x;
  socklen_t xl = abstract_addr(&x, "errors");
  show("connect connected, nothing at the address", connect(sv[0], (struct sockaddr*)&x, xl));
  int xl_fd = listener(SOCK_STREAM, &x, xl, 5);
  show("connect connected", connect(sv[0], (struct sockaddr*)&x, xl));
  show("connect a listening socket", connect(xl_fd, (struct sockaddr*)&x, xl));
  close(xl_fd);
  show("listen connected", listen(sv[0], 1));
  show("sendto connected stream with address", sendto(sv[0], "x", 1, 0, (struct sockaddr*)&x, xl));
  show("sendto connected stream with NULL address", sendto(sv[0], "x", 1, 0, NULL, 0));
  show("send bad buffer", send(sv[0], (char*)8, 4, 0));
  show("recv into bad buffer", recv(sv[1], (char*)8, 4, 0));
  show("recvmsg bad msghdr", recvmsg(sv[1], (struct msghdr*)8, 0));
  struct iovec iov = {NULL, 0};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 2000};
  show("sendmsg too many iovecs", sendmsg(sv[0], &m, 0));
  show("socketpair bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, (int*)8));
  close(sv[0]);
  close(sv[1]);
  close(s);
  close(d);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  program_path = argv[0];
  if (argc == 4 && strcmp(argv[1], "after_exec") == 0) return after_exec(argv);
  if (argc == 4 && strcmp(argv[1], "bind") == 0) {  // for the image checks: bind PATH keep|unlink
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    show("bind", bind(s, (struct sockaddr*)&a, sizeof a));
    show("listen", listen(s, 1));
    if (strcmp(argv[3], "unlink") == 0) {
      show("unlink while bound", unlink(a.sun_path));
      int c = socket(AF_UNIX, SOCK_STREAM, 0);
      show("connect after unlink", connect(c, (struct sockaddr*)&a, sizeof a));
      // A new file may take the name; the bound socket still holds the old inode.
      close(open(a.sun_path, O_CREAT | O_WRONLY, 0644));
      show("connect to the new file", connect(c, (struct sockaddr*)&a, sizeof a));
      unlink(a.sun_path);
    }
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "gc") == 0) {  // not compared: when Linux collects is its business
    // Two sockets, each only in the other's queue once our fds are closed; and one in its own.
    int x[2], y[2], z[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, x);
    socketpair(AF_UNIX, SOCK_STREAM, 0, y);
    send_fds(y[0], "f", 1, &x[1], 1, 0);
    send_fds(x[0], "f", 1, &y[1], 1, 0);
    close(x[1]);
    close(y[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, z);
    send_fds(z[0], "f", 1, &z[1], 1, 0);
    close(z[1]);
    int w[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, w);  // a later socket call collects
    fact("pair cycle collected: its peer sees EOF", readable_within(x[0], 2000) && read(x[0], (char[4]){0}, 4) == 0);
    fact("self cycle collected: its peer sees EOF", readable_within(z[0], 2000) && read(z[0], (char[4]){0}, 4) == 0);
    // A socket still reachable through a live socket's queue is not collected.
    int a[2], b[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, a);
    socketpair(AF_UNIX, SOCK_STREAM, 0, b);
    send_fds(b[0], "f", 1, &a[1], 1, 0);
    close(a[1]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, w);
    fact("socket queued at a live socket survives", !readable_within(a[0], 100));
    struct received r;
    recv_with(b[1], 64, 256, 0, &r);
    write(r.fds[0], "alive", 5);
    show_recv("it still works", a[0], 64, 0);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "inet") == 0) {  // the other families exist; socketpair is AF_UNIX's
    show("socket AF_INET", socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : -1);  // fd numbers differ natively
    show("socket AF_INET6", socket(AF_INET6, SOCK_DGRAM, 0) >= 0 ? 0 : -1);  // fd numbers differ natively
    show("socket AF_NETLINK", socket(AF_NETLINK, SOCK_RAW, 0) >= 0 ? 0 : -1);  // fd numbers differ natively
    show("socket AF_PACKET", socket(AF_PACKET, SOCK_RAW, 0) >= 0 ? 0 : -1);  // fd numbers differ natively
    show("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0}));
    show("socket AF_MAX+1", socket(AF_MAX + 1, SOCK_STREAM, 0));
    return 0;
  }
  signal(SIGPIPE, SIG_DFL);
  umask(022);
  uniq = getpid();
  const char* tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/unix-sockets-%d", tmp && *tmp ? tmp : "/tmp", uniq);
  if (mkdir(dir, 0700) < 0) {
    perror(dir);
    return 1;
  }
  const char* only = argc > 1 ? argv[1] : NULL;
  struct { const char* name; void (*fn)(void); } parts[] = {
      {"pair", pair_tests}, {"stream", stream_tests}, {"dgram", dgram_tests},
      {"shutdown", shutdown_tests}, {"nonblock", nonblock_tests}, {"rights", rights_tests},
      {"creds", creds_tests}, {"options", options_tests}, {"blocking", blocking_tests},
      {"exec", exec_tests}, {"errors", error_tests},
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (!only || strcmp(only, parts[i].name) == 0) parts[i].fn();
  rmdir(dir);
  printf("done\n");
  return 0;
}
