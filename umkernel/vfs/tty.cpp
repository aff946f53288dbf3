#include "umkernel/vfs/tty.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/host_terminal.h"
#include "umkernel/vfs/pty.h"

namespace um::kernel {

namespace {

const uint64_t kDevTty = makedev(5, 0);
const uint64_t kDevConsole = makedev(5, 1);

uint64_t rdev_of(const InodePtr& inode) {
  Stat st;
  return inode && inode->getattr(st) == 0 ? st.rdev : 0;
}

// Linux's is_ignored() for job control: blocked or explicitly ignored.
bool jobctl_ignored(Task& t, int sig) {
  return (t.blocked & sigbit(sig)) ||
         t.proc->sighand->actions[sig].handler == reinterpret_cast<uint64_t>(SIG_IGN);
}

int g_live_consoles = 0;  // consoles exist from boot until the kernel is destroyed

siginfo_t kernel_siginfo() {
  siginfo_t si{};
  si.si_code = SI_KERNEL;
  return si;
}

}  // namespace

bool tty_kernel_alive() { return g_live_consoles > 0; }

// ---------------------------------------------------------------------------------------
// Open files

TtyFile::TtyFile(InodePtr inode, int flags, Tty* tty, bool console_redirect)
    : File(std::move(inode), flags), tty_(tty), keep_(tty->keepalive()), redirect_(console_redirect),
      hangups_at_open_(tty->hangup_count()) {
  tty_->file_opened();
}

TtyFile::~TtyFile() {
  // Consoles live as long as the kernel and need no close bookkeeping (and at shutdown they
  // may already be gone); ptys are kept alive by keep_.
  if (keep_) tty_->file_closed();
}

// ---------------------------------------------------------------------------------------
// Construction and the host side of consoles

// Host SIGWINCH through a signalfd in the event loop: the guest sees the new size and its
// foreground group gets SIGWINCH, as when a Linux terminal is resized.
struct Tty::HostResize : EventSource {
  Tty& tty;
  int fd = -1;
  explicit HostResize(Tty& t) : tty(t) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd >= 0 && !kernel().add_event_source(fd, EPOLLIN, this)) {
      close(fd);
      fd = -1;
    }
  }
  ~HostResize() override {
    if (fd >= 0) close(fd);  // only with the kernel's end: its epoll set goes with it
  }
  void on_event(uint32_t) override {
    signalfd_siginfo si;
    while (::read(fd, &si, sizeof si) == sizeof si) {
    }
    tty.host_resized();
  }
};

void Tty::host_resized() {
  winsize w;
  if (in_fd_ < 0 || ::ioctl(in_fd_, TIOCGWINSZ, &w) != 0 || !w.ws_row) return;
  if (memcmp(&w, &ws_, sizeof w) == 0) return;
  ws_ = w;
  signal_foreground(SIGWINCH);
}

// SIGTSTP and SIGCONT through a signalfd: umkernel gives its host terminal back when it is
// stopped and takes it again when it is continued in the foreground (HostTerminal). And, while
// a host terminal waits for the foreground, a timer that looks again five times a second: a
// shell's `fg` of a job that runs in the background moves the foreground without a signal.
struct Tty::HostJobWatch : EventSource {
  int fd = -1;
  int timer_fd = -1;
  bool armed = false;
  struct Tick : EventSource {
    HostJobWatch& w;
    explicit Tick(HostJobWatch& watch) : w(watch) {}
    void on_event(uint32_t) override {
      uint64_t n;
      (void)!::read(w.timer_fd, &n, sizeof n);
      HostTerminal::job_signal(SIGCONT);  // takes the terminals whose foreground we now own
      w.update();
    }
  } tick{*this};

