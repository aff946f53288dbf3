// AF_INET sockets over the loopback interface (127.0.0.1): TCP connection set-up and
// addresses, data and flags (MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL), shutdown and EOF, resets,
// EPIPE/SIGPIPE, non-blocking connect, readiness (poll, select, epoll), options, an 8 MiB
// transfer each way between two processes, fork and exec; UDP datagrams; ICMP echo over raw
// and ping sockets; arguments Linux refuses. Prints facts only (ephemeral ports are printed
// as "ephemeral", known ones by name; no buffer sizes, pids or timings), so that its output
// natively equals its output under umkernel. Needs only the loopback interface.
// Usage: inet_sockets [PART]     (PART: tcp, nonblock, readiness, options, reuse, transfer,
//                                 exec, sigpipe, udp, errors, icmp; no PART = all but icmp)
// The icmp part needs root (raw socket) and net.ipv4.ping_group_range including our gid.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#define LOOPBACK htonl(INADDR_LOOPBACK)

static const char* self_exe;  // what the exec part executes

static void show(const char* what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %ld\n", what, r);
  fflush(stdout);
}

// Like show, but a non-negative result (an fd) prints as "ok".
static void show_ok(const char* what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: ok\n", what);
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

static void die(const char* what) {
  printf("FATAL %s: %s\n", what, strerrorname_np(errno));
  fflush(stdout);
  exit(1);
}

// ---------------------------------------------------------------------------------------
// Addresses: ports the program bound on purpose are printed by name, others as "ephemeral".

static struct { int port; const char* name; } known[32];
static int nknown;

static void name_port(int port, const char* name) {
  if (nknown < 32) known[nknown++] = (typeof(known[0])){port, name};
}

static const char* port_name(int port) {
  static char buf[16];
  if (port == 0) return "0";
  for (int i = nknown - 1; i >= 0; i--)
    if (known[i].port == port) return known[i].name;
  if (port < 1024) {
    snprintf(buf, sizeof buf, "%d", port);
    return buf;
  }
  return "ephemeral";
}

static const char* addr_str(const struct sockaddr_in* a, socklen_t len) {
  static char buf[128];
  char ip[INET_ADDRSTRLEN];
  if (len < sizeof(sa_family_t)) return "(empty)";
  if (a->sin_family != AF_INET) {
    snprintf(buf, sizeof buf, "family %d len %u", a->sin_family, len);
    return buf;
  }
  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
  snprintf(buf, sizeof buf, "%s:%s len %u", ip, port_name(ntohs(a->sin_port)), len);
  return buf;
}

static struct sockaddr_in sin_of(uint32_t addr_be, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = addr_be;
  a.sin_port = htons(port);
  return a;
}

static int local_port(int fd) {
  struct sockaddr_in a;
  socklen_t l = sizeof a;
  if (getsockname(fd, (struct sockaddr*)&a, &l) < 0) return -1;
  return ntohs(a.sin_port);
}

// getsockname (peer=0) or getpeername (peer=1), printed.
static void show_name(const char* what, int fd, int peer) {
  struct sockaddr_in a;
  memset(&a, 0xaa, sizeof a);
  socklen_t l = sizeof a;
  int r = peer ? getpeername(fd, (struct sockaddr*)&a, &l) : getsockname(fd, (struct sockaddr*)&a, &l);
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %s\n", what, addr_str(&a, l));
  fflush(stdout);
}

static int same_addr(const struct sockaddr_in* a, const struct sockaddr_in* b) {
  return a->sin_family == b->sin_family && a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
}

// A TCP listener on ADDR:0 (an ephemeral port), registered under NAME.
static int tcp_listener(uint32_t addr_be, const char* name, int flags) {
  int s = socket(AF_INET, SOCK_STREAM | flags, 0);
  if (s < 0) die("socket");
  struct sockaddr_in a = sin_of(addr_be, 0);
  if (bind(s, (struct sockaddr*)&a, sizeof a) < 0) die("bind listener");
  if (listen(s, 16) < 0) die("listen");
  name_port(local_port(s), name);
  return s;
}

static int tcp_connect_to(int port) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = sin_of(LOOPBACK, port);
  if (c < 0 || connect(c, (struct sockaddr*)&a, sizeof a) < 0) die("connect");
  return c;
}

// A connected pair over a fresh listener: *client and *server (the accepted end).
static void tcp_pair(int* client, int* server) {
  int l = tcp_listener(LOOPBACK, "pair-listener", 0);
  *client = tcp_connect_to(local_port(l));
  *server = accept(l, NULL, NULL);
  if (*server < 0) die("accept");
  close(l);
}

