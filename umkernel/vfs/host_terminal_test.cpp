#include "umkernel/vfs/host_terminal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

using um::kernel::HostTerminal;

namespace {

// A pty pair; the slave is the "host terminal".
struct Pty {
  int master = -1, slave = -1;
  Pty() { EXPECT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0); }
  ~Pty() {
    close(master);
    close(slave);
  }
  bool canonical() const {
    termios t;
    return tcgetattr(slave, &t) == 0 && (t.c_lflag & ICANON) && (t.c_lflag & ECHO);
  }
  bool nonblocking() const { return fcntl(slave, F_GETFL) & O_NONBLOCK; }
};

// Runs `body` in a child that is a session leader with the pty slave as its controlling
// terminal (so it owns the foreground); returns the child's wait status.
template <typename F>
int in_terminal_session(const Pty& pty, F body) {
  pid_t pid = fork();
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    setsid();
    if (ioctl(pty.slave, TIOCSCTTY, 0) != 0) _exit(90);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST(HostTerminal, LeavesATerminalItDoesNotOwnTheForegroundOfAlone) {
  Pty pty;  // not our controlling terminal: no foreground group of ours
  HostTerminal term(pty.slave, true, nullptr);
  EXPECT_FALSE(term.owns_foreground());
  EXPECT_FALSE(term.take());
  EXPECT_TRUE(pty.canonical());
  EXPECT_FALSE(pty.nonblocking());
}

TEST(HostTerminal, TakesTheForegroundTerminalAndGivesItBackAsItWas) {
  Pty pty;
  int status = in_terminal_session(pty, [&] {
    HostTerminal term(pty.slave, true, nullptr);
    if (!term.owns_foreground() || !term.take()) return 1;
    if (pty.canonical() || !pty.nonblocking()) return 2;
    term.give_back();
    if (!pty.canonical() || pty.nonblocking()) return 3;
    if (!term.take()) return 4;
    return 0;  // the destructor gives it back
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(pty.canonical());
  EXPECT_FALSE(pty.nonblocking());
}

TEST(HostTerminal, InTheBackgroundItIsNeverStoppedAndDoesNotTakeTheTerminal) {
  Pty pty;
  int status = in_terminal_session(pty, [&] {
    HostTerminal::block_stop_signals();
    pid_t child = fork();
    if (child == 0) {
      setpgid(0, 0);  // a background process group of the session, as under timeout(1)
      HostTerminal term(pty.slave, true, nullptr);
      if (term.owns_foreground() || term.take()) _exit(1);
      // Terminal access from the background would stop it without the blocked signals.
      termios t;
      tcgetattr(pty.slave, &t);
      if (tcsetattr(pty.slave, TCSANOW, &t) != 0) _exit(2);
      _exit(0);
    }
    int st = 0;
    waitpid(child, &st, WUNTRACED);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(pty.canonical());
}

TEST(HostTerminal, AFatalSignalGivesTheTerminalBackFirst) {
  Pty pty;
  for (int sig : {SIGSEGV, SIGQUIT, SIGABRT}) {
    int status = in_terminal_session(pty, [&] {
      HostTerminal term(pty.slave, true, nullptr);
      if (!term.take()) return 1;
      raise(sig);
      return 2;
    });
    ASSERT_TRUE(WIFSIGNALED(status)) << sig;
    EXPECT_EQ(WTERMSIG(status), sig);
    EXPECT_TRUE(pty.canonical()) << strsignal(sig);
    EXPECT_FALSE(pty.nonblocking()) << strsignal(sig);
  }
}

TEST(HostTerminal, ExitGivesTheTerminalBack) {
  Pty pty;
  int status = in_terminal_session(pty, [&] {
    auto* term = new HostTerminal(pty.slave, true, nullptr);  // never destroyed: exit() restores
    if (!term->take()) return 1;
    exit(7);
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  EXPECT_TRUE(pty.canonical());
}
