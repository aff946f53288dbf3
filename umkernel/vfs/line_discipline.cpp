#include "umkernel/vfs/line_discipline.h"

#include <signal.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace um::kernel {

namespace {

constexpr uint8_t ctrl(char c) { return static_cast<uint8_t>(c & 0x1f); }
bool is_control(uint8_t c) { return c < 0x20 || c == 0x7f; }
bool is_word_char(uint8_t c) { return std::isalnum(c) || c == '_'; }

}  // namespace

int64_t monotonic_ns();  // kernel/kernel.cpp

KernelTermios default_termios() {
  KernelTermios t{};
  t.c_iflag = ICRNL | IXON | IUTF8;
  t.c_oflag = OPOST | ONLCR;
  t.c_cflag = B38400 | CS8 | CREAD | HUPCL;
  t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  uint8_t* cc = t.c_cc;
  cc[VINTR] = ctrl('C'); cc[VQUIT] = 0x1c; cc[VERASE] = 0x7f; cc[VKILL] = ctrl('U');
  cc[VEOF] = ctrl('D'); cc[VTIME] = 0; cc[VMIN] = 1; cc[VSTART] = ctrl('Q'); cc[VSTOP] = ctrl('S');
  cc[VSUSP] = ctrl('Z'); cc[VREPRINT] = ctrl('R'); cc[VDISCARD] = ctrl('O');
  cc[VWERASE] = ctrl('W'); cc[VLNEXT] = ctrl('V');
  return t;
}

bool LineDiscipline::canonical() const { return lflag(ICANON); }

void LineDiscipline::set_termios(const KernelTermios& nt) {
  bool was_canon = canonical();
  tio_ = nt;
  bool now_canon = canonical();
  // As n_tty_set_termios: leaving canonical mode makes everything typed readable; entering
  // it turns pending raw input into one completed line.
  if (was_canon && !now_canon) {
    std::string all;
    for (auto& l : lines_) all += l;
    all += line_;
    raw_ = std::move(all) + raw_;
    lines_.clear();
    line_.clear();
  } else if (!was_canon && now_canon && !raw_.empty()) {
    lines_.push_back(std::move(raw_));
    raw_.clear();
  }
  if (was_canon != now_canon) {
    erasing_ = false;
    lnext_ = false;
  }
  if (stopped_ && !iflag(IXON)) start_output();
  port_.state_changed();
}

// ---------------------------------------------------------------------------------------
// Input

size_t LineDiscipline::receive_room() const {
  size_t used = raw_.size() + line_.size();
  for (auto& l : lines_) used += l.size();
  size_t limit = kBufferSize - 1;
  if (used < limit) return limit - used;
  // A full canonical buffer without a complete line still takes input (ordinary characters
  // are dropped, a newline ends the line), or the reader could never be satisfied.
  return canonical() && lines_.empty() ? 1 : 0;
}

size_t LineDiscipline::receive(const char* data, size_t n) {
  size_t done = 0;
  while (done < n && receive_room() > 0) receive_char(static_cast<uint8_t>(data[done++]));
  if (done) port_.state_changed();
  return done;
}

void LineDiscipline::receive_char(uint8_t c) {
  if (iflag(ISTRIP)) c &= 0x7f;
  if (iflag(IUCLC) && lflag(IEXTEN)) c = static_cast<uint8_t>(std::tolower(c));
  if (lnext_) {  // the character after ^V is taken literally
    lnext_ = false;
    put_char(c);
    return;
  }
  if (receive_special(c)) return;
  put_char(c);
}