// A port nobody listens on: bound once, then closed.
static int closed_port(int type) {
  int s = socket(AF_INET, type, 0);
  struct sockaddr_in a = sin_of(LOOPBACK, 0);
  bind(s, (struct sockaddr*)&a, sizeof a);
  int p = local_port(s);
  close(s);
  name_port(p, "closed");
  return p;
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

static const char* epoll_names(uint32_t ev) {
  static char buf[128];
  buf[0] = 0;
  const struct { uint32_t bit; const char* name; } names[] = {
      {EPOLLIN, "IN"}, {EPOLLPRI, "PRI"}, {EPOLLOUT, "OUT"}, {EPOLLERR, "ERR"},
      {EPOLLHUP, "HUP"}, {EPOLLRDHUP, "RDHUP"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (ev & names[i].bit) strcat(strcat(buf, buf[0] ? "|" : ""), names[i].name);
  return buf[0] ? buf : "0";
}

// Waits up to MS for any of EVENTS on fd (returns the revents of the last poll).
static int wait_for(int fd, int events, int ms) {
  if (fd < 0) return 0;
  int64_t end = now_ms() + ms;
  struct pollfd p = {fd, (short)events, 0};
  for (;;) {
    int left = (int)(end - now_ms());
    if (left < 0) left = 0;
    p.revents = 0;
    int n = poll(&p, 1, left);
    if (n > 0 && (p.revents & (events | POLLERR | POLLHUP | POLLNVAL))) return p.revents;
    if (n < 0 && errno != EINTR) return 0;
    if (left == 0) return p.revents;
  }
}

// The whole readiness state right now.
static void show_poll(const char* what, int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
  int n = poll(&p, 1, 0);
  printf("%s: %d %s\n", what, n, poll_names(p.revents));
  fflush(stdout);
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

static int get_int(int fd, int level, int opt) {
  int v = -12345;
  socklen_t l = sizeof v;
  if (getsockopt(fd, level, opt, &v, &l) < 0) return -100000 - errno;
  return v;
}

static void show_opt(const char* what, int fd, int level, int opt) {
  int v = get_int(fd, level, opt);
  if (v <= -100000) printf("%s: -1 %s\n", what, strerrorname_np(-100000 - v));
  else printf("%s: %d\n", what, v);
  fflush(stdout);
}

static void show_flag(const char* what, int fd, int level, int opt) {
  int v = get_int(fd, level, opt);
  if (v <= -100000) printf("%s: -1 %s\n", what, strerrorname_np(-100000 - v));
  else printf("%s: %s\n", what, v ? "on" : "off");
  fflush(stdout);
}

static int set_int(int fd, int level, int opt, int v) { return setsockopt(fd, level, opt, &v, sizeof v); }

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }

// ---------------------------------------------------------------------------------------

static void tcp_tests(void) {
  printf("== tcp: connection set-up, addresses, data\n");
  int l = socket(AF_INET, SOCK_STREAM, 0);
  show_ok("socket", l);
  if (l < 0) exit(1);
  show_opt("SO_TYPE is SOCK_STREAM", l, SOL_SOCKET, SO_TYPE);
  show_opt("SO_DOMAIN", l, SOL_SOCKET, SO_DOMAIN);
  show_opt("SO_PROTOCOL", l, SOL_SOCKET, SO_PROTOCOL);
  show_name("getsockname before bind", l, 0);
  show_name("getpeername before connect", l, 1);
  struct sockaddr_in a = sin_of(LOOPBACK, 0);
  show("bind 127.0.0.1:0", bind(l, (struct sockaddr*)&a, sizeof a));
  int port = local_port(l);
  fact("bound to a port above 1023", port > 1023);
  name_port(port, "server");
  show_name("getsockname after bind", l, 0);
  show_flag("SO_ACCEPTCONN before listen", l, SOL_SOCKET, SO_ACCEPTCONN);
  show("listen", listen(l, 8));
  show_flag("SO_ACCEPTCONN after listen", l, SOL_SOCKET, SO_ACCEPTCONN);
  show("listen again (new backlog)", listen(l, 16));
  show_poll("poll listener, nobody connecting", l);

  int c = socket(AF_INET, SOCK_STREAM, 0);
  a = sin_of(LOOPBACK, port);
  show("connect", connect(c, (struct sockaddr*)&a, sizeof a));
  struct sockaddr_in cname;
  socklen_t cl = sizeof cname;
  getsockname(c, (struct sockaddr*)&cname, &cl);
  show_name("client getsockname", c, 0);
  show_name("client getpeername", c, 1);
  fact("listener readable with a connection queued", wait_for(l, POLLIN, 5000) & POLLIN);
  show_poll("poll listener, one connection queued", l);
  struct sockaddr_in peer;
  memset(&peer, 0, sizeof peer);
  socklen_t pl = sizeof peer;
  int s = accept4(l, (struct sockaddr*)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
  show_ok("accept4 SOCK_NONBLOCK|SOCK_CLOEXEC", s);
  printf("accepted from: %s\n", addr_str(&peer, pl));
  fact("accepted address is the client's name", same_addr(&peer, &cname));
  fact("accepted socket is O_NONBLOCK", fcntl(s, F_GETFL) & O_NONBLOCK);
  fact("accepted socket is FD_CLOEXEC", fcntl(s, F_GETFD) & FD_CLOEXEC);
  fact("client socket is not FD_CLOEXEC", !(fcntl(c, F_GETFD) & FD_CLOEXEC));
  show_name("accepted getsockname", s, 0);
  show_name("accepted getpeername", s, 1);
  show_flag("SO_ACCEPTCONN on the accepted socket", s, SOL_SOCKET, SO_ACCEPTCONN);
  show_opt("SO_ERROR", s, SOL_SOCKET, SO_ERROR);
  show_poll("poll accepted socket, nothing sent", s);
  show("recv on the empty non-blocking socket", recv(s, (char[8]){0}, 8, 0));
  show("read on the empty non-blocking socket", read(s, (char[8]){0}, 8));
  show("recv MSG_DONTWAIT on the empty blocking client", recv(c, (char[8]){0}, 8, MSG_DONTWAIT));

  show("send hello", send(c, "hello", 5, 0));
  fact("server readable", wait_for(s, POLLIN, 5000) & POLLIN);
  int avail = -1;
  ioctl(s, FIONREAD, &avail);
  show("FIONREAD", avail);
  show_recv("recv MSG_PEEK", s, 64, MSG_PEEK);
  show_recv("recv MSG_PEEK again", s, 3, MSG_PEEK);
  show_recv("recv", s, 64, 0);
  show("write world", write(c, " world", 6));
  wait_for(s, POLLIN, 5000);
  show_recv("read 3 of 6", s, 3, 0);
  show_recv("read the rest", s, 64, 0);

  // Data the other way, with sendto/recvfrom (addresses are ignored on a connected stream).
  show("sendto on the connected stream with an address", sendto(s, "back", 4, 0, (struct sockaddr*)&a, sizeof a));
  struct sockaddr_in from;
  memset(&from, 0x55, sizeof from);
  socklen_t fl = sizeof from;
  char buf[64];
  long n = recvfrom(c, buf, sizeof buf, 0, (struct sockaddr*)&from, &fl);
  printf("recvfrom on the stream: %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  // writev/readv and sendmsg/recvmsg
  struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
  show("writev 2+0+3", writev(c, iov, 3));
  char r1[2], r2[8];
  struct iovec rv[2] = {{r1, 2}, {r2, 8}};
  wait_for(s, POLLIN, 5000);
  n = readv(s, rv, 2);
  printf("readv: %ld \"%.2s\" \"%.*s\"\n", n, r1, (int)(n > 2 ? n - 2 : 0), r2);
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};
  show("sendmsg", sendmsg(s, &m, 0));
  char mb[16];
  struct iovec miov = {mb, sizeof mb};
  struct msghdr rm = {.msg_iov = &miov, .msg_iovlen = 1};
  n = recvmsg(c, &rm, 0);
  printf("recvmsg: %ld \"%.*s\" flags %d namelen %u\n", n, (int)(n > 0 ? n : 0), mb, rm.msg_flags, rm.msg_namelen);

  // MSG_WAITALL: a forked child writes 30 bytes in three pauses.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 3; i++) {
      sleep_ms(40);
      write(s, "0123456789", 10);
    }
    sleep_ms(40);
    write(s, "abc", 3);
    shutdown(s, SHUT_WR);
    _exit(0);
  }
  char w[64];
  n = recv(c, w, 30, MSG_WAITALL);
  printf("recv MSG_WAITALL 30: %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), w);
  n = recv(c, w, 30, MSG_WAITALL);
  printf("recv MSG_WAITALL 30, peer shuts down after 3: %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), w);
  show("child exit", reap(pid));
  show("recv after the peer's shutdown: EOF", recv(c, w, sizeof w, 0));
  show("recv EOF again", recv(c, w, sizeof w, 0));
  show_poll("poll client after peer's SHUT_WR", c);
  // The half-closed connection still carries data the other way.
  show("send on the half-closed connection", send(c, "still", 5, 0));
  wait_for(s, POLLIN, 5000);
  show_recv("server gets it", s, 64, 0);
  show("shutdown SHUT_WR", shutdown(c, SHUT_WR));
  wait_for(s, POLLIN, 5000);
  show("server reads EOF", recv(s, w, sizeof w, 0));
  show_poll("poll server, both directions shut", s);
  show_poll("poll client, both directions shut", c);
  show("send after SHUT_WR (SIGPIPE ignored)", send(c, "x", 1, MSG_NOSIGNAL));
  show("close client", close(c));
  show("close server", close(s));

  // Connections complete before accept; a second connection is queued too.
  int c1 = socket(AF_INET, SOCK_STREAM, 0), c2 = socket(AF_INET, SOCK_STREAM, 0);
  show("connect #1 before accept", connect(c1, (struct sockaddr*)&a, sizeof a));
  show("connect #2 before accept", connect(c2, (struct sockaddr*)&a, sizeof a));
  show("send before the server accepted", send(c1, "early", 5, 0));
  int s1 = accept(l, NULL, NULL);
  show_ok("accept #1, no address wanted", s1);
  wait_for(s1, POLLIN, 5000);
  show_recv("data sent before accept", s1, 64, 0);
  pl = sizeof peer;
  int s2 = accept(l, (struct sockaddr*)&peer, &pl);
  show_ok("accept #2", s2);
  struct sockaddr_in c2name;
  cl = sizeof c2name;
  getsockname(c2, (struct sockaddr*)&c2name, &cl);
  fact("accept #2 gets client #2", same_addr(&peer, &c2name));
  set_nonblock(l, 1);
  show("accept with nothing queued (non-blocking)", accept(l, NULL, NULL));
  show("connect an already connected socket", connect(c1, (struct sockaddr*)&a, sizeof a));
  show("listen on a connected socket", listen(c1, 1));
  show("accept on a connected socket", accept(c1, NULL, NULL));
  close(c1);
  close(c2);
  close(s1);
  close(s2);
  close(l);

  // A listener on 0.0.0.0 answers 127.0.0.1.
  int wl = tcp_listener(htonl(INADDR_ANY), "wildcard", 0);
  show_name("wildcard listener getsockname", wl, 0);
  c = tcp_connect_to(local_port(wl));
  s = accept(wl, NULL, NULL);
  show_name("accepted from the wildcard listener: getsockname", s, 0);
  show_name("its peer", s, 1);
  close(c);
  close(s);
  close(wl);

  // SHUT_RD: our reads end at once; the peer can still send (the data is dropped or kept).
  tcp_pair(&c, &s);
  show("shutdown SHUT_RD", shutdown(c, SHUT_RD));
  show("recv after SHUT_RD: EOF", recv(c, w, sizeof w, 0));
  show_poll("poll after SHUT_RD", c);
  show("send after our SHUT_RD", send(c, "out", 3, 0));
  wait_for(s, POLLIN, 5000);
  show_recv("the peer gets it", s, 64, 0);
  show("shutdown SHUT_RDWR", shutdown(c, SHUT_RDWR));
  wait_for(s, POLLIN, 5000);
  show("the peer reads EOF", recv(s, w, sizeof w, 0));
  close(c);
  close(s);

  // Refused, reset.
  int cp = closed_port(SOCK_STREAM);
  c = socket(AF_INET, SOCK_STREAM, 0);
  a = sin_of(LOOPBACK, cp);
  show("connect to a port nobody listens on", connect(c, (struct sockaddr*)&a, sizeof a));
  show_opt("SO_ERROR after the refusal", c, SOL_SOCKET, SO_ERROR);
  show("connect again", connect(c, (struct sockaddr*)&a, sizeof a));
  close(c);
  // SO_LINGER {1, 0}: close sends a reset, the peer's recv gets ECONNRESET.
  tcp_pair(&c, &s);
  struct linger lg = {1, 0};
  show("SO_LINGER {1,0}", setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  show("close (sends a reset)", close(c));
  fact("peer sees the reset", wait_for(s, POLLIN, 5000) != 0);
  show_poll("poll after a reset", s);
  show("recv after a reset", recv(s, w, sizeof w, 0));
  show_opt("SO_ERROR after the reset was reported", s, SOL_SOCKET, SO_ERROR);
  show("recv again", recv(s, w, sizeof w, MSG_DONTWAIT));
  close(s);
  // Closing with unread data resets the connection too.
  tcp_pair(&c, &s);
  send(c, "unread", 6, 0);
  wait_for(s, POLLIN, 5000);
  close(s);
  fact("closing with unread data: the peer sees a reset", wait_for(c, POLLIN, 5000) & (POLLHUP | POLLERR));
  show("recv", recv(c, w, sizeof w, 0));
  close(c);
}

// ---------------------------------------------------------------------------------------

static void nonblock_tests(void) {
  printf("== non-blocking connect and I/O\n");
  int l = tcp_listener(LOOPBACK, "server", 0);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = sin_of(LOOPBACK, local_port(l));
  int r = connect(c, (struct sockaddr*)&a, sizeof a);
  // Linux answers EINPROGRESS even over loopback: the handshake is asynchronous.
  show("non-blocking connect", r);
  int ev = wait_for(c, POLLOUT, 5000);
  printf("poll for POLLOUT: %s\n", poll_names(ev & (POLLOUT | POLLERR | POLLHUP)));
  show_opt("SO_ERROR", c, SOL_SOCKET, SO_ERROR);
  show("connect again when connected", connect(c, (struct sockaddr*)&a, sizeof a));
  show_name("getpeername", c, 1);
  int s = accept(l, NULL, NULL);
  show_ok("accept", s);
  show("read, nothing there", read(c, (char[4]){0}, 4));

  // Fill the connection: writes end with EAGAIN; POLLOUT is gone; draining brings it back.
  long total = 0, n;
  static char chunk[65536];
  memset(chunk, 'x', sizeof chunk);
  int64_t deadline = now_ms() + 20000;
  int stalls = 0;
  for (;;) {
    n = send(c, chunk, sizeof chunk, 0);
    if (n > 0) {
      total += n;
      stalls = 0;
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      // Loopback may still be moving data into the peer's receive queue: wait a little.
      if (++stalls >= 3 || now_ms() > deadline) break;
      sleep_ms(50);
      continue;
    }
    break;
  }
  printf("fill until the send fails: -1 %s\n", strerrorname_np(errno));
  fact("more than 64 KiB went in before", total > 65536);
  struct pollfd p = {c, POLLOUT, 0};
  poll(&p, 1, 0);
  fact("POLLOUT gone when full", !(p.revents & POLLOUT));
  // The server drains it all; the writer becomes writable again.
  long got = 0;
  static char sink[65536];
  while (got < total) {
    if (!(wait_for(s, POLLIN, 10000) & POLLIN)) break;
    n = recv(s, sink, sizeof sink, 0);
    if (n <= 0) break;
    got += n;
  }
  fact("the reader got every byte", got == total);
  fact("POLLOUT back after draining", wait_for(c, POLLOUT, 5000) & POLLOUT);

  // Non-blocking connect refused: EINPROGRESS, then POLLERR and SO_ERROR ECONNREFUSED.
  int cp = closed_port(SOCK_STREAM);
  int c2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in b = sin_of(LOOPBACK, cp);
  show("non-blocking connect to a closed port", connect(c2, (struct sockaddr*)&b, sizeof b));
  ev = wait_for(c2, POLLOUT, 5000);
  printf("poll: %s\n", poll_names(ev));
  show_opt("SO_ERROR", c2, SOL_SOCKET, SO_ERROR);
  show_opt("SO_ERROR is cleared by reading it", c2, SOL_SOCKET, SO_ERROR);
  close(c2);

  // A second non-blocking connect while the first is in progress: EALREADY (or done: EISCONN).
  int c3 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  r = connect(c3, (struct sockaddr*)&a, sizeof a);
  int e = errno;
  r = connect(c3, (struct sockaddr*)&a, sizeof a);
  // The second call races with the handshake: EALREADY while it runs, 0 once it is done.
  int second_was_ealready = r < 0 && errno == EALREADY;
  printf("connect twice, non-blocking: first %s, second %s\n", strerrorname_np(e),
         second_was_ealready || r == 0 ? "EALREADY or 0" : strerrorname_np(errno));
  wait_for(c3, POLLOUT, 5000);
  // Linux reports the completed connection once, to the first connect() after EALREADY;
  // whether the second call above saw the handshake done depends on timing.
  r = connect(c3, (struct sockaddr*)&a, sizeof a);
  printf("connect once connected: %s\n",
         (r < 0 && errno == EISCONN) || (r == 0 && second_was_ealready) ? "EISCONN (0 just after EALREADY)"
                                                                         : r == 0 ? "0" : strerrorname_np(errno));
  int s3 = accept(l, NULL, NULL);
  close(c3);
  close(s3);
  close(c);
  close(s);
  close(l);
}

// ---------------------------------------------------------------------------------------

static void readiness_tests(void) {
  printf("== readiness: poll, select, epoll\n");
  int l = tcp_listener(LOOPBACK, "server", SOCK_NONBLOCK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e = {.events = EPOLLIN, .data.u32 = 1}, out[4];
  show("epoll_ctl ADD listener", epoll_ctl(ep, EPOLL_CTL_ADD, l, &e));
  show("epoll_wait, nobody connecting", epoll_wait(ep, out, 4, 0));
  int c = tcp_connect_to(local_port(l));
  int n = epoll_wait(ep, out, 4, 5000);
  printf("epoll_wait after a connect: %d data %u %s\n", n, n > 0 ? out[0].data.u32 : 0, n > 0 ? epoll_names(out[0].events) : "-");
  int s = accept(l, NULL, NULL);
  show_ok("accept", s);
  show("epoll_wait after accepting the only connection", epoll_wait(ep, out, 4, 0));

  e.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  e.data.u32 = 2;
  show("epoll_ctl ADD accepted socket, edge-triggered", epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
  show("epoll_wait, no data", epoll_wait(ep, out, 4, 0));
  show_poll("poll, no data", s);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(s, &rs);
  struct timeval tv = {0, 0};
  show("select readable, no data", select(s + 1, &rs, NULL, NULL, &tv));

  send(c, "ping", 4, 0);
  n = epoll_wait(ep, out, 4, 5000);
  printf("epoll_wait after the peer wrote: %d data %u %s\n", n, n > 0 ? out[0].data.u32 : 0, n > 0 ? epoll_names(out[0].events) : "-");
  show("epoll_wait again (edge already reported)", epoll_wait(ep, out, 4, 0));
  show_poll("poll after the peer wrote", s);
  FD_ZERO(&rs);
  FD_SET(s, &rs);
  tv = (struct timeval){1, 0};
  show("select readable", select(s + 1, &rs, NULL, NULL, &tv));
  fact("select marks the socket", FD_ISSET(s, &rs));
  fd_set ws;
  FD_ZERO(&ws);
  FD_SET(s, &ws);
  tv = (struct timeval){1, 0};
  show("select writable", select(s + 1, NULL, &ws, NULL, &tv));
  send(c, "pong", 4, 0);
  n = epoll_wait(ep, out, 4, 5000);
  printf("epoll_wait after more data (new edge): %d %s\n", n, n > 0 ? epoll_names(out[0].events) : "-");
  show_recv("recv both", s, 64, 0);
  show_poll("poll after reading everything", s);

  // Level-triggered EPOLLOUT on the client.
  int ep2 = epoll_create1(0);
  e.events = EPOLLOUT;
  e.data.u32 = 3;
  epoll_ctl(ep2, EPOLL_CTL_ADD, c, &e);
  n = epoll_wait(ep2, out, 4, 1000);
  printf("epoll_wait EPOLLOUT on an idle connection: %d %s\n", n, n > 0 ? epoll_names(out[0].events) : "-");
  e.events = EPOLLIN;
  show("epoll_ctl MOD to EPOLLIN", epoll_ctl(ep2, EPOLL_CTL_MOD, c, &e));
  show("epoll_wait EPOLLIN, nothing to read", epoll_wait(ep2, out, 4, 0));

  // A blocked poll is woken by the peer in another process.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(100);
    send(s, "wake", 4, 0);
    _exit(0);
  }
  struct pollfd p = {c, POLLIN, 0};
  n = poll(&p, 1, 10000);
  printf("poll blocked until the other process wrote: %d %s\n", n, poll_names(p.revents));
  reap(pid);
  show_recv("recv", c, 64, 0);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    sleep_ms(100);
    send(s, "epoll", 5, 0);
    _exit(0);
  }
  n = epoll_wait(ep2, out, 4, 10000);
  printf("epoll_wait blocked until the other process wrote: %d %s\n", n, n > 0 ? epoll_names(out[0].events) : "-");
  reap(pid);
  show_recv("recv", c, 64, 0);

  // The peer shuts down its sending side, then closes.
  shutdown(c, SHUT_WR);
  n = epoll_wait(ep, out, 4, 5000);
  printf("epoll_wait after the peer's SHUT_WR: %d %s\n", n, n > 0 ? epoll_names(out[0].events) : "-");
  show_poll("poll after the peer's SHUT_WR", s);
  show("recv: EOF", recv(s, (char[8]){0}, 8, 0));
  close(c);
  sleep_ms(50);
  show_poll("poll after the peer closed too", s);
  // Writing to a closed peer: accepted, then the peer answers with a reset.
  show("send to the closed peer", send(s, "x", 1, MSG_NOSIGNAL));
  wait_for(s, POLLERR | POLLHUP, 5000);
  show_poll("poll after the reset", s);
  n = epoll_wait(ep, out, 4, 5000);
  printf("epoll_wait after the reset: %d %s\n", n, n > 0 ? epoll_names(out[0].events) : "-");
  show("epoll_ctl DEL", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
  show("epoll_ctl DEL again", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
  close(s);
  close(ep);
  close(ep2);
  close(l);
}

// ---------------------------------------------------------------------------------------

static void options_tests(void) {
  printf("== options\n");
  int c, s;
  tcp_pair(&c, &s);
  show_flag("TCP_NODELAY default", c, IPPROTO_TCP, TCP_NODELAY);
  show("set TCP_NODELAY", set_int(c, IPPROTO_TCP, TCP_NODELAY, 1));
  show_flag("TCP_NODELAY", c, IPPROTO_TCP, TCP_NODELAY);
  show("clear TCP_NODELAY", set_int(c, IPPROTO_TCP, TCP_NODELAY, 0));
  show_flag("TCP_NODELAY", c, IPPROTO_TCP, TCP_NODELAY);
  show_flag("SO_KEEPALIVE default", c, SOL_SOCKET, SO_KEEPALIVE);
  show("set SO_KEEPALIVE", set_int(c, SOL_SOCKET, SO_KEEPALIVE, 1));
  show_flag("SO_KEEPALIVE", c, SOL_SOCKET, SO_KEEPALIVE);
  show("set TCP_KEEPIDLE 30", set_int(c, IPPROTO_TCP, TCP_KEEPIDLE, 30));
  show_opt("TCP_KEEPIDLE", c, IPPROTO_TCP, TCP_KEEPIDLE);
  show("set TCP_KEEPINTVL 5", set_int(c, IPPROTO_TCP, TCP_KEEPINTVL, 5));
  show_opt("TCP_KEEPINTVL", c, IPPROTO_TCP, TCP_KEEPINTVL);
  show("set TCP_KEEPCNT 4", set_int(c, IPPROTO_TCP, TCP_KEEPCNT, 4));
  show_opt("TCP_KEEPCNT", c, IPPROTO_TCP, TCP_KEEPCNT);
  show_flag("SO_REUSEADDR default", c, SOL_SOCKET, SO_REUSEADDR);
  show("set SO_REUSEADDR", set_int(c, SOL_SOCKET, SO_REUSEADDR, 1));
  show_flag("SO_REUSEADDR", c, SOL_SOCKET, SO_REUSEADDR);
  show("set SO_RCVBUF 64K", set_int(c, SOL_SOCKET, SO_RCVBUF, 65536));
  fact("SO_RCVBUF now at least 64K", get_int(c, SOL_SOCKET, SO_RCVBUF) >= 65536);
  show("set SO_SNDBUF 64K", set_int(c, SOL_SOCKET, SO_SNDBUF, 65536));
  fact("SO_SNDBUF now at least 64K", get_int(c, SOL_SOCKET, SO_SNDBUF) >= 65536);
  fact("SO_RCVBUF of the other end positive", get_int(s, SOL_SOCKET, SO_RCVBUF) > 0);
  show_opt("SO_TYPE", c, SOL_SOCKET, SO_TYPE);
  show_opt("SO_ERROR", c, SOL_SOCKET, SO_ERROR);
  show_flag("SO_BROADCAST default", c, SOL_SOCKET, SO_BROADCAST);
  show_flag("SO_OOBINLINE default", c, SOL_SOCKET, SO_OOBINLINE);
  struct linger lg = {7, 7};
  socklen_t ll = sizeof lg;
  show("get SO_LINGER", getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &ll));
  printf("SO_LINGER default: onoff %d linger %d len %u\n", lg.l_onoff, lg.l_linger, ll);
  lg = (struct linger){1, 5};
  setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  lg = (struct linger){7, 7};
  getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &ll);
  printf("SO_LINGER after setting {1,5}: onoff %d linger %d\n", lg.l_onoff, lg.l_linger);
  show_opt("IP_TTL default", c, IPPROTO_IP, IP_TTL);
  show("set IP_TTL 33", set_int(c, IPPROTO_IP, IP_TTL, 33));
  show_opt("IP_TTL", c, IPPROTO_IP, IP_TTL);
  show("set IP_TOS 0x10", set_int(c, IPPROTO_IP, IP_TOS, 0x10));
  show_opt("IP_TOS", c, IPPROTO_IP, IP_TOS);
  fact("TCP_MAXSEG positive", get_int(c, IPPROTO_TCP, TCP_MAXSEG) > 0);
  struct tcp_info ti;
  socklen_t til = sizeof ti;
  memset(&ti, 0, sizeof ti);
  show("get TCP_INFO", getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &til));
  printf("TCP_INFO state is ESTABLISHED: %s\n", ti.tcpi_state == 1 ? "yes" : "no");
  show("getsockopt unknown SOL_SOCKET option", getsockopt(c, SOL_SOCKET, 9999, (int[1]){0}, (socklen_t[1]){4}));
  show("getsockopt unknown TCP option", getsockopt(c, IPPROTO_TCP, 9999, (int[1]){0}, (socklen_t[1]){4}));
  show("getsockopt unknown level", getsockopt(c, 9999, 1, (int[1]){0}, (socklen_t[1]){4}));
  show("setsockopt optlen 1 for an int", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, "\1", 1));
  show("setsockopt TCP_NODELAY optlen 2", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, "\1\0", 2));
  show("setsockopt bad pointer", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, (void*)8, 4));
  show("getsockopt bad pointer", getsockopt(c, SOL_SOCKET, SO_TYPE, (void*)8, (socklen_t[1]){4}));
  show("getsockopt negative length", getsockopt(c, SOL_SOCKET, SO_TYPE, (int[1]){0}, (socklen_t[1]){-1}));
  // SO_RCVTIMEO: a blocking recv gives up with EAGAIN.
  struct timeval tv = {0, 200000};
  show("set SO_RCVTIMEO 200 ms", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  memset(&tv, 0, sizeof tv);
  socklen_t tl = sizeof tv;
  getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl);
  printf("SO_RCVTIMEO: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
  int64_t t0 = now_ms();
  show("recv with SO_RCVTIMEO and nothing coming", recv(c, (char[4]){0}, 4, 0));
  fact("it waited about 200 ms", now_ms() - t0 >= 150);
  close(c);
  close(s);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  show("UDP: TCP_NODELAY", set_int(u, IPPROTO_TCP, TCP_NODELAY, 1));
  close(u);
}

// ---------------------------------------------------------------------------------------

static void reuse_tests(void) {
  printf("== address reuse\n");
  // The listener has SO_REUSEADDR: a TIME_WAIT it leaves only yields to another such socket.
  int l = socket(AF_INET, SOCK_STREAM, 0);
  show("set SO_REUSEADDR on the listener", set_int(l, SOL_SOCKET, SO_REUSEADDR, 1));
  struct sockaddr_in lz = sin_of(LOOPBACK, 0);
  if (bind(l, (struct sockaddr*)&lz, sizeof lz) < 0 || listen(l, 4) < 0) die("listener");
  int port = local_port(l);
  name_port(port, "server");
  struct sockaddr_in a = sin_of(LOOPBACK, port);
  int b = socket(AF_INET, SOCK_STREAM, 0);
  show("bind the listening port again", bind(b, (struct sockaddr*)&a, sizeof a));
  set_int(b, SOL_SOCKET, SO_REUSEADDR, 1);
  show("... with SO_REUSEADDR (still EADDRINUSE: it listens)", bind(b, (struct sockaddr*)&a, sizeof a));
  struct sockaddr_in any = sin_of(htonl(INADDR_ANY), port);
  int b2 = socket(AF_INET, SOCK_STREAM, 0);
  show("bind 0.0.0.0 on the port 127.0.0.1 listens on", bind(b2, (struct sockaddr*)&any, sizeof any));
  close(b2);
  close(b);
  int x = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in z = sin_of(LOOPBACK, 0);
  show("bind", bind(x, (struct sockaddr*)&z, sizeof z));
  show("bind the same socket twice", bind(x, (struct sockaddr*)&z, sizeof z));
  close(x);

  // Two sockets with SO_REUSEADDR bound to one port: fine until one of them listens.
  int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
  set_int(r1, SOL_SOCKET, SO_REUSEADDR, 1);
  set_int(r2, SOL_SOCKET, SO_REUSEADDR, 1);
  show("SO_REUSEADDR socket #1: bind", bind(r1, (struct sockaddr*)&z, sizeof z));
  struct sockaddr_in rz = sin_of(LOOPBACK, local_port(r1));
  show("SO_REUSEADDR socket #2: bind the same port", bind(r2, (struct sockaddr*)&rz, sizeof rz));
  show("#1 listens", listen(r1, 1));
  show("#2 listens too", listen(r2, 1));
  close(r1);
  close(r2);

  // The server closes first: its port stays in TIME_WAIT. A new listener needs SO_REUSEADDR.
  int c = tcp_connect_to(port);
  int s = accept(l, NULL, NULL);
  close(l);
  close(s);
  wait_for(c, POLLIN, 5000);
  show("client reads EOF", recv(c, (char[4]){0}, 4, 0));
  close(c);
  sleep_ms(50);
  int n1 = socket(AF_INET, SOCK_STREAM, 0);
  show("bind the port of a closed server (TIME_WAIT) without SO_REUSEADDR", bind(n1, (struct sockaddr*)&a, sizeof a));
  close(n1);
  int n2 = socket(AF_INET, SOCK_STREAM, 0);
  set_int(n2, SOL_SOCKET, SO_REUSEADDR, 1);
  show("... with SO_REUSEADDR", bind(n2, (struct sockaddr*)&a, sizeof a));
  show("listen", listen(n2, 4));
  c = tcp_connect_to(port);
  s = accept(n2, NULL, NULL);
  show_ok("the new listener accepts", s);
  close(c);
  close(s);
  close(n2);
}

// ---------------------------------------------------------------------------------------
// 8 MiB from a child to its parent and 1 MiB back at the same time, over one connection.

static uint8_t pattern[65521];
static void make_pattern(void) {
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < sizeof pattern; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pattern[i] = (uint8_t)x;
  }
}
static uint8_t byte_at(uint64_t k, unsigned salt) { return pattern[k % sizeof pattern] ^ (uint8_t)(k >> 16) ^ salt; }

static uint64_t fnv(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

struct flow { uint64_t sent, received, hash_in, bad_bytes; };

// Sends `total` bytes (pattern with salt `out_salt`) while reading until EOF and checking the
// other side's pattern (salt `in_salt`). Non-blocking, with poll.
static int pump(int fd, uint64_t total, unsigned out_salt, unsigned in_salt, struct flow* f) {
  static uint8_t buf[200000], rbuf[131072];
  set_nonblock(fd, 1);
  f->sent = f->received = f->bad_bytes = 0;
  f->hash_in = 1469598103934665603ull;
  int eof = 0, shut = 0;
  unsigned step = 0;
  int64_t deadline = now_ms() + 240000;
  while (!eof || !shut) {
    if (now_ms() > deadline) return -1;
    struct pollfd p = {fd, (short)((eof ? 0 : POLLIN) | (shut ? 0 : POLLOUT)), 0};
    if (poll(&p, 1, 10000) < 0 && errno != EINTR) return -1;
    if (p.revents & (POLLERR | POLLNVAL)) return -1;
    if (!shut && (p.revents & POLLOUT)) {
      size_t want = 1 + (step++ * 40503u) % 150000;  // varying sizes, 1 byte .. 146 KiB
      if (want > total - f->sent) want = total - f->sent;
      for (size_t i = 0; i < want; i++) buf[i] = byte_at(f->sent + i, out_salt);
      long n = send(fd, buf, want, 0);
      if (n > 0) f->sent += n;
      else if (n < 0 && errno != EAGAIN) return -1;
      if (f->sent == total) {
        shutdown(fd, SHUT_WR);
        shut = 1;
      }
    }
    if (!eof && (p.revents & (POLLIN | POLLHUP))) {
      size_t want = 1 + (step * 7919u) % sizeof rbuf;
      long n = recv(fd, rbuf, want, 0);
      if (n == 0) eof = 1;
      else if (n > 0) {
        for (long i = 0; i < n; i++)
          if (rbuf[i] != byte_at(f->received + i, in_salt)) f->bad_bytes++;
        f->hash_in = fnv(f->hash_in, rbuf, n);
        f->received += n;
      } else if (errno != EAGAIN) return -1;
    }
  }
  return 0;
}

static void transfer_tests(void) {
  printf("== transfer: 8 MiB and 1 MiB at the same time between two processes\n");
  make_pattern();
  const uint64_t big = 8 << 20, small = 1 << 20;
  int l = tcp_listener(LOOPBACK, "server", 0);
  int pfd[2];
  pipe(pfd);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(pfd[0]);
    int c = tcp_connect_to(local_port(l));
    struct flow f;
    int r = pump(c, big, 0x5a, 0xa5, &f);
    struct { int r; struct flow f; } msg = {r, f};
    write(pfd[1], &msg, sizeof msg);
    _exit(0);
  }
  close(pfd[1]);
  int s = accept(l, NULL, NULL);
  struct flow f;
  int r = pump(s, small, 0xa5, 0x5a, &f);
  struct { int r; struct flow f; } child;
  memset(&child, 0, sizeof child);
  read(pfd[0], &child, sizeof child);
  show("child exit", reap(pid));
  show("parent pump", r);
  show("child pump", child.r);
  printf("parent received %llu bytes, %llu wrong\n", (unsigned long long)f.received, (unsigned long long)f.bad_bytes);
  printf("child received %llu bytes, %llu wrong\n", (unsigned long long)child.f.received, (unsigned long long)child.f.bad_bytes);
  fact("parent sent everything", f.sent == small);
  fact("child sent everything", child.f.sent == big);
  // The hash of what the child sent, computed here from the pattern, equals what arrived.
  uint64_t h = 1469598103934665603ull;
  static uint8_t blk[65536];
  for (uint64_t k = 0; k < big; k += sizeof blk) {
    for (size_t i = 0; i < sizeof blk; i++) blk[i] = byte_at(k + i, 0x5a);
    h = fnv(h, blk, sizeof blk);
  }
  fact("checksum of the 8 MiB equal", h == f.hash_in);
  close(s);
  close(pfd[0]);
  close(l);
}

// ---------------------------------------------------------------------------------------

static int after_exec(char** argv) {
  int keep = atoi(argv[2]), gone = atoi(argv[3]);
  fact("exec: the inherited socket is open", fcntl(keep, F_GETFD) == 0);
  fact("exec: the close-on-exec socket is closed", fcntl(gone, F_GETFD) < 0 && errno == EBADF);
  struct stat st;
  fstat(keep, &st);
  fact("exec: fstat says S_IFSOCK", S_ISSOCK(st.st_mode));
  show_opt("exec: SO_TYPE", keep, SOL_SOCKET, SO_TYPE);
  show_opt("exec: SO_DOMAIN", keep, SOL_SOCKET, SO_DOMAIN);
  name_port(atoi(argv[4]), "server");
  show_name("exec: getpeername", keep, 1);
  char buf[64];
  long n = recv(keep, buf, sizeof buf, 0);
  printf("exec: recv what the parent sent before exec: %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  fflush(stdout);
  write(keep, "from the new image", 18);
  return 0;
}

static void exec_tests(void) {
  printf("== fork and exec\n");
  int l = tcp_listener(LOOPBACK, "server", 0);
  int port = local_port(l);
  int c = tcp_connect_to(port);
  int s = accept(l, NULL, NULL);
  int cx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  send(s, "before exec", 11, 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char a[16], b[16], p[16];
    snprintf(a, sizeof a, "%d", c);
    snprintf(b, sizeof b, "%d", cx);
    snprintf(p, sizeof p, "%d", port);
    execl(self_exe, self_exe, "after_exec", a, b, p, (char*)NULL);
    printf("exec %s: %s\n", self_exe, strerrorname_np(errno));
    _exit(127);
  }
  show("exec'd child status", reap(pid));
  wait_for(s, POLLIN, 5000);
  show_recv("message from the exec'd program", s, 64, MSG_DONTWAIT);
  // After fork both processes hold the connection: EOF only when every copy is closed.
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    sleep_ms(100);
    send(c, "child's copy", 12, 0);
    _exit(0);
  }
  close(c);
  show_recv("the child's copy still writes", s, 64, 0);
  reap(pid);
  wait_for(s, POLLIN, 5000);
  show("EOF once every copy is closed", recv(s, (char[8]){0}, 8, 0));
  // A listener shared with a child: the child accepts.
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    int a = accept(l, NULL, NULL);
    send(a, "accepted by the child", 21, 0);
    close(a);
    _exit(0);
  }
  int c2 = tcp_connect_to(port);
  wait_for(c2, POLLIN, 5000);
  show_recv("a child accepted on the inherited listener", c2, 64, 0);
  show("child exit", reap(pid));
  close(c2);
  close(s);
  close(cx);
  close(l);
}

