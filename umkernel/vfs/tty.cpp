#include "umkernel/vfs/tty.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

class TtyFile : public File {
 public:
  TtyFile(InodePtr inode, int flags, Tty* tty) : File(std::move(inode), flags), tty_(tty) {}
  int64_t read(Task& t, void* buf, size_t n, int64_t*) override { return tty_->read(t, buf, n); }
  int64_t write(Task& t, const void* buf, size_t n, int64_t*) override { return tty_->write(t, buf, n); }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override { return tty_->ioctl(t, req, arg); }
  unsigned poll() override { return tty_->poll(); }
  WaitQueue* wait_queue() override { return &tty_->readq(); }
  bool is_tty() const override { return true; }
  bool seekable() const override { return false; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }

 private:
  Tty* tty_;
};

uint8_t ctrl(char c) { return static_cast<uint8_t>(c & 0x1f); }

}  // namespace

Tty::Tty(int index, int in_fd, int out_fd) : index_(index), in_fd_(in_fd), out_fd_(out_fd) {
  tio_.c_iflag = ICRNL | IXON | IUTF8;
  tio_.c_oflag = OPOST | ONLCR;
  tio_.c_cflag = B38400 | CS8 | CREAD | HUPCL;
  tio_.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  uint8_t* cc = tio_.c_cc;
  cc[VINTR] = ctrl('C'); cc[VQUIT] = 0x1c; cc[VERASE] = 0x7f; cc[VKILL] = ctrl('U');
  cc[VEOF] = ctrl('D'); cc[VTIME] = 0; cc[VMIN] = 1; cc[VSTART] = ctrl('Q'); cc[VSTOP] = ctrl('S');
  cc[VSUSP] = ctrl('Z'); cc[VREPRINT] = ctrl('R'); cc[VDISCARD] = ctrl('O');
  cc[VWERASE] = ctrl('W'); cc[VLNEXT] = ctrl('V');
  // Behind a pipe or file (a Makefile, a test) the console should not mangle the stream:
  // no CR before LF on output, no echo of piped input.
  if (out_fd_ >= 0 && !isatty(out_fd_)) tio_.c_oflag &= ~ONLCR;
  if (in_fd_ >= 0) {
    host_is_tty_ = isatty(in_fd_);
    if (!host_is_tty_) tio_.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHOKE | ECHOCTL);
    if (host_is_tty_ && tcgetattr(in_fd_, &host_saved_) == 0) {
      host_saved_valid_ = true;
      struct termios raw = host_saved_;
      cfmakeraw(&raw);
      raw.c_oflag |= OPOST;  // the host terminal keeps plain output; our ONLCR does the rest
      raw.c_oflag &= ~ONLCR;
      tcsetattr(in_fd_, TCSANOW, &raw);
      winsize w;
      if (::ioctl(in_fd_, TIOCGWINSZ, &w) == 0 && w.ws_row) ws_ = w;
    }
    if (!kernel().add_event_source(in_fd_, EPOLLIN, this)) {
      // A regular file or /dev/null cannot be polled: take its whole content now.
      char buf[65536];
      ssize_t n;
      while ((n = ::read(in_fd_, buf, sizeof buf)) > 0) input(buf, static_cast<size_t>(n));
      host_eof_ = true;
      in_fd_ = -1;
    }
  }
}

Tty::~Tty() {
  if (in_fd_ >= 0) kernel().remove_event_source(in_fd_);
  restore_host();
}

void Tty::restore_host() {
  if (host_saved_valid_) {
    tcsetattr(in_fd_, TCSANOW, &host_saved_);
    host_saved_valid_ = false;
  }
}

int64_t Tty::open(Task& t, InodePtr inode, int flags, FilePtr& out) {
  Process& p = *t.proc;
  // A session leader without a terminal acquires this one (unless O_NOCTTY).
  if (!(flags & O_NOCTTY) && p.sid == p.pid && p.tty_index < 0 && session == 0) {
    session = p.sid;
    pgrp = p.pgid;
    p.tty_index = index_;
  }
  out = std::make_shared<TtyFile>(std::move(inode), flags, this);
  return 0;
}

