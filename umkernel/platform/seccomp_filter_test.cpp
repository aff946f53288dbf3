#include "umkernel/platform/seccomp_filter.h"

#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umkernel/platform/seccomp_layout.h"

namespace um::kernel::platform {
namespace {

TEST(SeccompStub, CodeAndFilterFitTheirPages) {
  EXPECT_LE(SC_CODE_OFFSET + seccomp_stub_code_size(), 4096u);
  EXPECT_LE(16 + seccomp_filter_program().size() * sizeof(sock_filter), 4096u);
  for (uint64_t a : {seccomp_clone_site(), seccomp_clone_trap(), seccomp_start_site()})
    EXPECT_TRUE(seccomp_in_stub_code(a)) << std::hex << a;
  EXPECT_FALSE(seccomp_in_stub_code(SC_STUB_BASE + 0x1000));
}

// Under the filter, a system call made outside the stub's code traps: with SIGSYS at its
// default action, the process dies of it (it never runs on the host).
TEST(SeccompFilter, TrapsCallsOutsideTheStub) {
  std::vector<sock_filter> f = seccomp_filter_program();
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGSYS, SIG_DFL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(2);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) _exit(3);
    syscall(SYS_getppid);
    _exit(4);  // traps too
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

}  // namespace
}  // namespace um::kernel::platform
