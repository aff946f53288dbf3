// The event syscall family: epoll, eventfd, timerfd, signalfd and POSIX per-process timers
// (timer_create...). Rows for the syscall table sit next to the handlers, at the end.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

#include <climits>
#include <map>
#include <vector>

#include "umkernel/kernel/blocking.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/time_ns.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/event_files.h"

namespace um::kernel {

namespace {


// The open file of `fd` if it is an F; else null with err = -EBADF or -EINVAL.
template <class F>
std::shared_ptr<F> file_as(Task& t, int fd, int64_t& err) {
  FilePtr f = t.proc->fds->get(fd);
  if (!f) { err = -EBADF; return nullptr; }
  auto typed = std::dynamic_pointer_cast<F>(f);
  err = typed ? 0 : -EINVAL;
  return typed;
}

// Installs a new anonymous file; returns the fd or -errno.
int64_t install(Task& t, FilePtr f, bool cloexec) { return t.proc->fds->install(std::move(f), cloexec); }


// ---------------------------------------------------------------------------------------
// epoll

int64_t sys_epoll_create1(Task& t) {
  int flags = static_cast<int>(t.arg(0));
  if (flags & ~EPOLL_CLOEXEC) return -EINVAL;
  return install(t, std::make_shared<EpollFile>(), flags & EPOLL_CLOEXEC);
}

int64_t sys_epoll_create(Task& t) {
  if (static_cast<int>(t.arg(0)) <= 0) return -EINVAL;
  return install(t, std::make_shared<EpollFile>(), false);
}

// Linux's do_epoll_ctl checks, in its order.
int64_t sys_epoll_ctl(Task& t) {
  int epfd = static_cast<int>(t.arg(0)), op = static_cast<int>(t.arg(1)), fd = static_cast<int>(t.arg(2));
  epoll_event ev{};
  if (op != EPOLL_CTL_DEL && get_user(t, t.arg(3), ev) < 0) return -EFAULT;
  FilePtr ep = t.proc->fds->get(epfd);
  if (!ep || (ep->flags() & O_PATH)) return -EBADF;
  FilePtr target = t.proc->fds->get(fd);
  if (!target || (target->flags() & O_PATH)) return -EBADF;
  // A file that can never report a readiness change (regular files, directories) cannot be
  // watched: Linux's "no poll method".
  if (!target->wait_queue()) return -EPERM;
  auto* epoll = dynamic_cast<EpollFile*>(ep.get());
  if (ep == target || !epoll) return -EINVAL;
  constexpr uint32_t kExclusiveOk = EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM |
                                    EPOLLWRBAND | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
  if (op != EPOLL_CTL_DEL && (ev.events & EPOLLEXCLUSIVE)) {
    if (op == EPOLL_CTL_MOD) return -EINVAL;
    if (op == EPOLL_CTL_ADD && (dynamic_cast<EpollFile*>(target.get()) || (ev.events & ~kExclusiveOk)))
      return -EINVAL;
  }
  return epoll->ctl(op, fd, target, ev.events, ev.data.u64);
}

int64_t do_epoll_wait(Task& t, int epfd, uint64_t events_addr, int maxevents, int64_t timeout_ns) {
  constexpr int kMaxEvents = INT_MAX / sizeof(epoll_event);
  if (maxevents <= 0 || maxevents > kMaxEvents) return -EINVAL;
  // access_ok(): the buffer must lie in user space (whether it is mapped shows at the copy).
  constexpr uint64_t kTaskSize = 0x7ffffffff000ull;
  uint64_t bytes = static_cast<uint64_t>(maxevents) * sizeof(epoll_event);
  if (events_addr > kTaskSize || bytes > kTaskSize - events_addr) return -EFAULT;
  int64_t err;
  auto ep = file_as<EpollFile>(t, epfd, err);
  if (!ep) return err;
  std::vector<epoll_event> out;
  int n = ep->collect(out, maxevents);
  if (n > 0) {
    if (copy_to_user(t, events_addr, out.data(), n * sizeof(epoll_event)) < 0) return -EFAULT;
    return n;
  }
  if (timeout_ns == 0 || deadline_passed(t, timeout_ns)) return 0;
  t.wait_on(*ep->wait_queue());
  t.sys_restartable = false;  // epoll_wait is never restarted after a handler
  return kBlock;
}

int64_t sys_epoll_wait(Task& t) {
  int timeout_ms = static_cast<int>(t.arg(3));
  return do_epoll_wait(t, static_cast<int>(t.arg(0)), t.arg(1), static_cast<int>(t.arg(2)),
                       timeout_ms < 0 ? -1 : timeout_ms * 1000000ll);
}

int64_t finish_pwait(Task& t, int64_t r) {
  if (r != kBlock && r != -EINTR) restore_temporary_sigmask(t);
  return r;
}

int64_t sys_epoll_pwait(Task& t) {
  if (int64_t r = apply_temporary_sigmask(t, t.arg(4), t.arg(5)); r < 0) return r;
  return finish_pwait(t, sys_epoll_wait(t));
}

int64_t sys_epoll_pwait2(Task& t) {
  int64_t timeout = -1;
  if (t.arg(3)) {
    timespec ts;
    if (get_user(t, t.arg(3), ts) < 0) return -EFAULT;
    if (!valid_timespec(ts)) return -EINVAL;
    timeout = timespec_to_ns(ts);
  }
  if (int64_t r = apply_temporary_sigmask(t, t.arg(4), t.arg(5)); r < 0) return r;
  return finish_pwait(t, do_epoll_wait(t, static_cast<int>(t.arg(0)), t.arg(1), static_cast<int>(t.arg(2)), timeout));
}

// ---------------------------------------------------------------------------------------
// eventfd

int64_t sys_eventfd2(Task& t) {
  unsigned initval = static_cast<unsigned>(t.arg(0));
  int flags = static_cast<int>(t.arg(1));
  if (flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) return -EINVAL;
  auto f = std::make_shared<EventFdFile>(initval, flags & EFD_NONBLOCK, flags & EFD_SEMAPHORE);
  return install(t, f, flags & EFD_CLOEXEC);
}

int64_t sys_eventfd(Task& t) {
  t.sys_args[1] = 0;
  return sys_eventfd2(t);
}

// ---------------------------------------------------------------------------------------
// timerfd

int64_t sys_timerfd_create(Task& t) {
  int clock = static_cast<int>(t.arg(0)), flags = static_cast<int>(t.arg(1));
  if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) return -EINVAL;
  if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME && clock != CLOCK_REALTIME_ALARM &&
      clock != CLOCK_BOOTTIME && clock != CLOCK_BOOTTIME_ALARM)
    return -EINVAL;
  return install(t, std::make_shared<TimerFdFile>(clock, flags & TFD_NONBLOCK), flags & TFD_CLOEXEC);
}

