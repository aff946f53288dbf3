#include "umkernel/kernel/ptrace.h"

#include <gtest/gtest.h>
#include <linux/ptrace.h>
#include <sched.h>
#include <sys/wait.h>

#include "umkernel/kernel/kernel.h"

namespace um::kernel {
namespace {

// The tracer's bookkeeping: stops and exits its wait reports, events chosen by options. No
// guest runs (tasks without a platform context).
struct PtraceTest : ::testing::Test {
  Kernel k;
  std::shared_ptr<Process> tracer = make(10, 10), parent = make(20, 20), traced = make(30, 20);
  Task tracer_task{10, nullptr, tracer}, leader{30, nullptr, traced}, thread{31, nullptr, traced};

  std::shared_ptr<Process> make(int pid, int pgid) {
    auto p = std::make_shared<Process>();
    p->pid = pid;
    p->pgid = pgid;
    p->sighand = std::make_shared<SignalHandlers>();
    k.register_process(p);
    return p;
  }
  void SetUp() override {
    traced->parent = parent;
    traced->threads = {&leader, &thread};
    tracer->threads = {&tracer_task};
  }
  int64_t wait(int64_t pid, int* status, bool nowait = false, bool* any = nullptr) {
    bool a = false;
    int64_t r = ptrace_wait(tracer_task, pid, 0, status, nullptr, nowait, any ? any : &a);
    return r;
  }
};

TEST_F(PtraceTest, AStopIsReportedOnceUnlessWnowait) {
  ptrace_link(leader, tracer, false, PTRACE_O_TRACESYSGOOD);
  EXPECT_EQ(ptrace_tracer(leader), tracer);
  EXPECT_EQ(ptrace_tracer_pid(*traced), 10);
  int st = 0;
  bool any = false;
  EXPECT_EQ(wait(-1, &st, false, &any), 0);  // traced, not stopped
  EXPECT_TRUE(any);
  k.ptrace_stop(leader, SIGTRAP | 0x80, PtraceAfter::SyscallExit, nullptr);
  EXPECT_EQ(leader.state, TaskState::Traced);
  EXPECT_EQ(wait(30, &st, true), 30);
  EXPECT_EQ(st, ((SIGTRAP | 0x80) << 8) | 0x7f);
  EXPECT_EQ(wait(30, &st), 30);
  EXPECT_TRUE(WIFSTOPPED(st));
  EXPECT_EQ(wait(30, &st), 0);  // reported already: the task stays stopped, silently
  EXPECT_TRUE(leader.ptrace.has_siginfo);
  EXPECT_EQ(leader.ptrace.siginfo.si_signo, SIGTRAP);
  EXPECT_EQ(leader.ptrace.siginfo.si_code, SIGTRAP | 0x80);
}

TEST_F(PtraceTest, ANonSeizedGroupStopHasNoSiginfo) {
  ptrace_link(leader, tracer, false, 0);
  k.ptrace_stop(leader, SIGSTOP, PtraceAfter::Group, nullptr);
  EXPECT_FALSE(leader.ptrace.has_siginfo);
  ptrace_unlink(leader);
  ptrace_link(leader, tracer, true, 0);
  k.ptrace_stop(leader, SIGSTOP | (PTRACE_EVENT_STOP << 8), PtraceAfter::Group, nullptr);
  EXPECT_TRUE(leader.ptrace.has_siginfo);
  EXPECT_EQ(leader.ptrace.siginfo.si_signo, SIGSTOP);
}

TEST_F(PtraceTest, WaitMatchesThreadIdsAndProcessGroups) {
  ptrace_link(thread, tracer, false, 0);
  k.ptrace_stop(thread, SIGTRAP, PtraceAfter::Signal, nullptr);
  int st;
  bool any = false;
  EXPECT_EQ(wait(30, &st, true, &any), 0);  // the leader's id is not the thread's
  EXPECT_FALSE(any);
  EXPECT_EQ(wait(-10, &st, true), 0);        // another process group
  EXPECT_EQ(wait(-20, &st, true), 31);       // the tracee's group
  EXPECT_EQ(wait(31, &st), 31);
}

TEST_F(PtraceTest, ATracedThreadsExitIsTheTracersToReap) {
  ptrace_link(thread, tracer, false, 0);
  ptrace_task_died(thread, 3 << 8);
  EXPECT_TRUE(tracer->tracees.empty());
  EXPECT_FALSE(thread.ptrace.attached);
  int st = 0;
  EXPECT_EQ(wait(31, &st), 31);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 3);
  bool any = false;
  EXPECT_EQ(wait(-1, &st, false, &any), 0);
  EXPECT_FALSE(any);  // nothing left: the caller's wait says ECHILD
}

TEST_F(PtraceTest, ATracedLeadersParentHearsOfItsDeathAfterTheTracer) {
  ptrace_link(leader, tracer, false, 0);
  traced->zombie = true;
  traced->exit_status = 7 << 8;
  ptrace_task_died(leader, 7 << 8);
  EXPECT_TRUE(traced->parent_notify_deferred);
  int st = 0;
  EXPECT_EQ(wait(30, &st), 30);
  EXPECT_FALSE(traced->parent_notify_deferred);  // the parent's wait may now reap it
}

TEST_F(PtraceTest, ALeaderTracedByItsParentIsReportedOnlyAsAChild) {
  traced->parent = tracer;
  ptrace_link(leader, tracer, false, 0);
  ptrace_task_died(leader, 0);
  EXPECT_FALSE(traced->parent_notify_deferred);
  EXPECT_TRUE(tracer->tracee_exits.empty());
}

TEST_F(PtraceTest, CloneEventsFollowFlagsAndOptions) {
  EXPECT_EQ(ptrace_clone_event(leader, SIGCHLD), 0);  // not traced
  ptrace_link(leader, tracer, false, PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE);
  EXPECT_EQ(ptrace_clone_event(leader, SIGCHLD), PTRACE_EVENT_FORK);
  EXPECT_EQ(ptrace_clone_event(leader, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND), PTRACE_EVENT_CLONE);
  EXPECT_EQ(ptrace_clone_event(leader, CLONE_VFORK | CLONE_VM | SIGCHLD), 0);  // no TRACEVFORK
  EXPECT_EQ(ptrace_clone_event(leader, CLONE_UNTRACED | SIGCHLD), 0);
  leader.ptrace.options |= PTRACE_O_TRACEVFORK;
  EXPECT_EQ(ptrace_clone_event(leader, CLONE_VFORK | CLONE_VM | SIGCHLD), PTRACE_EVENT_VFORK);
}

TEST_F(PtraceTest, TheTracersExitDetachesItsTracees) {
  ptrace_link(leader, tracer, false, 0);
  ptrace_link(thread, tracer, false, 0);
  ptrace_tracer_exiting(*tracer);
  EXPECT_FALSE(leader.ptrace.attached);
  EXPECT_FALSE(thread.ptrace.attached);
  EXPECT_TRUE(tracer->tracees.empty());
}

}  // namespace
}  // namespace um::kernel