  HostJobWatch() {
    const sigset_t& set = HostTerminal::job_signal_set();
    sigprocmask(SIG_BLOCK, &set, nullptr);
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd >= 0 && !kernel().add_event_source(fd, EPOLLIN, this)) {
      close(fd);
      fd = -1;
    }
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timer_fd >= 0 && !kernel().add_event_source(timer_fd, EPOLLIN, &tick)) {
      close(timer_fd);
      timer_fd = -1;
    }
  }
  ~HostJobWatch() override {
    if (fd >= 0) close(fd);  // only with the kernel's end, as HostResize
    if (timer_fd >= 0) close(timer_fd);
  }
  void on_event(uint32_t) override {
    signalfd_siginfo si;
    while (::read(fd, &si, sizeof si) == sizeof si) HostTerminal::job_signal(static_cast<int>(si.ssi_signo));
    update();
  }
  // The timer runs only while some host terminal is not taken.
  void update() {
    bool want = !HostTerminal::all_taken();
    if (timer_fd < 0 || want == armed) return;
    itimerspec its{};
    if (want) its.it_value.tv_nsec = its.it_interval.tv_nsec = 200'000'000;
    timerfd_settime(timer_fd, 0, &its, nullptr);
    armed = want;
  }
};

namespace {
Tty::HostJobWatch* g_job_watch = nullptr;  // one serves every console on a host terminal
}

Tty::Tty(int index) : index_(index) { ws_ = winsize{0, 0, 0, 0}; }

Tty::Tty(int index, int in_fd, int out_fd) : index_(index), in_fd_(in_fd), out_fd_(out_fd) {
  console_ = true;
  g_live_consoles++;
  HostTerminal::block_stop_signals();
  KernelTermios tio = ldisc_.termios();
  // Behind a pipe or file (a Makefile, a test) the console should not mangle the stream:
  // no CR before LF on output, no echo of piped input.
  if (out_fd_ >= 0 && !isatty(out_fd_)) tio.c_oflag &= ~ONLCR;
  if (in_fd_ >= 0) {
    host_is_tty_ = isatty(in_fd_);
    if (!host_is_tty_) tio.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHOKE | ECHOCTL);
  }
  ldisc_.set_termios(tio);
  if (in_fd_ < 0) return;
  if (host_is_tty_) {
    // A terminal is read only while umkernel owns its foreground (HostTerminal).
    struct stat in_st, out_st;
    bool output_too = out_fd_ >= 0 && isatty(out_fd_) && fstat(in_fd_, &in_st) == 0 &&
                      fstat(out_fd_, &out_st) == 0 && in_st.st_rdev == out_st.st_rdev;
    host_ = std::make_unique<HostTerminal>(in_fd_, output_too, [this] { host_terminal_changed(); });
    winsize w;
    if (::ioctl(in_fd_, TIOCGWINSZ, &w) == 0 && w.ws_row) ws_ = w;
    if (index_ == 0) resize_ = std::make_unique<HostResize>(*this);
    if (!g_job_watch) {
      job_watch_ = std::make_unique<HostJobWatch>();
      g_job_watch = job_watch_.get();
    }
    if (host_->take()) host_terminal_changed();
    g_job_watch->update();
    return;
  }
  in_flags_ = fcntl(in_fd_, F_GETFL);
  if (in_flags_ >= 0) fcntl(in_fd_, F_SETFL, in_flags_ | O_NONBLOCK);
  if (!kernel().add_event_source(in_fd_, EPOLLIN, this)) {
    // A regular file or /dev/null cannot be polled: take its whole content now.
    char buf[65536];
    ssize_t n;
    while ((n = ::read(in_fd_, buf, sizeof buf)) > 0) input(buf, static_cast<size_t>(n));
    host_eof_ = true;
    restore_host();
    in_fd_ = -1;
  }
}

Tty::~Tty() {
  if (console_) g_live_consoles--;
  // Consoles end with the kernel, whose epoll set ends too; kernel() is already gone then
  // (Kernel::~Kernel clears it before its members are destroyed), so it is not called here.
  resize_.reset();
  if (job_watch_) g_job_watch = nullptr;
  job_watch_.reset();
  restore_host();
  host_.reset();
}

