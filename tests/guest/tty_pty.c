// Pseudo-terminals and the line discipline: canonical editing, echo, output processing,
// VMIN/VTIME, flow control, hangup. Prints the same natively and under umkernel.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int master, slave;

static void show(const char* label, const char* s, ssize_t n) {
  printf("%s: ", label);
  if (n < 0) { printf("-1 %s\n", strerror(errno)); return; }
  printf("%zd \"", n);
  for (ssize_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') printf("\\n");
    else if (c == '\r') printf("\\r");
    else if (c == '\b') printf("\\b");
    else if (c == '\t') printf("\\t");
    else if (c < 0x20 || c >= 0x7f) printf("\\x%02x", c);
    else putchar(c);
  }
  printf("\"\n");
}

// Reads what is ready on fd right now (nothing blocks: polls first).
static ssize_t drain(int fd, char* buf, size_t cap) {
  ssize_t total = 0;
  struct pollfd p = {fd, POLLIN, 0};
  while ((size_t)total < cap && poll(&p, 1, 50) == 1 && (p.revents & POLLIN)) {
    ssize_t n = read(fd, buf + total, cap - total);
    if (n <= 0) break;
    total += n;
  }
  return total;
}

static void type_line(const char* label, const char* input, size_t len, size_t readsz) {
  char buf[512];
  write(master, input, len);
  ssize_t n = read(slave, buf, readsz);
  char l[64];
  snprintf(l, sizeof l, "%s read", label);
  show(l, buf, n);
  n = drain(master, buf, sizeof buf);
  snprintf(l, sizeof l, "%s echo", label);
  show(l, buf, n);
}

static void set_lflag(tcflag_t on, tcflag_t off) {
  struct termios t;
  tcgetattr(slave, &t);
  t.c_lflag = (t.c_lflag | on) & ~off;
  tcsetattr(slave, TCSANOW, &t);
}

