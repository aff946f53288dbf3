// The line discipline every terminal shares (consoles and pty slaves): Linux's n_tty. It turns
// the bytes a device receives into what readers get (canonical line editing or raw input,
// VMIN/VTIME, ISIG signal characters, IXON flow control, echo) and runs output processing
// (OPOST: ONLCR, OCRNL, ONOCR, ONLRET, OLCUC, XTABS) on what is written to the device.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include <termios.h>

namespace um::kernel {

// The kernel's struct termios (asm-generic/termbits.h), as TCGETS/TCSETS move it.
struct KernelTermios {
  uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};

// Linux's default termios for a terminal (tty_std_termios).
KernelTermios default_termios();

class LineDiscipline {
 public:
  // What the discipline needs from the terminal it serves.
  class Port {
   public:
    virtual ~Port() = default;
    virtual void transmit(const char* data, size_t n) = 0;  // to the device, already processed
    virtual void signal_foreground(int sig) = 0;            // ISIG characters
    virtual void state_changed() = 0;  // input arrived, space freed, flow restarted: wake waiters
    virtual void flush_device_output() {}                   // TCOFLUSH, ISIG without NOFLSH
    virtual void input_flushed() {}                         // TCIFLUSH, ISIG without NOFLSH
    virtual void flow_changed(bool stopped) { (void)stopped; }  // ^S/^Q, TCOOFF/TCOON
  };

  static constexpr size_t kBufferSize = 4096;  // N_TTY_BUF_SIZE: a line holds 4095 bytes

  explicit LineDiscipline(Port& port) : port_(port), tio_(default_termios()) {}

  const KernelTermios& termios() const { return tio_; }
  void set_termios(const KernelTermios& nt);

  // Input from the device. Returns how many bytes were taken (fewer when the raw-mode
  // buffer is full; the pty master then waits, as Linux throttles).
  size_t receive(const char* data, size_t n);
  size_t receive_room() const;

  // What read(2) may take right now, following ICANON and VMIN/VTIME. `now_ns` and the
  // task's deadline implement VTIME: -EAGAIN asks the caller to wait for input and, when
  // *deadline_ns >= 0, at most until then (*deadline_ns is -1 on a read's first attempt).
  // A non-blocking reader takes whatever raw input there is, as Linux.
  int64_t read(char* buf, size_t n, int64_t now_ns, int64_t* deadline_ns, bool nonblocking);
  bool readable() const;               // for poll: a read would not block
  size_t input_available() const;      // FIONREAD
  void flush_input();                  // TCIFLUSH

  // Output processing of data written by a process; returns the bytes consumed (all of them
  // unless `room` runs out; room counts device bytes). Not called while output is stopped.
  size_t write(const char* data, size_t n, size_t room);
  bool output_stopped() const { return stopped_; }
  void stop_output();                  // ^S or TCOOFF
  void start_output();                 // ^Q or TCOON

 private:
  bool canonical() const;
  bool lflag(uint32_t f) const { return tio_.c_lflag & f; }
  bool iflag(uint32_t f) const { return tio_.c_iflag & f; }
  bool oflag(uint32_t f) const { return tio_.c_oflag & f; }
  bool is_cc(uint8_t c, int index) const { return tio_.c_cc[index] != 0 && c == tio_.c_cc[index]; }
  bool is_continuation(uint8_t c) const { return iflag(IUTF8) && (c & 0xc0) == 0x80; }

  void receive_char(uint8_t c);
  bool receive_special(uint8_t c);     // true if c was a control character and is consumed
  void receive_signal_char(int sig, uint8_t c);
  void put_char(uint8_t c);            // an ordinary character: echo and store
  void commit_line(bool eof);
  void erase(uint8_t c);
  void finish_erasing();

  // Echo and output. Echoes go through output processing like written data.
  void echo_char(uint8_t c);           // ^X form for control characters under ECHOCTL
  void echo_raw(uint8_t c);
  void output_char(uint8_t c, std::string& out);
  void send(const std::string& s);     // to the device, or held while output is stopped

  Port& port_;
  KernelTermios tio_;
  std::deque<std::string> lines_;      // canonical: completed lines; "" marks EOF (^D alone)
  std::string line_;                   // canonical: the line being edited
  std::string raw_;                    // non-canonical: received bytes
  int64_t last_input_ns_ = 0;          // VTIME's inter-byte timer starts here
  bool lnext_ = false;                 // the previous character was VLNEXT
  bool erasing_ = false;               // ECHOPRT: inside a \...erased.../ sequence
  bool stopped_ = false;               // IXON stop
  std::string held_;                   // echoes produced while output is stopped
  unsigned column_ = 0;                // output column (tab expansion, tab erase, ONOCR)
  unsigned canon_column_ = 0;          // the column where the current line started
};

}  // namespace um::kernel