void Tty::restore_host() {
  if (host_) host_->give_back();
  if (in_flags_ >= 0 && in_fd_ >= 0) fcntl(in_fd_, F_SETFL, in_flags_);
  in_flags_ = -1;
}

// The host terminal was taken (read it) or given back (leave it alone: reading it from the
// background would only fail with EIO, and its input belongs to the foreground).
void Tty::host_terminal_changed() {
  if (host_->taken() && !host_watched_) {
    host_watched_ = kernel().add_event_source(in_fd_, EPOLLIN, this);
  } else if (!host_->taken() && host_watched_) {
    kernel().remove_event_source(in_fd_);
    host_watched_ = false;
  }
  if (g_job_watch) g_job_watch->update();
}

uint64_t Tty::device_number() const { return makedev(4, index_); }

void Tty::on_event(uint32_t) {
  char buf[4096];
  ssize_t n = ::read(in_fd_, buf, sizeof buf);
  if (n > 0) {
    input(buf, static_cast<size_t>(n));
  } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  } else if (n < 0 && errno == EIO && host_ && !host_->owns_foreground()) {
    host_->refresh();  // moved to the background without a stop: give the terminal back
  } else {
    host_eof_ = true;
    restore_host();
    host_.reset();  // a terminal that hung up is never taken again
    kernel().remove_event_source(in_fd_);
    host_watched_ = false;
    in_fd_ = -1;
    if (g_job_watch) g_job_watch->update();
    waitq_.wake_all();
  }
}

void Tty::input(const char* data, size_t n) {
  backlog_.append(data, n);
  feed_backlog();
}

// Host input waits here while the line discipline's buffer is full (Linux throttles).
void Tty::feed_backlog() {
  if (feeding_ || backlog_.empty()) return;
  feeding_ = true;
  size_t taken = ldisc_.receive(backlog_.data(), backlog_.size());
  backlog_.erase(0, taken);
  feeding_ = false;
}