static long ms_since(struct timespec* a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void open_pair(void) {
  master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) { perror("posix_openpt"); exit(1); }
  if (grantpt(master) || unlockpt(master)) { perror("grantpt/unlockpt"); exit(1); }
  slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  if (slave < 0) { perror("open slave"); exit(1); }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char buf[512];
  ssize_t n;

  // --- allocation, naming, locking
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  unsigned ptn;
  printf("TIOCGPTN: %d\n", ioctl(m, TIOCGPTN, &ptn));
  char expect[32];
  snprintf(expect, sizeof expect, "/dev/pts/%u", ptn);
  printf("ptsname matches TIOCGPTN: %d\n", strcmp(ptsname(m), expect) == 0);
  int s = open(expect, O_RDWR | O_NOCTTY);
  printf("open while locked: %d %s\n", s, s < 0 ? strerror(errno) : "");
  struct stat st;
  int sr = stat(expect, &st);
  printf("stat: %d chr=%d major=%u minor_is_n=%d\n", sr, S_ISCHR(st.st_mode), major(st.st_rdev),
         (unsigned)((major(st.st_rdev) - 136) * 256 + minor(st.st_rdev)) == ptn);
  int lock = 0;
  ioctl(m, TIOCGPTLCK, &lock);
  printf("TIOCGPTLCK: %d\n", lock);
  unlockpt(m);
  s = open(expect, O_RDWR | O_NOCTTY);
  printf("open after unlockpt: %d isatty=%d\n", s >= 0, isatty(s));
  char* name = ttyname(s);
  printf("ttyname matches: %d\n", name && strcmp(name, expect) == 0);
  int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  printf("TIOCGPTPEER: %d isatty=%d\n", peer >= 0, isatty(peer));
  close(peer);
  close(s);
  close(m);
  printf("node gone after master close: %d\n", stat(expect, &st) < 0 && errno == ENOENT);

  open_pair();
  struct termios t;
  tcgetattr(slave, &t);
  printf("slave termios: iflag=%o oflag=%o cflag=%o lflag=%o\n", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag);
  printf("cc: intr=%d quit=%d erase=%d kill=%d eof=%d min=%d time=%d susp=%d werase=%d lnext=%d\n",
         t.c_cc[VINTR], t.c_cc[VQUIT], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VMIN],
         t.c_cc[VTIME], t.c_cc[VSUSP], t.c_cc[VWERASE], t.c_cc[VLNEXT]);
  struct termios mt;
  tcgetattr(master, &mt);
  printf("master sees slave termios: %d\n", mt.c_lflag == t.c_lflag && mt.c_iflag == t.c_iflag);
  struct winsize ws;
  ioctl(slave, TIOCGWINSZ, &ws);
  printf("initial winsize: %dx%d\n", ws.ws_row, ws.ws_col);

  // --- canonical mode
  type_line("plain", "hello\n", sizeof("hello\n") - 1, sizeof buf);
  type_line("cr", "cr\r", sizeof("cr\r") - 1, sizeof buf);
  type_line("erase", "abc\x7f" "d\n", sizeof("abc\x7f" "d\n") - 1, sizeof buf);
  type_line("kill", "xyz\x15ok\n", sizeof("xyz\x15ok\n") - 1, sizeof buf);
  type_line("werase", "foo bar\x17" "baz\n", sizeof("foo bar\x17" "baz\n") - 1, sizeof buf);
  type_line("werase-punct", "a.b-cd\x17\n", sizeof("a.b-cd\x17\n") - 1, sizeof buf);
  type_line("ctl", "a\x01" "b\n", sizeof("a\x01" "b\n") - 1, sizeof buf);
  type_line("lnext", "\x16\x03x\n", sizeof("\x16\x03x\n") - 1, sizeof buf);
  type_line("reprint", "ab\x12" "c\n", sizeof("ab\x12" "c\n") - 1, sizeof buf);
  type_line("tab-erase", "a\t\x7f" "b\n", sizeof("a\t\x7f" "b\n") - 1, sizeof buf);
  type_line("eof", "abc\x04", sizeof("abc\x04") - 1, sizeof buf);
  type_line("eof-alone", "\x04", sizeof("\x04") - 1, sizeof buf);
  type_line("partial", "longline\n", sizeof("longline\n") - 1, 4);
  n = read(slave, buf, sizeof buf);
  show("partial rest", buf, n);
  write(master, "one\ntwo\n", 8);
  n = read(slave, buf, sizeof buf);
  show("first of two lines", buf, n);
  int avail = -1;
  ioctl(slave, FIONREAD, &avail);
  printf("FIONREAD: %d\n", avail);
  tcflush(slave, TCIFLUSH);
  ioctl(slave, FIONREAD, &avail);
  printf("FIONREAD after TCIFLUSH: %d\n", avail);
  drain(master, buf, sizeof buf);

  // Echo flags.
  set_lflag(0, ECHOCTL);
  type_line("no-echoctl", "q\x01\n", sizeof("q\x01\n") - 1, sizeof buf);
  set_lflag(ECHOCTL, ECHOKE);
  type_line("kill-no-echoke", "xyz\x15ok\n", sizeof("xyz\x15ok\n") - 1, sizeof buf);
  set_lflag(ECHOKE, ECHOE);
  type_line("erase-no-echoe", "ab\x7f\n", sizeof("ab\x7f\n") - 1, sizeof buf);
  set_lflag(ECHOE | ECHOPRT, 0);
  type_line("echoprt", "abc\x7f\x7fx\n", sizeof("abc\x7f\x7fx\n") - 1, sizeof buf);
  set_lflag(ECHONL, ECHO | ECHOPRT);
  type_line("echonl", "secret\n", sizeof("secret\n") - 1, sizeof buf);
  set_lflag(ECHO, ECHONL);

  // Input flags.
  tcgetattr(slave, &t);
  t.c_iflag = (t.c_iflag & ~ICRNL) | IGNCR;
  tcsetattr(slave, TCSANOW, &t);
  type_line("igncr", "a\rb\n", sizeof("a\rb\n") - 1, sizeof buf);
  t.c_iflag = (t.c_iflag & ~IGNCR) | INLCR | ISTRIP;
  t.c_cc[VEOL] = '\r';
  tcsetattr(slave, TCSANOW, &t);
  type_line("inlcr+eol+istrip", "\xe1\n", sizeof("\xe1\n") - 1, sizeof buf);
  t.c_iflag = (t.c_iflag & ~(INLCR | ISTRIP)) | ICRNL;
  t.c_cc[VEOL] = 0;
  tcsetattr(slave, TCSANOW, &t);

  // --- output processing
  write(slave, "out\n", 4);
  show("onlcr", buf, drain(master, buf, sizeof buf));
  tcgetattr(slave, &t);
  t.c_oflag |= OCRNL | TAB3;
  tcsetattr(slave, TCSANOW, &t);
  write(slave, "a\tb\rc\n", 6);
  show("ocrnl+xtabs", buf, drain(master, buf, sizeof buf));
  t.c_oflag = (t.c_oflag & ~(OCRNL | TAB3 | ONLCR)) | ONOCR;
  tcsetattr(slave, TCSANOW, &t);
  write(slave, "\rx\r\n", 4);
  show("onocr", buf, drain(master, buf, sizeof buf));
  t.c_oflag &= ~OPOST;
  t.c_oflag |= ONLCR;
  tcsetattr(slave, TCSANOW, &t);
  write(slave, "raw\n", 4);
  show("no-opost", buf, drain(master, buf, sizeof buf));
  t.c_oflag = OPOST | ONLCR;
  tcsetattr(slave, TCSANOW, &t);
  ioctl(master, FIONREAD, &avail);
  printf("master FIONREAD empty: %d\n", avail);
  write(slave, "hey\n", 4);
  usleep(50000);  // Linux moves it to the master's buffer from a work queue
  ioctl(master, FIONREAD, &avail);
  printf("master FIONREAD: %d\n", avail);
  drain(master, buf, sizeof buf);

  // --- non-canonical: the four VMIN/VTIME cases
  struct termios raw;
  tcgetattr(slave, &raw);
  raw.c_lflag &= ~(ICANON | ECHO);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(slave, TCSANOW, &raw);
  write(master, "xyz", 3);
  n = read(slave, buf, sizeof buf);
  show("min1 time0", buf, n);
  raw.c_cc[VMIN] = 0;
  tcsetattr(slave, TCSANOW, &raw);
  n = read(slave, buf, sizeof buf);
  show("min0 time0 empty", buf, n);
  raw.c_cc[VTIME] = 2;
  tcsetattr(slave, TCSANOW, &raw);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  n = read(slave, buf, sizeof buf);
  long el = ms_since(&t0);
  show("min0 time2 empty", buf, n);
  printf("  waited ~200ms: %d\n", el >= 150 && el < 1000);
  write(master, "q", 1);
  n = read(slave, buf, sizeof buf);
  show("min0 time2 data", buf, n);
  raw.c_cc[VMIN] = 3;
  raw.c_cc[VTIME] = 0;
  tcsetattr(slave, TCSANOW, &raw);
  write(master, "ab", 2);
  struct pollfd p = {slave, POLLIN, 0};
  printf("min3 poll with 2 bytes: %d\n", poll(&p, 1, 0));
  write(master, "c", 1);
  printf("min3 poll with 3 bytes: %d\n", poll(&p, 1, 0));
  n = read(slave, buf, sizeof buf);
  show("min3 time0", buf, n);
  raw.c_cc[VMIN] = 5;
  raw.c_cc[VTIME] = 1;
  tcsetattr(slave, TCSANOW, &raw);
  write(master, "ab", 2);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  n = read(slave, buf, sizeof buf);
  el = ms_since(&t0);
  show("min5 time1 (inter-byte timeout)", buf, n);
  printf("  returned after <1s: %d\n", el < 1000);
  // Raw mode still translates CR and echoes control characters as ^X.
  raw.c_lflag |= ECHO;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(slave, TCSANOW, &raw);
  write(master, "k\r\x02", 3);
  usleep(20000);
  n = read(slave, buf, sizeof buf);
  show("raw read", buf, n);
  show("raw echo", buf, drain(master, buf, sizeof buf));
  // Canonical again: pending raw input becomes a line.
  raw.c_lflag &= ~ECHO;
  tcsetattr(slave, TCSANOW, &raw);
  write(master, "pend", 4);
  usleep(20000);
  raw.c_lflag |= ICANON;
  tcsetattr(slave, TCSANOW, &raw);
  n = read(slave, buf, sizeof buf);
  show("raw to canonical", buf, n);
  raw.c_lflag |= ECHO;
  tcsetattr(slave, TCSAFLUSH, &raw);

  // --- flow control: ^S stops slave output, ^Q restarts it
  write(master, "\x13", 1);
  usleep(20000);
  int fl = fcntl(slave, F_GETFL);
  fcntl(slave, F_SETFL, fl | O_NONBLOCK);
  n = write(slave, "stopped", 7);
  printf("write while stopped: %zd %s\n", n, n < 0 ? strerror(errno) : "");
  write(master, "\x11", 1);
  usleep(20000);
  n = write(slave, "go\n", 3);
  printf("write after start: %zd\n", n);
  fcntl(slave, F_SETFL, fl);
  show("after ^Q", buf, drain(master, buf, sizeof buf));

  // --- window size through the master
  ws.ws_row = 30;
  ws.ws_col = 100;
  ioctl(master, TIOCSWINSZ, &ws);
  memset(&ws, 0, sizeof ws);
  ioctl(slave, TIOCGWINSZ, &ws);
  printf("winsize set on master, read on slave: %dx%d\n", ws.ws_row, ws.ws_col);

  // --- hangup: master closes
  write(slave, "bye\n", 4);
  close(master);
  n = read(slave, buf, sizeof buf);
  show("slave read after master close", buf, n);
  n = write(slave, "x", 1);
  printf("slave write after master close: %zd %s\n", n, n < 0 ? strerror(errno) : "");
  p.fd = slave;
  p.events = POLLIN | POLLOUT;
  poll(&p, 1, 0);
  printf("slave poll after hangup: hup=%d err=%d\n", !!(p.revents & POLLHUP), !!(p.revents & POLLERR));
  close(slave);

  // --- slave closes: the master reads what is left, then EIO
  open_pair();
  write(slave, "last\n", 5);
  close(slave);
  p.fd = master;
  p.events = POLLIN;
  poll(&p, 1, 0);
  printf("master poll after slave close: in=%d hup=%d\n", !!(p.revents & POLLIN), !!(p.revents & POLLHUP));
  n = read(master, buf, sizeof buf);
  show("master read after slave close", buf, n);
  n = read(master, buf, sizeof buf);
  show("master read again", buf, n);
  close(master);

  // --- packet mode: data behind a TIOCPKT_DATA byte, flush and flow events as status bytes
  open_pair();
  int one = 1;
  ioctl(master, TIOCPKT, &one);
  write(slave, "pk\n", 3);
  usleep(50000);
  show("packet data", buf, read(master, buf, sizeof buf));
  tcflush(slave, TCIFLUSH);
  usleep(50000);
  show("packet TCIFLUSH", buf, read(master, buf, sizeof buf));
  tcflush(slave, TCOFLUSH);
  usleep(50000);
  show("packet TCOFLUSH", buf, read(master, buf, sizeof buf));
  write(master, "\x13", 1);
  usleep(50000);
  show("packet ^S", buf, read(master, buf, sizeof buf));
  write(master, "\x11", 1);
  usleep(50000);
  show("packet ^Q", buf, read(master, buf, sizeof buf));
  tcgetattr(slave, &t);
  t.c_iflag &= ~IXON;
  tcsetattr(slave, TCSANOW, &t);
  usleep(50000);
  show("packet -ixon", buf, read(master, buf, sizeof buf));
  t.c_iflag |= IXON;
  tcsetattr(slave, TCSANOW, &t);
  usleep(50000);
  show("packet ixon", buf, read(master, buf, sizeof buf));
  close(slave);
  close(master);
  printf("done\n");
  return 0;
}