bool LineDiscipline::receive_special(uint8_t c) {
  if (iflag(IXON)) {
    if (is_cc(c, VSTART)) { start_output(); return true; }
    if (is_cc(c, VSTOP)) { stop_output(); return true; }
  }
  if (lflag(ISIG)) {
    if (is_cc(c, VINTR)) { receive_signal_char(SIGINT, c); return true; }
    if (is_cc(c, VQUIT)) { receive_signal_char(SIGQUIT, c); return true; }
    if (is_cc(c, VSUSP)) { receive_signal_char(SIGTSTP, c); return true; }
  }
  if (stopped_ && iflag(IXON) && iflag(IXANY)) start_output();
  bool translated = false;  // a CR or NL that n_tty treats as special in every mode
  if (c == '\r') {
    if (iflag(IGNCR)) return true;
    if (iflag(ICRNL)) { c = '\n'; translated = true; }
  } else if (c == '\n' && iflag(INLCR)) {
    c = '\r';
    translated = true;
  }
  if (!canonical()) {
    if (translated && c == '\n' && lflag(ECHO)) {  // echoed as a newline, not as ^J
      finish_erasing();
      echo_raw('\n');
      raw_ += '\n';
      last_input_ns_ = monotonic_ns();
      return true;
    }
    put_char(c);
    return true;
  }
  if (is_cc(c, VERASE) || is_cc(c, VKILL) || (is_cc(c, VWERASE) && lflag(IEXTEN))) {
    erase(c);
    return true;
  }
  if (is_cc(c, VLNEXT) && lflag(IEXTEN)) {
    lnext_ = true;
    if (lflag(ECHO)) {
      finish_erasing();
      if (lflag(ECHOCTL)) {  // shows ^ under the cursor until the next character replaces it
        send("^\b");
      }
    }
    return true;
  }
  if (is_cc(c, VREPRINT) && lflag(ECHO) && lflag(IEXTEN)) {
    finish_erasing();
    echo_char(c);
    echo_raw('\n');
    for (uint8_t x : line_) echo_char(x);
    return true;
  }
  if (c == '\n') {
    if (lflag(ECHO) || lflag(ECHONL)) echo_raw('\n');
    line_ += '\n';
    commit_line(false);
    return true;
  }
  if (is_cc(c, VEOF)) {  // ends the line without being part of it; alone it reads as EOF
    commit_line(true);
    return true;
  }
  if (is_cc(c, VEOL) || (is_cc(c, VEOL2) && lflag(IEXTEN))) {
    if (lflag(ECHO)) {
      if (line_.empty()) canon_column_ = column_;
      echo_char(c);
    }
    line_ += static_cast<char>(c);
    commit_line(false);
    return true;
  }
  return false;
}

void LineDiscipline::receive_signal_char(int sig, uint8_t c) {
  port_.signal_foreground(sig);
  if (!lflag(NOFLSH)) {
    flush_input();
    port_.flush_device_output();
  }
  if (iflag(IXON)) start_output();
  if (lflag(ECHO)) echo_char(c);
}

void LineDiscipline::put_char(uint8_t c) {
  if (canonical()) {
    size_t used = line_.size();
    for (auto& l : lines_) used += l.size();
    if (used >= kBufferSize - 1) {  // the line is full: the character is lost
      if (lflag(ECHO) && iflag(IMAXBEL)) send("\a");
      return;
    }
  }
  if (lflag(ECHO)) {
    finish_erasing();
    if (canonical() && line_.empty()) canon_column_ = column_;
    echo_char(c);
  }
  if (canonical()) line_ += static_cast<char>(c);
  else raw_ += static_cast<char>(c);
  last_input_ns_ = monotonic_ns();
}

void LineDiscipline::commit_line(bool eof) {
  // An EOF-ended line keeps only its text; alone it is the empty entry that reads as EOF.
  (void)eof;
  lines_.push_back(std::move(line_));
  line_.clear();
}

void LineDiscipline::finish_erasing() {
  if (erasing_) {
    echo_raw('/');
    erasing_ = false;
  }
}