// ---------------------------------------------------------------------------------------

static void sigpipe_tests(void) {
  printf("== EPIPE and SIGPIPE\n");
  int c, s;
  char b[8];
  tcp_pair(&c, &s);
  close(s);
  wait_for(c, POLLIN, 5000);
  show("peer closed: recv gives EOF", recv(c, b, sizeof b, 0));
  signal(SIGPIPE, SIG_IGN);
  show("first send to the closed peer is accepted", send(c, "lost", 4, 0));
  wait_for(c, POLLERR | POLLHUP, 5000);
  show_poll("poll after the peer's reset", c);
  show("send again, SIGPIPE ignored", send(c, "x", 1, 0));
  show("write, SIGPIPE ignored", write(c, "x", 1));
  show("recv", recv(c, b, sizeof b, 0));
  close(c);
  // A handler: SIGPIPE delivered once per failing write; MSG_NOSIGNAL suppresses it.
  struct sigaction sa = {.sa_handler = on_sigpipe};
  sigaction(SIGPIPE, &sa, NULL);
  tcp_pair(&c, &s);
  shutdown(c, SHUT_WR);
  sigpipes = 0;
  show("send after our own SHUT_WR", send(c, "x", 1, 0));
  show("SIGPIPEs", sigpipes);
  show("send MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
  show("SIGPIPEs", sigpipes);
  show("write", write(c, "x", 1));
  show("SIGPIPEs", sigpipes);
  close(c);
  close(s);
  // Default action: the writer dies of SIGPIPE.
  tcp_pair(&c, &s);
  shutdown(c, SHUT_WR);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    write(c, "x", 1);
    _exit(0);
  }
  show("child writing with SIGPIPE at default: status (128+13)", reap(pid));
  close(c);
  close(s);
  signal(SIGPIPE, SIG_DFL);
}

