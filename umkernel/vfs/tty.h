// Terminals: the consoles (con0 = /dev/console = /dev/tty0, conN = /dev/ttyN) with a line
// discipline (canonical and raw modes, echo, signals from ^C ^\ ^Z), backed by host file
// descriptors (UML's fd:N channels) or by nothing (null).
#pragma once
#include <sys/ioctl.h>
#include <termios.h>

#include <deque>
#include <string>

#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

// The kernel's struct termios (asm-generic/termbits.h), as TCGETS/TCSETS move it.
struct KernelTermios {
  uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};

class Tty : public EventSource {
 public:
  // in_fd/out_fd: host descriptors, -1 for none. Owned by the caller (stdin/stdout).
  Tty(int index, int in_fd, int out_fd);
  ~Tty() override;

  int index() const { return index_; }
  int64_t open(Task& t, InodePtr inode, int flags, FilePtr& out);
  int64_t read(Task& t, void* buf, size_t n);
  int64_t write(Task& t, const void* buf, size_t n);
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg);
  unsigned poll();
  WaitQueue& readq() { return readq_; }

  void on_event(uint32_t events) override;  // host input is readable
  void input(const char* data, size_t n);   // bytes typed on the console

  int session = 0;  // sid of the session this is the controlling terminal of (0 = none)
  int pgrp = 0;     // foreground process group
  void restore_host();  // gives the host terminal back its original settings

 private:
  void echo(char c);
  void output(const char* data, size_t n);  // with output processing
  void emit(const std::string& s);          // raw to the host
  void signal_pgrp(int sig);
  size_t ready_bytes() const;

  int index_;
  int in_fd_, out_fd_;
  KernelTermios tio_{};
  winsize ws_{24, 80, 0, 0};
  std::string line_;               // canonical mode: the line being edited
  std::deque<std::string> ready_;  // completed input (canonical: one entry per line; "" = EOF)
  std::string raw_;                // non-canonical input
  bool host_eof_ = false;
  bool host_is_tty_ = false;
  struct termios host_saved_{};
  bool host_saved_valid_ = false;
  WaitQueue readq_;
};

}  // namespace um::kernel