void Tty::on_event(uint32_t events) {
  char buf[4096];
  ssize_t n = ::read(in_fd_, buf, sizeof buf);
  if (n > 0) {
    input(buf, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    host_eof_ = true;
    kernel().remove_event_source(in_fd_);
    in_fd_ = -1;
    readq_.wake_all();
  }
}

void Tty::signal_pgrp(int sig) {
  if (pgrp > 0) {
    siginfo_t si{};
    si.si_code = SI_KERNEL;
    kernel().send_signal_to_group(pgrp, sig, &si);
  }
}

void Tty::input(const char* data, size_t n) {
  const uint8_t* cc = tio_.c_cc;
  for (size_t i = 0; i < n; i++) {
    char c = data[i];
    if (tio_.c_iflag & ISTRIP) c &= 0x7f;
    if (c == '\r' && (tio_.c_iflag & IGNCR)) continue;
    if (c == '\r' && (tio_.c_iflag & ICRNL)) c = '\n';
    else if (c == '\n' && (tio_.c_iflag & INLCR)) c = '\r';
    uint8_t uc = static_cast<uint8_t>(c);
    if (tio_.c_lflag & ISIG) {
      int sig = 0;
      if (uc == cc[VINTR] && uc) sig = SIGINT;
      else if (uc == cc[VQUIT] && uc) sig = SIGQUIT;
      else if (uc == cc[VSUSP] && uc) sig = SIGTSTP;
      if (sig) {
        if (!(tio_.c_lflag & NOFLSH)) { line_.clear(); raw_.clear(); ready_.clear(); }
        echo(c);
        signal_pgrp(sig);
        continue;
      }
    }
    if (tio_.c_lflag & ICANON) {
      if (uc == cc[VERASE] && uc) {
        if (!line_.empty()) {
          line_.pop_back();
          if ((tio_.c_lflag & ECHO) && (tio_.c_lflag & ECHOE)) emit("\b \b");
        }
        continue;
      }
      if (uc == cc[VKILL] && uc) {
        if (tio_.c_lflag & ECHO) for (size_t k = 0; k < line_.size(); k++) emit("\b \b");
        line_.clear();
        continue;
      }
      if (uc == cc[VWERASE] && uc && (tio_.c_lflag & IEXTEN)) {
        while (!line_.empty() && line_.back() == ' ') { line_.pop_back(); if (tio_.c_lflag & ECHO) emit("\b \b"); }
        while (!line_.empty() && line_.back() != ' ') { line_.pop_back(); if (tio_.c_lflag & ECHO) emit("\b \b"); }
        continue;
      }
      if (uc == cc[VEOF] && uc) {
        ready_.push_back(std::move(line_));  // an empty entry reads as end of file
        line_.clear();
        continue;
      }
      line_ += c;
      if (c == '\n' || (uc == cc[VEOL] && uc) || (uc == cc[VEOL2] && uc)) {
        if (c == '\n' && !(tio_.c_lflag & ECHO) && (tio_.c_lflag & ECHONL)) emit("\n");
        else echo(c);
        ready_.push_back(std::move(line_));
        line_.clear();
        continue;
      }
      echo(c);
    } else {
      raw_ += c;
      echo(c);
    }
  }
  readq_.wake_all();
}

void Tty::echo(char c) {
  if (!(tio_.c_lflag & ECHO)) return;
  uint8_t uc = static_cast<uint8_t>(c);
  if ((tio_.c_lflag & ECHOCTL) && uc < 0x20 && c != '\n' && c != '\t') {
    char s[2] = {'^', static_cast<char>(uc + '@')};
    output(s, 2);
    return;
  }
  output(&c, 1);
}

void Tty::emit(const std::string& s) {
  if (out_fd_ < 0) return;
  size_t done = 0;
  while (done < s.size()) {
    ssize_t w = ::write(out_fd_, s.data() + done, s.size() - done);
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

void Tty::output(const char* data, size_t n) {
  if (!(tio_.c_oflag & OPOST) || !(tio_.c_oflag & (ONLCR | OCRNL))) {
    emit(std::string(data, n));
    return;
  }
  std::string s;
  s.reserve(n + n / 8);
  for (size_t i = 0; i < n; i++) {
    char c = data[i];
    if (c == '\n' && (tio_.c_oflag & ONLCR)) s += '\r';
    else if (c == '\r' && (tio_.c_oflag & OCRNL)) c = '\n';
    s += c;
  }
  emit(s);
}

size_t Tty::ready_bytes() const {
  if (tio_.c_lflag & ICANON) {
    size_t n = 0;
    for (auto& l : ready_) n += l.size();
    return n;
  }
  return raw_.size();
}

int64_t Tty::read(Task& t, void* buf, size_t n) {
  if (n == 0) return 0;
  char* out = static_cast<char*>(buf);
  if (tio_.c_lflag & ICANON) {
    if (ready_.empty()) {
      if (host_eof_ || in_fd_ < 0) return 0;
      return -EAGAIN;
    }
    std::string& l = ready_.front();
    if (l.empty()) {  // ^D on an empty line
      ready_.pop_front();
      return 0;
    }
    size_t c = std::min(n, l.size());
    memcpy(out, l.data(), c);
    l.erase(0, c);
    if (l.empty()) ready_.pop_front();
    return static_cast<int64_t>(c);
  }
  // Leftover canonical lines become raw input when the mode changes.
  while (!ready_.empty()) { raw_.insert(0, ready_.back()); ready_.pop_back(); }
  if (raw_.empty()) {
    if (host_eof_ || in_fd_ < 0) return 0;
    if (tio_.c_cc[VMIN] == 0 && tio_.c_cc[VTIME] == 0) return 0;
    return -EAGAIN;
  }
  size_t c = std::min(n, raw_.size());
  memcpy(out, raw_.data(), c);
  raw_.erase(0, c);
  return static_cast<int64_t>(c);
}

int64_t Tty::write(Task& t, const void* buf, size_t n) {
  output(static_cast<const char*>(buf), n);
  return static_cast<int64_t>(n);
}

unsigned Tty::poll() {
  unsigned r = POLLOUT | POLLWRNORM;
  if (ready_bytes() > 0 || (!(tio_.c_lflag & ICANON) && !ready_.empty()) ||
      ((tio_.c_lflag & ICANON) && !ready_.empty()))
    r |= POLLIN | POLLRDNORM;
  if (host_eof_) r |= POLLIN | POLLHUP;
  return r;
}

int64_t Tty::ioctl(Task& t, unsigned long req, uint64_t arg) {
  Process& p = *t.proc;
  switch (req) {
    case TCGETS:
      return put_user(t, arg, tio_);
    case TCSETS: case TCSETSW: case TCSETSF: {
      KernelTermios nt;
      if (int64_t r = get_user(t, arg, nt); r < 0) return r;
      bool was_canon = tio_.c_lflag & ICANON;
      tio_ = nt;
      if (req == TCSETSF) { line_.clear(); ready_.clear(); raw_.clear(); }
      if (was_canon && !(tio_.c_lflag & ICANON) && !line_.empty()) {
        raw_ += line_;
        line_.clear();
      }
      readq_.wake_all();
      return 0;
    }
    case TIOCGWINSZ:
      return put_user(t, arg, ws_);
    case TIOCSWINSZ: {
      winsize w;
      if (int64_t r = get_user(t, arg, w); r < 0) return r;
      bool changed = memcmp(&w, &ws_, sizeof w) != 0;
      ws_ = w;
      if (changed) signal_pgrp(SIGWINCH);
      return 0;
    }
    case TIOCGPGRP: {
      if (p.tty_index != index_) return -ENOTTY;
      int g = pgrp;
      return put_user(t, arg, g);
    }
    case TIOCSPGRP: {
      if (p.tty_index != index_ || session != p.sid) return -ENOTTY;
      int g;
      if (int64_t r = get_user(t, arg, g); r < 0) return r;
      if (g <= 0) return -EINVAL;
      bool exists = false;
      for (auto& [pid, q] : kernel().processes())
        if (q->pgid == g && q->sid == p.sid && !q->zombie) exists = true;
      if (!exists) return -EPERM;
      pgrp = g;
      return 0;
    }
    case TIOCGSID:
      if (p.tty_index != index_ || session == 0) return -ENOTTY;
      return put_user(t, arg, session);
    case TIOCSCTTY:
      if (p.sid != p.pid) return -EPERM;
      if (p.tty_index == index_) return 0;
      if (session != 0 && session != p.sid && !(arg == 1 && p.cred.euid == 0)) return -EPERM;
      session = p.sid;
      pgrp = p.pgid;
      p.tty_index = index_;
      return 0;
    case TIOCNOTTY:
      if (p.tty_index != index_) return -ENOTTY;
      p.tty_index = -1;
      if (p.sid == p.pid) {
        signal_pgrp(SIGHUP);
        signal_pgrp(SIGCONT);
        session = 0;
        pgrp = 0;
      }
      return 0;
    case FIONREAD: {
      int n = static_cast<int>(ready_bytes());
      return put_user(t, arg, n);
    }
    case TCFLSH:
      if (arg == TCIFLUSH || arg == TCIOFLUSH) { line_.clear(); ready_.clear(); raw_.clear(); }
      return 0;
    case TCXONC: case TCSBRK: case TCSBRKP:
      return 0;
    case TIOCOUTQ: {
      int z = 0;
      return put_user(t, arg, z);
    }
    default:
      return -ENOTTY;
  }
}

}  // namespace um::kernel