// ---------------------------------------------------------------------------------------

static void udp_tests(void) {
  printf("== udp\n");
  int r = socket(AF_INET, SOCK_DGRAM, 0);
  show_ok("socket", r);
  if (r < 0) exit(1);
  show_opt("SO_TYPE is SOCK_DGRAM", r, SOL_SOCKET, SO_TYPE);
  show_opt("SO_PROTOCOL", r, SOL_SOCKET, SO_PROTOCOL);
  struct sockaddr_in a = sin_of(LOOPBACK, 0);
  show("bind 127.0.0.1:0", bind(r, (struct sockaddr*)&a, sizeof a));
  int rport = local_port(r);
  name_port(rport, "receiver");
  show_name("getsockname", r, 0);
  show_name("getpeername", r, 1);
  show("recv on empty, MSG_DONTWAIT", recv(r, (char[4]){0}, 4, MSG_DONTWAIT));
  set_nonblock(r, 1);
  show("recv on empty non-blocking", recv(r, (char[4]){0}, 4, 0));
  set_nonblock(r, 0);
  show_poll("poll empty", r);

  int s = socket(AF_INET, SOCK_DGRAM, 0);
  show_name("sender before sending", s, 0);
  struct sockaddr_in to = sin_of(LOOPBACK, rport);
  show("sendto one", sendto(s, "one", 3, 0, (struct sockaddr*)&to, sizeof to));
  show_name("sender after sending: autobound", s, 0);
  struct sockaddr_in sname;
  socklen_t sl = sizeof sname;
  getsockname(s, (struct sockaddr*)&sname, &sl);
  show("sendto two", sendto(s, "two", 3, 0, (struct sockaddr*)&to, sizeof to));
  show("sendto three", sendto(s, "three", 5, 0, (struct sockaddr*)&to, sizeof to));
  show("sendto empty", sendto(s, "", 0, 0, (struct sockaddr*)&to, sizeof to));
  wait_for(r, POLLIN, 5000);
  show_poll("poll with datagrams queued", r);
  int avail = -1;
  ioctl(r, FIONREAD, &avail);
  show("FIONREAD (first datagram)", avail);
  char buf[128];
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  long n = recvfrom(r, buf, sizeof buf, MSG_PEEK, (struct sockaddr*)&from, &fl);
  printf("recvfrom MSG_PEEK: %ld \"%.*s\" from %s\n", n, (int)(n > 0 ? n : 0), buf, addr_str(&from, fl));
  fact("from the sender's port (it is bound to 0.0.0.0)", from.sin_port == sname.sin_port);
  for (int i = 0; i < 4; i++) {
    wait_for(r, POLLIN, 5000);
    fl = sizeof from;
    n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr*)&from, &fl);
    printf("recvfrom: %ld \"%.*s\" from %s\n", n, (int)(n > 0 ? n : 0), buf, addr_str(&from, fl));
  }
  show("nothing left", recv(r, buf, sizeof buf, MSG_DONTWAIT));

  // Truncation: a short read drops the rest; MSG_TRUNC reports the real length.
  char big[100];
  memset(big, 'D', sizeof big);
  sendto(s, big, 100, 0, (struct sockaddr*)&to, sizeof to);
  sendto(s, big, 100, 0, (struct sockaddr*)&to, sizeof to);
  sendto(s, "after", 5, 0, (struct sockaddr*)&to, sizeof to);
  wait_for(r, POLLIN, 5000);
  struct iovec iov = {buf, 10};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  n = recvmsg(r, &m, 0);
  printf("recvmsg 10 of 100: %ld, MSG_TRUNC in msg_flags: %s\n", n, (m.msg_flags & MSG_TRUNC) ? "yes" : "no");
  wait_for(r, POLLIN, 5000);
  show("recv 10 with MSG_TRUNC gives the real length", recv(r, buf, 10, MSG_TRUNC));
  wait_for(r, POLLIN, 5000);
  show_recv("the next datagram is intact", r, 64, 0);

  // Sizes: the largest IPv4 UDP payload, and one byte more.
  static char huge[65536];
  memset(huge, 'h', sizeof huge);
  int bufsz = 1 << 20;
  setsockopt(r, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
  show("sendto 65507 bytes", sendto(s, huge, 65507, 0, (struct sockaddr*)&to, sizeof to));
  show("sendto 65508 bytes", sendto(s, huge, 65508, 0, (struct sockaddr*)&to, sizeof to));
  wait_for(r, POLLIN, 5000);
  show("recv the 65507", recv(r, huge, sizeof huge, 0));

  // Connected UDP: send/recv without addresses; other senders are filtered out.
  int c = socket(AF_INET, SOCK_DGRAM, 0);
  show("connect", connect(c, (struct sockaddr*)&to, sizeof to));
  show_name("connected getpeername", c, 1);
  show_name("connected getsockname", c, 0);
  show("send on the connected socket", send(c, "conn", 4, 0));
  wait_for(r, POLLIN, 5000);
  fl = sizeof from;
  n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr*)&from, &fl);
  printf("receiver got: %ld \"%.*s\"\n", n, (int)(n > 0 ? n : 0), buf);
  struct sockaddr_in cname;
  socklen_t cl = sizeof cname;
  getsockname(c, (struct sockaddr*)&cname, &cl);
  name_port(ntohs(cname.sin_port), "connected");
  show("reply to the connected socket", sendto(r, "reply", 5, 0, (struct sockaddr*)&from, fl));
  wait_for(c, POLLIN, 5000);
  show_recv("recv on the connected socket", c, 64, 0);
  show("a third socket sends to the connected one", sendto(s, "stranger", 8, 0, (struct sockaddr*)&cname, sizeof cname));
  sleep_ms(100);
  show("not delivered: recv", recv(c, buf, sizeof buf, MSG_DONTWAIT));
  show("sendto another address on a connected socket", sendto(c, "x", 1, 0, (struct sockaddr*)&sname, sizeof sname));
  wait_for(s, POLLIN, 5000);
  show_recv("it goes there", s, 64, 0);
  struct sockaddr unspec = {.sa_family = AF_UNSPEC};
  show("connect AF_UNSPEC disconnects", connect(c, &unspec, sizeof unspec));
  show_name("getpeername after disconnecting", c, 1);
  show("send without an address now", send(c, "x", 1, 0));
  show("sendto unbound, no address", send(socket(AF_INET, SOCK_DGRAM, 0), "x", 1, 0));

  // A connected socket to a closed port learns ECONNREFUSED from the ICMP port unreachable.
  int cp = closed_port(SOCK_DGRAM);
  int d = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in dead = sin_of(LOOPBACK, cp);
  connect(d, (struct sockaddr*)&dead, sizeof dead);
  show("send to a closed port", send(d, "anyone?", 7, 0));
  int ev = wait_for(d, POLLIN, 5000);
  printf("poll: %s\n", poll_names(ev));
  show("recv reports", recv(d, buf, sizeof buf, MSG_DONTWAIT));
  show("recv again", recv(d, buf, sizeof buf, MSG_DONTWAIT));
  close(d);

  // Between two processes: a forked echo server.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < 3; i++) {
      fl = sizeof from;
      n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr*)&from, &fl);
      for (long j = 0; j < n; j++) buf[j] = buf[j] >= 'a' && buf[j] <= 'z' ? buf[j] - 32 : buf[j];
      sendto(r, buf, n, 0, (struct sockaddr*)&from, fl);
    }
    _exit(0);
  }
  const char* words[] = {"alpha", "beta", "gamma"};
  for (int i = 0; i < 3; i++) {
    sendto(s, words[i], strlen(words[i]), 0, (struct sockaddr*)&to, sizeof to);
    if (wait_for(s, POLLIN, 5000) & POLLIN) show_recv("echo from the child", s, 64, 0);
    else printf("echo from the child: timeout\n");
  }
  show("child exit", reap(pid));

  // Binding a taken UDP port fails; SO_REUSEADDR on both allows it.
  int t = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in ra = sin_of(LOOPBACK, rport);
  show("bind the receiver's port", bind(t, (struct sockaddr*)&ra, sizeof ra));
  close(t);
  close(r);
  close(s);
  close(c);
}