int64_t sys_timerfd_settime(Task& t) {
  int fd = static_cast<int>(t.arg(0)), flags = static_cast<int>(t.arg(1));
  itimerspec nv;
  if (get_user(t, t.arg(2), nv) < 0) return -EFAULT;
  if ((flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) || !valid_timespec(nv.it_value) || !valid_timespec(nv.it_interval))
    return -EINVAL;
  int64_t err;
  auto tf = file_as<TimerFdFile>(t, fd, err);
  if (!tf) return err;
  itimerspec old{};
  tf->settime(flags, nv, &old);
  if (t.arg(3) && put_user(t, t.arg(3), old) < 0) return -EFAULT;
  return 0;
}

int64_t sys_timerfd_gettime(Task& t) {
  int64_t err;
  auto tf = file_as<TimerFdFile>(t, static_cast<int>(t.arg(0)), err);
  if (!tf) return err;
  itimerspec cur;
  tf->gettime(cur);
  return put_user(t, t.arg(1), cur);
}

// ---------------------------------------------------------------------------------------
// signalfd

int64_t sys_signalfd4(Task& t) {
  int fd = static_cast<int>(t.arg(0)), flags = static_cast<int>(t.arg(3));
  if (t.arg(2) != sizeof(uint64_t)) return -EINVAL;
  uint64_t mask;
  if (get_user(t, t.arg(1), mask) < 0) return -EFAULT;
  if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK)) return -EINVAL;
  if (fd == -1) {
    auto f = std::make_shared<SignalFdFile>(t, mask, flags & SFD_NONBLOCK);
    return install(t, f, flags & SFD_CLOEXEC);
  }
  int64_t err;
  auto sf = file_as<SignalFdFile>(t, fd, err);
  if (!sf) return err;
  sf->set_mask(mask);
  return fd;
}

