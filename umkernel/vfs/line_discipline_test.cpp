#include "umkernel/vfs/line_discipline.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

namespace um::kernel {
namespace {

// A terminal that records what the discipline sends to the device and the signals it raises.
class FakePort : public LineDiscipline::Port {
 public:
  void transmit(const char* data, size_t n) override { device.append(data, n); }
  void signal_foreground(int sig) override { signals.push_back(sig); }
  void state_changed() override { changes++; }
  void input_flushed() override { flushed++; }
  std::string device;
  std::vector<int> signals;
  int changes = 0, flushed = 0;
};

struct LineDisciplineTest : ::testing::Test {
  FakePort port;
  LineDiscipline ld{port};

  void type(const std::string& s) { ASSERT_EQ(ld.receive(s.data(), s.size()), s.size()); }
  // A read that must not block: its result as a string, or "EAGAIN".
  std::string read(size_t n = 256) {
    std::string buf(n, '\0');
    int64_t deadline = -1;
    int64_t r = ld.read(buf.data(), n, 0, &deadline, false);
    if (r == -EAGAIN) return "EAGAIN";
    buf.resize(static_cast<size_t>(r));
    return buf;
  }
  void set_lflag(uint32_t on, uint32_t off) {
    KernelTermios t = ld.termios();
    t.c_lflag = (t.c_lflag | on) & ~off;
    ld.set_termios(t);
  }
};

TEST_F(LineDisciplineTest, CanonicalModeGivesWholeLinesAndEchoes) {
  type("hel");
  EXPECT_FALSE(ld.readable());
  EXPECT_EQ(read(), "EAGAIN");
  type("lo\n");
  EXPECT_TRUE(ld.readable());
  EXPECT_EQ(ld.input_available(), 6u);
  EXPECT_EQ(read(), "hello\n");
  EXPECT_EQ(port.device, "hello\r\n");  // echo with ONLCR
}

TEST_F(LineDisciplineTest, EraseAndKillEditTheLine) {
  type("abx\x7f" "c\n");  // VERASE is DEL
  EXPECT_EQ(read(), "abc\n");
  type("junk\x15" "ok\n");  // VKILL is ^U
  EXPECT_EQ(read(), "ok\n");
}

TEST_F(LineDisciplineTest, EofAloneReadsZeroAndEndsALineWithoutNewline) {
  type("ab\x04");  // ^D
  EXPECT_EQ(read(), "ab");
  type("\x04");
  EXPECT_EQ(read(), "");
}

TEST_F(LineDisciplineTest, ShortReadsLeaveTheRestOfTheLine) {
  type("abcdef\n");
  EXPECT_EQ(read(2), "ab");
  EXPECT_EQ(read(), "cdef\n");
}

TEST_F(LineDisciplineTest, SignalCharactersRaiseSignalsAndFlush) {
  type("partial\x03");  // ^C
  ASSERT_EQ(port.signals.size(), 1u);
  EXPECT_EQ(port.signals[0], SIGINT);
  EXPECT_EQ(read(), "EAGAIN");  // the partial line is gone (no NOFLSH)
  type("\x1c\x1a");  // ^\ and ^Z
  ASSERT_EQ(port.signals.size(), 3u);
  EXPECT_EQ(port.signals[1], SIGQUIT);
  EXPECT_EQ(port.signals[2], SIGTSTP);
  set_lflag(0, ISIG);
  type("\x03\n");
  EXPECT_EQ(port.signals.size(), 3u);
  EXPECT_EQ(read(), "\x03\n");
}

TEST_F(LineDisciplineTest, RawModeHandsOverBytesAtOnce) {
  set_lflag(0, ICANON | ECHO);
  type("xy");
  EXPECT_EQ(read(), "xy");
  EXPECT_EQ(port.device, "");  // no echo
  EXPECT_EQ(read(), "EAGAIN");
}

TEST_F(LineDisciplineTest, TheCanonicalLineHoldsAtMost4095Bytes) {
  type(std::string(5000, 'a'));
  type("\n");
  std::string line = read(8192);
  EXPECT_EQ(line.size(), 4096u);  // 4095 characters and the newline
  EXPECT_EQ(line.back(), '\n');
}

TEST_F(LineDisciplineTest, OutputProcessingMapsNewlines) {
  std::string s = "a\nb";
  EXPECT_EQ(ld.write(s.data(), s.size(), 100), s.size());
  EXPECT_EQ(port.device, "a\r\nb");
  KernelTermios t = ld.termios();
  t.c_oflag &= ~OPOST;
  ld.set_termios(t);
  port.device.clear();
  ld.write(s.data(), s.size(), 100);
  EXPECT_EQ(port.device, "a\nb");
}

TEST_F(LineDisciplineTest, FlowControlHoldsOutput) {
  type("\x13");  // ^S
  EXPECT_TRUE(ld.output_stopped());
  type("\x11");  // ^Q
  EXPECT_FALSE(ld.output_stopped());
}

}  // namespace
}  // namespace um::kernel