// ---------------------------------------------------------------------------------------

static void error_tests(void) {
  printf("== errors\n");
  show("socket SOCK_STREAM IPPROTO_UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
  show("socket SOCK_DGRAM IPPROTO_TCP", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
  show("socket SOCK_SEQPACKET", socket(AF_INET, SOCK_SEQPACKET, 0));
  show("socket type 9", socket(AF_INET, 9, 0));
  show("socket bad flags", socket(AF_INET, SOCK_STREAM | 0x1000, 0));
  int t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  show_ok("socket SOCK_STREAM IPPROTO_TCP", t);
  close(t);
  t = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  show_ok("socket SOCK_DGRAM IPPROTO_UDP", t);
  close(t);
  show("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, (int[2]){0}));

  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = sin_of(LOOPBACK, 0);
  show("bind addrlen 15", bind(s, (struct sockaddr*)&a, 15));
  show("bind addrlen 0", bind(s, (struct sockaddr*)&a, 0));
  show("bind addrlen -1", bind(s, (struct sockaddr*)&a, (socklen_t)-1));
  show("bind bad pointer", bind(s, (struct sockaddr*)8, sizeof a));
  struct sockaddr_in fam = a;
  fam.sin_family = AF_UNIX;
  show("bind AF_UNIX address to an AF_INET socket", bind(s, (struct sockaddr*)&fam, sizeof fam));
  fam.sin_family = AF_UNSPEC;
  show("bind AF_UNSPEC 127.0.0.1", bind(s, (struct sockaddr*)&fam, sizeof fam));
  struct sockaddr_in nonlocal = sin_of(inet_addr("192.0.2.1"), 0);
  show("bind a non-local address", bind(s, (struct sockaddr*)&nonlocal, sizeof nonlocal));
  fam = sin_of(htonl(INADDR_ANY), 0);
  fam.sin_family = AF_UNSPEC;
  show("bind AF_UNSPEC 0.0.0.0 (accepted as AF_INET)", bind(s, (struct sockaddr*)&fam, sizeof fam));
  show_name("and it is bound", s, 0);
  close(s);

  s = socket(AF_INET, SOCK_STREAM, 0);
  int cp = closed_port(SOCK_STREAM);
  a = sin_of(LOOPBACK, cp);
  show("connect addrlen 15", connect(s, (struct sockaddr*)&a, 15));
  show("connect bad pointer", connect(s, (struct sockaddr*)8, sizeof a));
  fam = a;
  fam.sin_family = AF_UNIX;
  show("connect AF_UNIX address", connect(s, (struct sockaddr*)&fam, sizeof fam));
  show("recv unconnected", recv(s, (char[4]){0}, 4, 0));
  show("send unconnected (SIGPIPE ignored)", send(s, "x", 1, MSG_NOSIGNAL));
  show("shutdown unconnected", shutdown(s, SHUT_RDWR));
  show("shutdown bad how", shutdown(s, 7));
  show("accept not listening", accept(s, NULL, NULL));
  struct sockaddr_in o;
  socklen_t ol = 4;
  memset(&o, 0, sizeof o);
  struct sockaddr_in b = sin_of(LOOPBACK, 0);
  bind(s, (struct sockaddr*)&b, sizeof b);
  show("getsockname into a 4-byte buffer", getsockname(s, (struct sockaddr*)&o, &ol));
  printf("  length reported %u, family %d, port copied: %s, rest untouched: %s\n", ol, o.sin_family,
         o.sin_port ? "yes" : "no", o.sin_addr.s_addr == 0 ? "yes" : "no");
  ol = (socklen_t)-1;
  show("getsockname negative length", getsockname(s, (struct sockaddr*)&o, &ol));
  show("getsockname bad pointer", getsockname(s, (struct sockaddr*)8, (socklen_t[1]){16}));
  show("getsockname bad length pointer", getsockname(s, (struct sockaddr*)&o, (socklen_t*)8));
  close(s);

  int c, srv;
  tcp_pair(&c, &srv);
  show("send bad buffer", send(c, (char*)8, 4, 0));
  send(c, "data", 4, 0);
  wait_for(srv, POLLIN, 5000);
  show("recv into a bad buffer", recv(srv, (char*)8, 4, 0));
  show_recv("the data is still there", srv, 64, MSG_DONTWAIT);
  close(c);
  close(srv);

  int u = socket(AF_INET, SOCK_DGRAM, 0);
  show("listen on UDP", listen(u, 1));
  show("accept on UDP", accept(u, NULL, NULL));
  struct sockaddr_in to = sin_of(LOOPBACK, cp);
  show("sendto addrlen 8", sendto(u, "x", 1, 0, (struct sockaddr*)&to, 8));
  to.sin_family = AF_UNIX;
  show("sendto wrong family", sendto(u, "x", 1, 0, (struct sockaddr*)&to, sizeof to));
  show("sendto bad address pointer", sendto(u, "x", 1, 0, (struct sockaddr*)8, sizeof to));
  close(u);
  int nul = open("/dev/null", O_RDONLY);
  show("getsockname on /dev/null", getsockname(nul, (struct sockaddr*)&o, (socklen_t[1]){16}));
  close(nul);
  show("send on a bad fd", send(999, "x", 1, 0));
}

// ---------------------------------------------------------------------------------------

static uint16_t icmp_sum(const void* data, size_t len) {
  const uint8_t* p = data;
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)p[i] << 8 | p[i + 1];
  if (len & 1) sum += (uint32_t)p[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

static void icmp_tests(void) {
  printf("== icmp echo to 127.0.0.1\n");
  struct sockaddr_in to = sin_of(LOOPBACK, 0);
  uint8_t pkt[64], buf[256];
  const char payload[] = "um-icmp-payload";
  // Raw socket (root): we build the header; replies arrive with their IP header.
  int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  show_ok("raw socket", r);
  if (r >= 0) {
    uint16_t id = (uint16_t)(getpid() ^ 0x5555);
    struct icmphdr* h = (struct icmphdr*)pkt;
    memset(pkt, 0, sizeof pkt);
    h->type = ICMP_ECHO;
    h->un.echo.id = htons(id);
    h->un.echo.sequence = htons(7);
    memcpy(pkt + sizeof *h, payload, sizeof payload);
    size_t len = sizeof *h + sizeof payload;
    h->checksum = icmp_sum(pkt, len);
    show("raw sendto echo request", sendto(r, pkt, len, 0, (struct sockaddr*)&to, sizeof to) == (long)len ? 0 : -1);
    int found = 0;
    int64_t end = now_ms() + 5000;
    while (!found && now_ms() < end) {
      if (!(wait_for(r, POLLIN, 1000) & POLLIN)) continue;
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      long n = recvfrom(r, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr*)&from, &fl);
      if (n < (long)sizeof(struct iphdr)) continue;
      struct iphdr* ip = (struct iphdr*)buf;
      size_t hl = ip->ihl * 4u;
      if (n < (long)(hl + sizeof(struct icmphdr))) continue;
      struct icmphdr* rh = (struct icmphdr*)(buf + hl);
      if (rh->type != ICMP_ECHOREPLY || ntohs(rh->un.echo.id) != id) continue;  // our own request, others' traffic
      found = 1;
      printf("raw: echo reply: version %d protocol %d src %s seq %d code %d\n", ip->version, ip->protocol,
             inet_ntoa(from.sin_addr), ntohs(rh->un.echo.sequence), rh->code);
      fact("raw: payload echoed", n - hl - sizeof *rh == sizeof payload && memcmp(buf + hl + sizeof *rh, payload, sizeof payload) == 0);
      fact("raw: checksum valid", icmp_sum(buf + hl, n - hl) == 0);
    }
    if (!found) printf("raw: no echo reply\n");
    close(r);
  }
  // Ping socket (net.ipv4.ping_group_range): the kernel sets the id and the checksum.
  int p = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  show_ok("ping socket", p);
  if (p >= 0) {
    show_opt("ping socket SO_TYPE", p, SOL_SOCKET, SO_TYPE);
    show_opt("ping socket SO_PROTOCOL", p, SOL_SOCKET, SO_PROTOCOL);
    for (int seq = 1; seq <= 3; seq++) {
      struct icmphdr* h = (struct icmphdr*)pkt;
      memset(pkt, 0, sizeof pkt);
      h->type = ICMP_ECHO;
      h->un.echo.sequence = htons(seq);
      memcpy(pkt + sizeof *h, payload, sizeof payload);
      size_t len = sizeof *h + sizeof payload;
      long n = sendto(p, pkt, len, 0, (struct sockaddr*)&to, sizeof to);
      printf("ping sendto seq %d: %s\n", seq, n == (long)len ? "ok" : n < 0 ? strerrorname_np(errno) : "short");
      if (!(wait_for(p, POLLIN, 5000) & POLLIN)) {
        printf("ping: no reply\n");
        continue;
      }
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      n = recvfrom(p, buf, sizeof buf, 0, (struct sockaddr*)&from, &fl);
      struct icmphdr* rh = (struct icmphdr*)buf;
      printf("ping reply: %ld bytes from %s type %d code %d seq %d payload %s\n", n, inet_ntoa(from.sin_addr),
             rh->type, rh->code, ntohs(rh->un.echo.sequence),
             n == (long)len && memcmp(buf + sizeof *rh, payload, sizeof payload) == 0 ? "echoed" : "wrong");
    }
    show("ping socket: nothing more", recv(p, buf, sizeof buf, MSG_DONTWAIT));
    close(p);
  }
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  self_exe = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : argv[0];
  if (argc == 5 && strcmp(argv[1], "after_exec") == 0) return after_exec(argv);
  signal(SIGPIPE, SIG_DFL);
  const char* only = argc > 1 ? argv[1] : NULL;
  struct { const char* name; void (*fn)(void); } parts[] = {
      {"tcp", tcp_tests}, {"nonblock", nonblock_tests}, {"readiness", readiness_tests},
      {"options", options_tests}, {"reuse", reuse_tests}, {"transfer", transfer_tests},
      {"exec", exec_tests}, {"sigpipe", sigpipe_tests}, {"udp", udp_tests},
      {"errors", error_tests}, {"icmp", icmp_tests},
  };
  int ran = 0;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (only ? strcmp(only, parts[i].name) != 0 : strcmp(parts[i].name, "icmp") == 0) continue;
    alarm(60);   // a part that hangs dies of SIGALRM instead of waiting for the harness
    parts[i].fn();
    ran++;
  }
  if (!ran) {
    fprintf(stderr, "inet_sockets: unknown part '%s'\n", only);
    return 2;
  }
  printf("done\n");
  return 0;
}