void LineDiscipline::erase(uint8_t c) {
  if (line_.empty()) return;
  enum { kErase, kWordErase, kKill } kind;
  if (is_cc(c, VERASE)) {
    kind = kErase;
  } else if (is_cc(c, VWERASE)) {
    kind = kWordErase;
  } else {
    if (!lflag(ECHO)) {
      line_.clear();
      return;
    }
    if (!lflag(ECHOK) || !lflag(ECHOKE) || !lflag(ECHOE)) {
      line_.clear();
      finish_erasing();
      echo_char(c);
      if (lflag(ECHOK)) echo_raw('\n');
      return;
    }
    kind = kKill;
  }
  int seen_word_chars = 0;
  while (!line_.empty()) {
    // One character, with its UTF-8 continuation bytes.
    size_t start = line_.size() - 1;
    while (start > 0 && is_continuation(static_cast<uint8_t>(line_[start]))) start--;
    uint8_t ch = static_cast<uint8_t>(line_[start]);
    if (is_continuation(ch)) break;
    if (kind == kWordErase) {  // BSD's ALTWERASE, as Linux
      if (is_word_char(ch)) seen_word_chars++;
      else if (seen_word_chars) break;
    }
    std::string erased = line_.substr(start);
    line_.erase(start);
    if (lflag(ECHO)) {
      if (lflag(ECHOPRT)) {
        if (!erasing_) {
          echo_raw('\\');
          erasing_ = true;
        }
        echo_char(ch);
        for (size_t k = 1; k < erased.size(); k++) send(std::string(1, erased[k]));
      } else if (kind == kErase && !lflag(ECHOE)) {
        echo_char(tio_.c_cc[VERASE]);
      } else if (ch == '\t') {
        // Back to where the tab started: the width of what precedes it since the last tab.
        unsigned cols = 0;
        bool after_tab = false;
        for (size_t k = line_.size(); k-- > 0;) {
          uint8_t x = static_cast<uint8_t>(line_[k]);
          if (x == '\t') { after_tab = true; break; }
          if (is_control(x)) { if (lflag(ECHOCTL)) cols += 2; }
          else if (!is_continuation(x)) cols++;
        }
        if (!after_tab) cols += canon_column_;
        unsigned back = 8 - (cols & 7);
        if (back > column_) back = column_;
        send(std::string(back, '\b'));
        column_ -= back;
      } else {
        if (is_control(ch) && lflag(ECHOCTL)) send("\b \b");
        if (!is_control(ch) || lflag(ECHOCTL)) send("\b \b");
      }
    }
    if (kind == kErase) break;
  }
  if (line_.empty() && lflag(ECHO)) finish_erasing();
}

// ---------------------------------------------------------------------------------------
// Reading

int64_t LineDiscipline::read(char* buf, size_t n, int64_t now_ns, int64_t* deadline_ns, bool nonblocking) {
  if (canonical()) {
    if (lines_.empty()) return -EAGAIN;
    std::string& l = lines_.front();
    if (l.empty()) {  // ^D at the start of a line
      lines_.pop_front();
      port_.state_changed();
      return 0;
    }
    size_t c = std::min(n, l.size());
    memcpy(buf, l.data(), c);
    l.erase(0, c);
    if (l.empty()) lines_.pop_front();
    port_.state_changed();
    return static_cast<int64_t>(c);
  }
  auto take = [&]() -> int64_t {
    size_t c = std::min(n, raw_.size());
    memcpy(buf, raw_.data(), c);
    raw_.erase(0, c);
    if (c) port_.state_changed();
    return static_cast<int64_t>(c);
  };
  // VMIN/VTIME, the four cases of termios(3).
  const size_t vmin = tio_.c_cc[VMIN];
  const int64_t vtime_ns = tio_.c_cc[VTIME] * 100'000'000ll;
  if (vmin == 0) {
    if (!raw_.empty() || vtime_ns == 0) return take();
    if (*deadline_ns < 0) *deadline_ns = now_ns + vtime_ns;  // TIME counts from the read
    return now_ns >= *deadline_ns ? 0 : -EAGAIN;
  }
  size_t need = std::min(vmin, n);
  if (raw_.size() >= need) return take();
  if (nonblocking && !raw_.empty()) return take();
  if (raw_.empty() || vtime_ns == 0) {
    *deadline_ns = -1;
    return -EAGAIN;
  }
  // MIN > 0, TIME > 0: TIME is an inter-byte timer started by the last byte received.
  int64_t dl = last_input_ns_ + vtime_ns;
  if (now_ns >= dl) return take();
  *deadline_ns = dl;
  return -EAGAIN;
}

