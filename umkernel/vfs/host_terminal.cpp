#include "umkernel/vfs/host_terminal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace um::kernel {

namespace {

// What a fatal-signal handler or exit() must put back: plain data, used async-signal-safely.
struct SavedState {
  volatile sig_atomic_t active;
  int fd;
  struct termios tio;
  int flags;
};
constexpr int kSlots = 8;
SavedState g_saved[kSlots];
HostTerminal* g_terminals[kSlots];

void restore_all() {  // async-signal-safe
  for (SavedState& s : g_saved) {
    if (!s.active) continue;
    s.active = 0;
    tcsetattr(s.fd, TCSANOW, &s.tio);
    fcntl(s.fd, F_SETFL, s.flags);
  }
}

void on_fatal_signal(int sig) {
  restore_all();
  // SA_RESETHAND made the action the default again and SA_NODEFER leaves the signal
  // unblocked: this ends the process as the signal would have.
  raise(sig);
}

// Signals whose default action ends umkernel; those it does not handle itself get a handler
// that gives the terminal back first (SIGKILL cannot be caught: nothing can restore then).
void install_exit_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  atexit(restore_all);
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGUSR1, SIGUSR2,
                  SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGSYS, SIGPWR, SIGSTKFLT}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO))
      sigaction(sig, &sa, nullptr);
  }
}

}  // namespace

HostTerminal::HostTerminal(int fd, bool output_too, std::function<void()> changed)
    : fd_(fd), output_too_(output_too), changed_(std::move(changed)) {
  for (int i = 0; i < kSlots; i++) {
    if (!g_terminals[i]) {
      g_terminals[i] = this;
      slot_ = i;
      break;
    }
  }
}

HostTerminal::~HostTerminal() {
  give_back();
  if (slot_ >= 0) g_terminals[slot_] = nullptr;
}

bool HostTerminal::owns_foreground() const {
  pid_t fg = tcgetpgrp(fd_);
  return fg > 0 && fg == getpgrp();
}

bool HostTerminal::take() {
  if (taken_) return true;
  if (!owns_foreground()) return false;
  struct termios tio;
  int flags = fcntl(fd_, F_GETFL);
  if (tcgetattr(fd_, &tio) != 0 || flags < 0) return false;
  saved_ = tio;
  saved_flags_ = flags;
  if (slot_ >= 0) {
    install_exit_handlers();
    g_saved[slot_].fd = fd_;
    g_saved[slot_].tio = saved_;
    g_saved[slot_].flags = saved_flags_;
    g_saved[slot_].active = 1;
  }
  tcflag_t oflag = tio.c_oflag;
  cfmakeraw(&tio);
  tio.c_oflag = oflag;
  if (output_too_) tio.c_oflag &= ~ONLCR;  // the guest's line discipline adds the CRs
  tcsetattr(fd_, TCSANOW, &tio);
  fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  taken_ = true;
  return true;
}

void HostTerminal::give_back() {
  if (!taken_) return;
  taken_ = false;
  if (slot_ >= 0) g_saved[slot_].active = 0;
  // SIGTTOU is blocked: this works from the background too (tty_check_change).
  tcsetattr(fd_, TCSANOW, &saved_);
  fcntl(fd_, F_SETFL, saved_flags_);
}

void HostTerminal::refresh() {
  bool before = taken_;
  if (owns_foreground()) take();
  else give_back();
  if (taken_ != before && changed_) changed_();
}

void HostTerminal::block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTTOU);
  sigaddset(&set, SIGTTIN);
  sigprocmask(SIG_BLOCK, &set, nullptr);
}

const sigset_t& HostTerminal::job_signal_set() {
  static const sigset_t set = [] {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTSTP);
    sigaddset(&s, SIGCONT);
    return s;
  }();
  return set;
}

bool HostTerminal::all_taken() {
  for (HostTerminal* t : g_terminals)
    if (t && !t->taken_) return false;
  return true;
}

void HostTerminal::job_signal(int sig) {
  if (sig == SIGTSTP) {
    // As a full-screen program (less, vi): the terminal goes back as it was, then we stop.
    bool was[kSlots] = {};
    for (int i = 0; i < kSlots; i++) {
      if (!g_terminals[i]) continue;
      was[i] = g_terminals[i]->taken_;
      g_terminals[i]->give_back();
    }
    raise(SIGSTOP);
    for (int i = 0; i < kSlots; i++) {
      HostTerminal* t = g_terminals[i];
      if (!t) continue;
      if (t->owns_foreground()) t->take();
      if (t->taken_ != was[i] && t->changed_) t->changed_();
    }
    return;
  }
  for (HostTerminal* t : g_terminals)
    if (t) t->refresh();
}

}  // namespace um::kernel
