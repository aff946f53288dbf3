// Terminals: the tty layer above the line discipline. A Tty is a console (con0 =
// /dev/console = /dev/tty0, conN = /dev/ttyN, backed by host file descriptors or by
// nothing) or a pty slave (vfs/pty.*). It owns the controlling-terminal state (session,
// foreground process group), job control checks, window size, the termios ioctls and
// hangup. Linux's drivers/tty/tty_io.c and tty_jobctrl.c are the spec.
#pragma once
#include <sys/ioctl.h>
#include <termios.h>

#include <memory>
#include <string>

#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/host_terminal.h"
#include "umkernel/vfs/line_discipline.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class TtyFile;

class Tty : public EventSource, protected LineDiscipline::Port {
 public:
  // A console. in_fd/out_fd: host descriptors, -1 for none; owned by the caller.
  Tty(int index, int in_fd, int out_fd);
  ~Tty() override;

  // The controlling-terminal id kept in Process::tty_index (consoles: their number; pty
  // slaves: kPtyIndexBase + N, see pty.h).
  int index() const { return index_; }
  virtual uint64_t device_number() const;  // st_rdev of its device node (TIOCGDEV, /proc)
  virtual bool is_pty() const { return false; }

  // Opens it: the session leader without a terminal acquires it unless O_NOCTTY or the node
  // is /dev/tty or /dev/console. Files opened through /dev/console (5:1) skip job control
  // and survive hangups, as Linux's redirected console files.
  int64_t open(Task& t, InodePtr inode, int flags, FilePtr& out);

  // File operations (TtyFile calls these). `file` is null for the pty master's ioctls, which
  // act on the slave without the controlling-terminal checks (tty_pair_get_tty).
  int64_t read(Task& t, TtyFile& file, void* buf, size_t n);
  int64_t write(Task& t, TtyFile& file, const void* buf, size_t n);
  int64_t ioctl(Task& t, TtyFile* file, unsigned long req, uint64_t arg);
  unsigned poll(const TtyFile& file);
  WaitQueue& waitq() { return waitq_; }

  // Hangup (tty_vhangup): open files stop working, the session leader gets SIGHUP and
  // SIGCONT, the session loses its terminal; `exit_session` also sends SIGHUP to the
  // foreground group (the session leader exited).
  void hangup(bool exit_session);
  unsigned hangup_count() const { return hangups_; }

  void on_event(uint32_t events) override;  // host input is readable
  struct HostJobWatch;  // job control of the host terminals (tty.cpp)
  void input(const char* data, size_t n);   // bytes typed on the console

  int session = 0;  // sid of the session this is the controlling terminal of (0 = none)
  int pgrp = 0;     // foreground process group
  // Gives the host input back as it was: a terminal's settings and file status flags, a
  // pipe's flags (every exit path ends here or in HostTerminal's exit handlers).
  void restore_host();

  const KernelTermios& termios() const { return ldisc_.termios(); }
  LineDiscipline& ldisc() { return ldisc_; }
  winsize window_size() const { return ws_; }

 protected:
  explicit Tty(int index);  // a tty without host descriptors (pty slave)

  // LineDiscipline::Port. transmit() sends to the host by default.
  void transmit(const char* data, size_t n) override;
  void signal_foreground(int sig) override;
  void state_changed() override;

  // Driver hooks for subclasses.
  virtual size_t output_room() const { return SIZE_MAX; }
  // Reads see EOF: the host input ended. A console without host input (null) never does.
  virtual bool input_closed() const { return host_eof_; }
  virtual std::shared_ptr<void> keepalive() { return nullptr; }  // held by open files
  virtual void file_opened() {}
  virtual void file_closed() {}
  virtual void termios_changed(const KernelTermios& old) { (void)old; }  // pty packet mode
  friend class TtyFile;

  LineDiscipline ldisc_{*this};
  winsize ws_{24, 80, 0, 0};

 private:
  // Job control (tty_check_change): 0 to go on, -EIO, or kERestartSys after signalling the
  // caller's background process group with `sig`.
  int64_t job_control(Task& t, const TtyFile* file, int sig);
  int64_t set_termios(Task& t, TtyFile* file, unsigned long req, uint64_t arg);
  int64_t set_ctty(Task& t, TtyFile* file, uint64_t arg);
  void release_ctty(Process& p);
  void feed_backlog();
  void host_resized();  // the host terminal's window changed: TIOCGWINSZ it, SIGWINCH
  struct HostResize;
  void emit(const char* data, size_t n);  // raw to the host

  int index_;
  bool console_ = false;
  int in_fd_ = -1, out_fd_ = -1;
  bool host_eof_ = false;
  bool host_is_tty_ = false;
  std::unique_ptr<HostTerminal> host_;  // in_fd_ is a terminal: taken while umkernel owns its foreground
  bool host_watched_ = false;            // in_fd_ is in the event loop
  int in_flags_ = -1;                    // a non-terminal in_fd_'s file status flags before O_NONBLOCK
  void host_terminal_changed();
  std::unique_ptr<HostJobWatch> job_watch_;  // SIGTSTP/SIGCONT, fg (one console has it)
  std::string backlog_;     // host input the line discipline has no room for yet
  bool feeding_ = false;
  unsigned hangups_ = 0;
  WaitQueue waitq_;         // readers, writers and pollers: woken on any change
  std::unique_ptr<HostResize> resize_;  // con0 on a host terminal: its SIGWINCH
};

// An open file description of a terminal.
class TtyFile : public File {
 public:
  TtyFile(InodePtr inode, int flags, Tty* tty, bool console_redirect);
  ~TtyFile() override;
  int64_t read(Task& t, void* buf, size_t n, int64_t*) override { return tty_->read(t, *this, buf, n); }
  int64_t write(Task& t, const void* buf, size_t n, int64_t*) override { return tty_->write(t, *this, buf, n); }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override { return tty_->ioctl(t, this, req, arg); }
  unsigned poll() override { return tty_->poll(*this); }
  WaitQueue* wait_queue() override { return &tty_->waitq(); }
  bool is_tty() const override { return true; }
  bool seekable() const override { return false; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }

  Tty* tty() const { return tty_; }
  bool console_redirect() const { return redirect_; }
  bool hung_up() const { return !redirect_ && hangups_at_open_ != tty_->hangup_count(); }

 private:
  Tty* tty_;
  std::shared_ptr<void> keep_;  // keeps a pty pair alive while open
  bool redirect_;
  unsigned hangups_at_open_;
};

// Opens a terminal device by number: /dev/tty (5:0), /dev/console (5:1), /dev/ptmx (5:2),
// consoles (4:N) and pty slaves (136-143:N). -ENODEV if rdev is no terminal.
int64_t open_tty_device(Task& t, InodePtr inode, uint64_t rdev, int flags, FilePtr& out);

// Job control on process exit (from Kernel::exit_process, before children are reparented):
// a session leader's terminal is hung up or its foreground group gets SIGHUP
// (disassociate_ctty), and process groups this exit orphans that have stopped members get
// SIGHUP and SIGCONT (kill_orphaned_pgrp).
void tty_process_exiting(Process& p);
// A process group is orphaned when no member has a parent in another group of the same
// session (POSIX); `exiting` is treated as gone already.
bool pgrp_orphaned(int pgid, const Process* exiting = nullptr);
// /proc/PID/stat's tty_nr (the controlling terminal's device number, 0 if none) and tpgid.
int proc_stat_tty(const Process& p, int* tpgid);

}  // namespace um::kernel
