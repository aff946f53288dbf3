// The host terminal a console sits on (umkernel's stdin, usually). umkernel takes it (raw
// mode, non-blocking reads) only while its own process group owns the terminal's foreground,
// and gives it back as it was (settings and file status flags) when it loses the foreground,
// is stopped (SIGTSTP), exits, or dies of a fatal signal. SIGTTOU and SIGTTIN are blocked in
// umkernel, so a umkernel in the background (under timeout, a shell's `&`, make -j, setsid)
// never stops: it leaves the terminal alone and its console simply gets no input until it is
// brought to the foreground (SIGCONT).
#pragma once
#include <termios.h>

#include <functional>

namespace um::kernel {

class HostTerminal {
 public:
  // `fd` must be a terminal; not owned. `output_too`: the console's output goes to the same
  // terminal, whose own output processing (ONLCR) is then turned off while taken (the guest's
  // line discipline does it); otherwise output settings stay as they are, for the programs
  // that do write there (`umkernel ... | less`). `changed` runs whenever job control (SIGCONT,
  // SIGTSTP) took or gave back the terminal.
  HostTerminal(int fd, bool output_too, std::function<void()> changed);
  ~HostTerminal();  // gives the terminal back
  HostTerminal(const HostTerminal&) = delete;
  HostTerminal& operator=(const HostTerminal&) = delete;

  // umkernel's process group is the terminal's foreground group (false when the terminal is
  // not umkernel's controlling terminal at all, as after setsid).
  bool owns_foreground() const;
  bool taken() const { return taken_; }
  // Takes the terminal when umkernel owns its foreground: saves its settings and file status
  // flags, makes its input raw (see output_too) and non-blocking. True if taken.
  bool take();
  void give_back();  // restores what take() saved; a no-op when not taken
  // Takes or gives back as the foreground now says; runs `changed` if that changed anything.
  void refresh();

  // Blocks SIGTTOU and SIGTTIN in umkernel: terminal access never stops it (from the
  // background, settings change and output goes out; reads fail with EIO).
  static void block_stop_signals();
  // SIGTSTP and SIGCONT: the caller blocks them, reads them from a signalfd and passes them
  // to job_signal().
  static const sigset_t& job_signal_set();  // SIGTSTP and SIGCONT
  // SIGTSTP: give every terminal back and stop (SIGSTOP); SIGCONT (and after the stop): take
  // back those whose foreground umkernel owns.
  static void job_signal(int sig);
  static bool all_taken();  // every host terminal is taken (none waits for the foreground)

 private:
  int fd_;
  bool output_too_;
  std::function<void()> changed_;
  bool taken_ = false;
  struct termios saved_{};
  int saved_flags_ = 0;
  int slot_ = -1;  // in the table the fatal-signal handler restores from
};

}  // namespace um::kernel