int64_t sys_signalfd(Task& t) {
  t.sys_args[3] = 0;
  return sys_signalfd4(t);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// POSIX timers. Expirations are counted from the timeline (a late kernel timer loses none);
// while a timer's signal is still queued, further expirations raise its si_overrun instead
// of queuing another signal, as Linux.

struct PosixTimer {
  int id = 0;
  int clock = CLOCK_MONOTONIC;
  int notify = SIGEV_SIGNAL;
  int signo = SIGALRM;
  uint64_t value = 0;       // sigev_value
  int target_tid = 0;       // SIGEV_THREAD_ID
  bool armed = false;
  int64_t next_ns = 0;      // CLOCK_MONOTONIC
  int64_t interval_ns = 0;
  uint64_t kernel_timer = 0;
  int queued_overrun = 0;   // si_overrun of the signal queued last
  int overrun_last = 0;     // timer_getoverrun: overrun of the signal delivered last
};

struct PosixTimers {
  std::map<int, PosixTimer> timers;
  int next_id = 0;
};

namespace {

constexpr size_t kMaxPosixTimers = 4096;

// The timer's signal if it is still pending (not yet delivered), else nullptr.
PendingSignal* queued_signal(Process& p, const PosixTimer& tm) {
  auto match = [&](PendingSignal& s) {
    return s.sig == tm.signo && s.info.si_code == SI_TIMER && s.info.si_timerid == tm.id;
  };
  for (auto& s : p.shared_pending)
    if (match(s)) return &s;
  for (Task* th : p.threads)
    for (auto& s : th->pending)
      if (match(s)) return &s;
  return nullptr;
}

int64_t expirations_until(PosixTimer& tm, int64_t now) {
  if (!tm.armed || now < tm.next_ns) return 0;
  if (tm.interval_ns <= 0) {
    tm.armed = false;
    return 1;
  }
  int64_t k = (now - tm.next_ns) / tm.interval_ns + 1;
  tm.next_ns += k * tm.interval_ns;
  return k;
}

void signal_expiry(Process& p, PosixTimer& tm, int64_t expirations) {
  if (tm.notify == SIGEV_NONE) return;
  int add = static_cast<int>(std::min<int64_t>(expirations, INT_MAX));
  if (PendingSignal* s = queued_signal(p, tm)) {
    s->info.si_overrun = static_cast<int>(std::min<int64_t>(int64_t{s->info.si_overrun} + add, INT_MAX));
    tm.queued_overrun = s->info.si_overrun;
    return;
  }
  tm.overrun_last = tm.queued_overrun;  // the previous signal has been delivered
  siginfo_t si{};
  si.si_signo = tm.signo;
  si.si_code = SI_TIMER;
  si.si_timerid = tm.id;
  si.si_overrun = add - 1;
  si.si_value.sival_ptr = reinterpret_cast<void*>(tm.value);
  tm.queued_overrun = add - 1;
  Task* target = tm.target_tid ? kernel().task_by_tid(tm.target_tid) : nullptr;
  if (target && target->proc.get() == &p) kernel().send_signal_to_task(*target, tm.signo, &si);
  else kernel().send_signal_to_process(p, tm.signo, &si);
}

void arm_posix_timer(Process& p, PosixTimer& tm, int64_t at) {
  if (!tm.armed || tm.notify == SIGEV_NONE) return;  // SIGEV_NONE is only ever read
  std::weak_ptr<Process> wp = kernel().process_by_pid(p.pid);
  std::weak_ptr<PosixTimers> wt = p.posix_timers;
  int id = tm.id;
  tm.kernel_timer = kernel().add_timer(at, [wp, wt, id]() {
    auto proc = wp.lock();
    auto timers = wt.lock();
    if (!proc || !timers || proc->zombie) return;
    auto found = timers->timers.find(id);
    if (found == timers->timers.end()) return;
    PosixTimer& tm = found->second;
    tm.kernel_timer = 0;
    int64_t now = monotonic_ns();
    int64_t n = expirations_until(tm, now);
    // Linux re-arms when the signal is dequeued; here the timer keeps counting overruns
    // while its signal stays pending, but then at most every millisecond.
    int64_t gap = queued_signal(*proc, tm) ? 1000000 : 100000;
    if (n) signal_expiry(*proc, tm, n);
    arm_posix_timer(*proc, tm, std::max(tm.next_ns, now + gap));
  });
}

void timer_value(const PosixTimer& tm, itimerspec& cur) {
  int64_t now = monotonic_ns();
  int64_t left = 0;
  if (tm.armed) {
    int64_t next = tm.next_ns;
    if (next <= now && tm.interval_ns > 0) next += ((now - next) / tm.interval_ns + 1) * tm.interval_ns;
    left = next > now ? next - now : (tm.interval_ns > 0 ? tm.interval_ns : 0);
  }
  cur.it_interval = ns_to_timespec(tm.interval_ns);
  cur.it_value = ns_to_timespec(left);
}

PosixTimer* find_timer(Task& t, int id) {
  auto& pt = t.proc->posix_timers;
  if (!pt) return nullptr;
  auto it = pt->timers.find(id);
  return it == pt->timers.end() ? nullptr : &it->second;
}

// The kernel's struct sigevent (64 bytes).
struct KSigEvent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t tid;
  int32_t pad[11];
};
static_assert(sizeof(KSigEvent) == 64);

int64_t sys_timer_create(Task& t) {
  int clock = static_cast<int>(t.arg(0));
  switch (clock) {
    case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
    case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
      break;
    case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE:
      return -EOPNOTSUPP;  // clocks without timers
    default:
      return -EINVAL;      // includes CPU-time clocks, not supported here
  }
  Process& p = *t.proc;
  if (!p.posix_timers) p.posix_timers = std::make_shared<PosixTimers>();
  PosixTimers& pt = *p.posix_timers;
  PosixTimer tm;
  tm.clock = clock;
  bool have_event = t.arg(1) != 0;
  if (have_event) {
    KSigEvent ev;
    if (get_user(t, t.arg(1), ev) < 0) return -EFAULT;
    switch (ev.notify) {
      case SIGEV_SIGNAL | SIGEV_THREAD_ID: {
        Task* target = kernel().task_by_tid(ev.tid);
        if (!target || target->proc.get() != &p) return -EINVAL;
        tm.target_tid = ev.tid;
        [[fallthrough]];
      }
      case SIGEV_SIGNAL: case SIGEV_THREAD:
        if (ev.signo <= 0 || ev.signo > 64) return -EINVAL;
        [[fallthrough]];
      case SIGEV_NONE:
        break;
      default:
        return -EINVAL;
    }
    tm.notify = ev.notify == SIGEV_NONE ? SIGEV_NONE : SIGEV_SIGNAL;
    tm.signo = ev.signo;
    tm.value = ev.value;
  }
  if (pt.timers.size() >= kMaxPosixTimers) return -EAGAIN;
  int id = pt.next_id;
  while (pt.timers.count(id)) id = id == INT_MAX ? 0 : id + 1;
  pt.next_id = id == INT_MAX ? 0 : id + 1;
  tm.id = id;
  if (!have_event) tm.value = static_cast<uint64_t>(id);  // SIGALRM with sival_int = id
  if (put_user(t, t.arg(2), id) < 0) return -EFAULT;
  pt.timers.emplace(id, tm);
  return 0;
}

int64_t sys_timer_settime(Task& t) {
  int id = static_cast<int>(t.arg(0)), flags = static_cast<int>(t.arg(1));
  if (!t.arg(2)) return -EINVAL;
  itimerspec nv;
  if (get_user(t, t.arg(2), nv) < 0) return -EFAULT;
  if (!valid_timespec(nv.it_value) || !valid_timespec(nv.it_interval)) return -EINVAL;
  PosixTimer* tm = find_timer(t, id);
  if (!tm) return -EINVAL;
  itimerspec old;
  timer_value(*tm, old);
  if (tm->kernel_timer) kernel().cancel_timer(tm->kernel_timer);
  tm->kernel_timer = 0;
  tm->interval_ns = timespec_to_ns(nv.it_interval);
  int64_t v = timespec_to_ns(nv.it_value);
  tm->armed = v != 0;
  if (tm->armed) {
    int64_t now = monotonic_ns();
    if (flags & TIMER_ABSTIME) {
      timespec c;
      guest_clock_gettime(tm->clock == CLOCK_REALTIME_ALARM ? CLOCK_REALTIME
                    : tm->clock == CLOCK_BOOTTIME_ALARM ? CLOCK_BOOTTIME : tm->clock, &c);
      tm->next_ns = now + (v - timespec_to_ns(c));
    } else {
      tm->next_ns = now + v;
    }
    arm_posix_timer(*t.proc, *tm, tm->next_ns);
  }
  if (t.arg(3) && put_user(t, t.arg(3), old) < 0) return -EFAULT;
  return 0;
}

int64_t sys_timer_gettime(Task& t) {
  PosixTimer* tm = find_timer(t, static_cast<int>(t.arg(0)));
  if (!tm) return -EINVAL;
  itimerspec cur;
  timer_value(*tm, cur);
  return put_user(t, t.arg(1), cur);
}

int64_t sys_timer_getoverrun(Task& t) {
  PosixTimer* tm = find_timer(t, static_cast<int>(t.arg(0)));
  if (!tm) return -EINVAL;
  if (!queued_signal(*t.proc, *tm)) tm->overrun_last = tm->queued_overrun;
  return tm->overrun_last;
}

int64_t sys_timer_delete(Task& t) {
  int id = static_cast<int>(t.arg(0));
  PosixTimer* tm = find_timer(t, id);
  if (!tm) return -EINVAL;
  if (tm->kernel_timer) kernel().cancel_timer(tm->kernel_timer);
  t.proc->posix_timers->timers.erase(id);
  return 0;
}

const SyscallRow kEventRows[] = {
    UM_FULL(epoll_create, "d"), UM_FULL(epoll_create1, "x"),
    UM_PARTIAL(epoll_ctl, "fdfp", "EPOLLEXCLUSIVE accepted (all waiters wake)"),
    UM_FULL(epoll_wait, "fpdd"), UM_FULL(epoll_pwait, "fpddpu"), UM_FULL(epoll_pwait2, "fpdppu"),
    UM_FULL(eventfd, "u"), UM_FULL(eventfd2, "ux"),
    UM_PARTIAL(timerfd_create, "dx", "alarm clocks tick as their base clocks"),
    UM_PARTIAL(timerfd_settime, "fxpp", "TFD_TIMER_CANCEL_ON_SET accepted, never cancels"),
    UM_FULL(timerfd_gettime, "fp"),
    UM_PARTIAL(signalfd, "fpu", "poll readiness follows the creating thread"),
    UM_PARTIAL(signalfd4, "fpux", "poll readiness follows the creating thread"),
    UM_PARTIAL(timer_create, "dpp", "no CPU-time clocks"),
    UM_FULL(timer_settime, "dxpp"), UM_FULL(timer_gettime, "dp"),
    UM_FULL(timer_getoverrun, "d"), UM_FULL(timer_delete, "d"),
};

}  // namespace

std::span<const SyscallRow> event_syscalls() { return kEventRows; }

}  // namespace um::kernel