void Tty::emit(const char* data, size_t n) {
  if (out_fd_ < 0) return;
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(out_fd_, data + done, n - done);
    if (w > 0) { done += w; continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd p{out_fd_, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    return;  // the host side is gone: output is lost, the guest goes on
  }
}

void Tty::transmit(const char* data, size_t n) { emit(data, n); }

void Tty::signal_foreground(int sig) {
  if (pgrp > 0) {
    siginfo_t si = kernel_siginfo();
    kernel().send_signal_to_group(pgrp, sig, &si);
  }
}

void Tty::state_changed() {
  waitq_.wake_all();
  feed_backlog();
}

// ---------------------------------------------------------------------------------------
// Controlling terminal and job control

int64_t Tty::open(Task& t, InodePtr inode, int flags, FilePtr& out) {
  Process& p = *t.proc;
  uint64_t rdev = rdev_of(inode);
  bool redirect = rdev == kDevConsole;
  bool noctty = (flags & O_NOCTTY) || rdev == kDevTty || rdev == kDevConsole;
  // tty_open_proc_set_tty: a session leader without a terminal acquires a free one.
  if (!noctty && p.sid == p.pid && p.tty_index < 0 && session == 0) {
    session = p.sid;
    pgrp = p.pgid;
    p.tty_index = index_;
  }
  out = std::make_shared<TtyFile>(std::move(inode), flags, this, redirect);
  return 0;
}

bool pgrp_orphaned(int pgid, const Process* exiting) {
  // will_become_orphaned_pgrp: children of init (or of the exiting process, about to be
  // init's) do not connect a group to its session.
  for (auto& [pid, q] : kernel().processes()) {
    if (q->pgid != pgid || q->zombie || q.get() == exiting) continue;
    auto parent = q->parent.lock();
    if (!parent || parent.get() == exiting || parent->pid == 1) continue;
    if (parent->pgid != pgid && parent->sid == q->sid) return false;
  }
  return true;
}

int64_t Tty::job_control(Task& t, const TtyFile* file, int sig) {
  if (!file || file->console_redirect()) return 0;
  Process& p = *t.proc;
  if (p.tty_index != index_ || pgrp == 0 || p.pgid == pgrp) return 0;
  if (jobctl_ignored(t, sig)) return sig == SIGTTIN ? -EIO : 0;
  if (pgrp_orphaned(p.pgid)) return -EIO;
  siginfo_t si = kernel_siginfo();
  kernel().send_signal_to_group(p.pgid, sig, &si);
  return kERestartSys;
}

int64_t Tty::set_ctty(Task& t, TtyFile* file, uint64_t arg) {
  Process& p = *t.proc;
  bool leader = p.sid == p.pid;
  if (leader && session == p.sid) return 0;
  if (!leader || p.tty_index >= 0) return -EPERM;
  bool admin = p.cred.euid == 0;
  if (session != 0) {
    if (arg != 1 || !admin) return -EPERM;
    // Steal it: the old session loses its terminal.
    for (auto& [pid, q] : kernel().processes())
      if (q->sid == session && q->tty_index == index_) q->tty_index = -1;
  }
  if (file && !file->readable() && !admin) return -EPERM;
  session = p.sid;
  pgrp = p.pgid;
  p.tty_index = index_;
  return 0;
}

// TIOCNOTTY (disassociate_ctty(0) for a session leader, else just leaving it).
void Tty::release_ctty(Process& p) {
  if (p.sid != p.pid) {
    p.tty_index = -1;
    return;
  }
  if (pgrp > 0) {
    siginfo_t si = kernel_siginfo();
    kernel().send_signal_to_group(pgrp, SIGHUP, &si);
    kernel().send_signal_to_group(pgrp, SIGCONT, &si);
  }
  for (auto& [pid, q] : kernel().processes())
    if (q->sid == p.sid && q->tty_index == index_) q->tty_index = -1;
  session = 0;
  pgrp = 0;
}

void Tty::hangup(bool exit_session) {
  hangups_++;
  int fg = pgrp;
  if (session > 0) {
    std::vector<std::shared_ptr<Process>> leaders;
    for (auto& [pid, q] : kernel().processes()) {
      if (q->sid != session) continue;
      if (q->tty_index == index_) q->tty_index = -1;
      if (q->pid == q->sid && !q->zombie) leaders.push_back(q);
    }
    siginfo_t si = kernel_siginfo();
    for (auto& l : leaders) {
      kernel().send_signal_to_process(*l, SIGHUP, &si);
      kernel().send_signal_to_process(*l, SIGCONT, &si);
    }
  }
  if (exit_session && fg > 0) {
    siginfo_t si = kernel_siginfo();
    kernel().send_signal_to_group(fg, SIGHUP, &si);
  }
  session = 0;
  pgrp = 0;
  ldisc_.flush_input();
  ldisc_.start_output();
  waitq_.wake_all();
}

int proc_stat_tty(const Process& p, int* tpgid) {
  *tpgid = -1;
  if (p.tty_index < 0) return 0;
  Tty* tty = kernel().tty(p.tty_index);
  if (!tty) return 0;
  if (tty->pgrp > 0) *tpgid = tty->pgrp;
  return static_cast<int>(tty->device_number());  // glibc's makedev is Linux's new_encode_dev
}

void tty_process_exiting(Process& p) {
  Kernel& k = kernel();
  // disassociate_ctty(1): the session leader's terminal.
  if (p.sid == p.pid && p.tty_index >= 0) {
    if (Tty* tty = k.tty(p.tty_index); tty && tty->session == p.sid) {
      if (!tty->is_pty()) {
        tty->hangup(true);  // tty_vhangup_session
      } else {
        if (tty->pgrp > 0) {
          siginfo_t si = kernel_siginfo();
          k.send_signal_to_group(tty->pgrp, SIGHUP, &si);
        }
        tty->session = 0;
        tty->pgrp = 0;
      }
    }
    for (auto& [pid, q] : k.processes())
      if (q->sid == p.sid) q->tty_index = -1;
  }
  // kill_orphaned_pgrp, for our group and for each child's group.
  auto has_stopped = [&](int pgid) {
    for (auto& [pid, q] : k.processes())
      if (q->pgid == pgid && !q->zombie && q->stopped) return true;
    return false;
  };
  auto hup_if_orphaned = [&](int pgid) {
    if (pgrp_orphaned(pgid, &p) && has_stopped(pgid)) {
      siginfo_t si = kernel_siginfo();
      k.send_signal_to_group(pgid, SIGHUP, &si);
      k.send_signal_to_group(pgid, SIGCONT, &si);
    }
  };
  if (auto parent = p.parent.lock(); parent && parent->pgid != p.pgid && parent->sid == p.sid)
    hup_if_orphaned(p.pgid);
  std::vector<int> groups;
  for (auto& c : p.children)
    if (!c->zombie && c->pgid != p.pgid && c->sid == p.sid) groups.push_back(c->pgid);
  for (int g : groups) hup_if_orphaned(g);
}

// ---------------------------------------------------------------------------------------
// Data

int64_t Tty::read(Task& t, TtyFile& file, void* buf, size_t n) {
  if (file.hung_up()) return 0;
  if (int64_t r = job_control(t, &file, SIGTTIN); r != 0) return r;
  if (n == 0) return 0;
  int64_t r = ldisc_.read(static_cast<char*>(buf), n, monotonic_ns(), &t.sys_deadline_ns, file.nonblocking());
  if (r == -EAGAIN && input_closed()) return 0;
  return r;
}

int64_t Tty::write(Task& t, TtyFile& file, const void* buf, size_t n) {
  if (file.hung_up()) return -EIO;
  if (termios().c_lflag & TOSTOP)
    if (int64_t r = job_control(t, &file, SIGTTOU); r != 0) return r;
  if (n == 0) return 0;
  if (ldisc_.output_stopped()) return -EAGAIN;
  size_t room = output_room();
  if (room == 0) return -EAGAIN;
  return static_cast<int64_t>(ldisc_.write(static_cast<const char*>(buf), n, room));
}

unsigned Tty::poll(const TtyFile& file) {
  if (file.hung_up()) return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
  unsigned r = 0;
  if (ldisc_.readable()) r |= POLLIN | POLLRDNORM;
  if (input_closed()) r |= POLLIN | POLLRDNORM | POLLHUP;
  if (!ldisc_.output_stopped() && output_room() > 0) r |= POLLOUT | POLLWRNORM;
  return r;
}

// ---------------------------------------------------------------------------------------
// ioctl

int64_t Tty::set_termios(Task& t, TtyFile* file, unsigned long req, uint64_t arg) {
  if (int64_t r = job_control(t, file, SIGTTOU); r != 0) return r;
  KernelTermios nt;
  if (get_user(t, arg, nt) < 0) return -EFAULT;
  // TCSETSW and TCSETSF wait for output to drain: ours is handed to the device at once.
  if (req == TCSETSF) ldisc_.flush_input();
  KernelTermios old = termios();
  ldisc_.set_termios(nt);
  termios_changed(old);
  return 0;
}

int64_t Tty::ioctl(Task& t, TtyFile* file, unsigned long req, uint64_t arg) {
  Process& p = *t.proc;
  bool from_master = file == nullptr;
  if (file && file->hung_up()) return req == TIOCSPGRP ? -ENOTTY : -EIO;
  bool is_ctty = p.tty_index == index_;
  switch (req) {
    case TCGETS:
      return put_user(t, arg, termios());
    case TCSETS: case TCSETSW: case TCSETSF:
      return set_termios(t, file, req, arg);
    case TIOCGWINSZ:
      return put_user(t, arg, ws_);
    case TIOCSWINSZ: {
      winsize w;
      if (get_user(t, arg, w) < 0) return -EFAULT;
      bool changed = memcmp(&w, &ws_, sizeof w) != 0;
      ws_ = w;
      if (changed) signal_foreground(SIGWINCH);
      return 0;
    }
    case TIOCGPGRP: {
      if (!from_master && !is_ctty) return -ENOTTY;
      int g = pgrp;
      return put_user(t, arg, g);
    }
    case TIOCSPGRP: {
      int64_t r = job_control(t, file, SIGTTOU);
      if (r == -EIO) return -ENOTTY;
      if (r != 0) return r;
      if (!is_ctty || session != p.sid) return -ENOTTY;
      int g;
      if (get_user(t, arg, g) < 0) return -EFAULT;
      if (g < 0) return -EINVAL;
      bool exists = false, same_session = false;
      for (auto& [pid, q] : kernel().processes()) {
        if (q->pgid != g || q->zombie) continue;
        exists = true;
        same_session |= q->sid == p.sid;
      }
      if (!exists) return -ESRCH;
      if (!same_session) return -EPERM;
      pgrp = g;
      return 0;
    }
    case TIOCGSID: {
      if (!from_master && !is_ctty) return -ENOTTY;
      if (session == 0) return -ENOTTY;
      int s = session;
      return put_user(t, arg, s);
    }
    case TIOCSCTTY:
      return set_ctty(t, file, arg);
    case TIOCNOTTY:
      if (from_master || !is_ctty) return -ENOTTY;
      release_ctty(p);
      return 0;
    case TIOCVHANGUP:
      if (p.cred.euid != 0) return -EPERM;
      hangup(false);
      return 0;
    case FIONREAD: {
      int n = static_cast<int>(ldisc_.input_available());
      return put_user(t, arg, n);
    }
    case TIOCOUTQ: {  // output is handed to the device (host or pty master) immediately
      int z = 0;
      return put_user(t, arg, z);
    }
    case TCFLSH:
      if (int64_t r = job_control(t, file, SIGTTOU); r != 0) return r;
      switch (arg) {
        case TCIFLUSH: ldisc_.flush_input(); return 0;
        case TCOFLUSH: flush_device_output(); return 0;
        case TCIOFLUSH: ldisc_.flush_input(); flush_device_output(); return 0;
        default: return -EINVAL;
      }
    case TCXONC:
      if (int64_t r = job_control(t, file, SIGTTOU); r != 0) return r;
      switch (arg) {
        case TCOOFF: ldisc_.stop_output(); return 0;
        case TCOON: ldisc_.start_output(); return 0;
        case TCIOFF: { uint8_t c = termios().c_cc[VSTOP]; if (c) transmit(reinterpret_cast<char*>(&c), 1); return 0; }
        case TCION: { uint8_t c = termios().c_cc[VSTART]; if (c) transmit(reinterpret_cast<char*>(&c), 1); return 0; }
        default: return -EINVAL;
      }
    case TCSBRK: case TCSBRKP:  // tcdrain and breaks: nothing is ever queued
      return job_control(t, file, SIGTTOU);
    case TIOCSTI: {
      if (!is_ctty && p.cred.euid != 0) return -EPERM;
      char c;
      if (get_user(t, arg, c) < 0) return -EFAULT;
      ldisc_.receive(&c, 1);
      return 0;
    }
    case TIOCGETD: {
      int ld = 0;  // N_TTY
      return put_user(t, arg, ld);
    }
    case TIOCSETD: {
      int ld;
      if (get_user(t, arg, ld) < 0) return -EFAULT;
      return ld == 0 ? 0 : -EINVAL;
    }
    case TIOCGDEV: {
      unsigned dev = static_cast<unsigned>(device_number());  // glibc's makedev is new_encode_dev
      return put_user(t, arg, dev);
    }
    case TIOCEXCL: case TIOCNXCL:
      return 0;
    default:
      return -ENOTTY;
  }
}

}  // namespace um::kernel