bool LineDiscipline::readable() const {
  if (canonical()) return !lines_.empty();
  // As input_available_p(poll): with MIN > 0 and TIME == 0, MIN bytes make it readable.
  size_t vmin = tio_.c_cc[VMIN];
  size_t need = (tio_.c_cc[VTIME] == 0 && vmin > 0) ? vmin : 1;
  return raw_.size() >= need;
}

size_t LineDiscipline::input_available() const {
  if (!canonical()) return raw_.size();
  size_t n = 0;
  for (auto& l : lines_) n += l.size();
  return n;
}

void LineDiscipline::flush_input() {
  lines_.clear();
  line_.clear();
  raw_.clear();
  lnext_ = false;
  erasing_ = false;
  port_.input_flushed();
  port_.state_changed();
}

// ---------------------------------------------------------------------------------------
// Output

void LineDiscipline::output_char(uint8_t c, std::string& out) {
  if (!oflag(OPOST)) {
    out += static_cast<char>(c);
    return;
  }
  switch (c) {
    case '\n':
      if (oflag(ONLRET)) column_ = 0;
      if (oflag(ONLCR)) {
        canon_column_ = column_ = 0;
        out += "\r\n";
        return;
      }
      canon_column_ = column_;
      break;
    case '\r':
      if (oflag(ONOCR) && column_ == 0) return;
      if (oflag(OCRNL)) {
        c = '\n';
        if (oflag(ONLRET)) canon_column_ = column_ = 0;
        break;
      }
      canon_column_ = column_ = 0;
      break;
    case '\t': {
      unsigned spaces = 8 - (column_ & 7);
      column_ += spaces;
      if ((tio_.c_oflag & TABDLY) == XTABS) {
        out.append(spaces, ' ');
        return;
      }
      break;
    }
    case '\b':
      if (column_ > 0) column_--;
      break;
    default:
      if (!is_control(c)) {
        if (oflag(OLCUC)) c = static_cast<uint8_t>(std::toupper(c));
        if (!is_continuation(c)) column_++;
      }
      break;
  }
  out += static_cast<char>(c);
}

void LineDiscipline::echo_raw(uint8_t c) {
  std::string out;
  output_char(c, out);
  send(out);
}

void LineDiscipline::echo_char(uint8_t c) {
  if (lflag(ECHOCTL) && is_control(c) && c != '\t') {
    char pair[2] = {'^', static_cast<char>(c ^ 0x40)};
    column_ += 2;
    send(std::string(pair, 2));
    return;
  }
  echo_raw(c);
}

void LineDiscipline::send(const std::string& s) {
  if (s.empty()) return;
  if (stopped_) {
    held_ += s;
    return;
  }
  port_.transmit(s.data(), s.size());
}

size_t LineDiscipline::write(const char* data, size_t n, size_t room) {
  std::string out;
  size_t done = 0;
  // A character's expansion (CR LF, spaces for a tab) may overshoot `room` a little.
  for (; done < n && (out.size() < room || done == 0); done++)
    output_char(static_cast<uint8_t>(data[done]), out);
  if (!out.empty()) port_.transmit(out.data(), out.size());
  return done;
}

void LineDiscipline::stop_output() {
  if (stopped_) return;
  stopped_ = true;
  port_.flow_changed(true);
}

void LineDiscipline::start_output() {
  if (!stopped_) return;
  stopped_ = false;
  port_.flow_changed(false);
  if (!held_.empty()) {
    std::string h = std::move(held_);
    held_.clear();
    port_.transmit(h.data(), h.size());
  }
  port_.state_changed();
}

}  // namespace um::kernel
