// poll and select: readiness comes from each open file; a task with nothing ready parks on
// the wait queues of all its files (and its deadline) and re-checks when any of them wakes.
#include <poll.h>
#include <sys/select.h>

#include <vector>

#include "umkernel/kernel/blocking.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/time_ns.h"

namespace um::kernel {

namespace {


int64_t do_poll(Task& t, uint64_t fds_addr, uint64_t nfds, int64_t timeout_ns) {
  if (nfds > FdTable::kMaxFds * 4) return -EINVAL;
  std::vector<pollfd> pfds(nfds);
  if (nfds && copy_from_user(t, pfds.data(), fds_addr, nfds * sizeof(pollfd)) < 0) return -EFAULT;
  int ready = 0;
  std::vector<FilePtr> files(nfds);
  for (size_t i = 0; i < nfds; i++) {
    pfds[i].revents = 0;
    if (pfds[i].fd < 0) continue;
    files[i] = t.proc->fds->get(pfds[i].fd);
    if (!files[i]) {
      pfds[i].revents = POLLNVAL;
    } else {
      unsigned ev = files[i]->poll();
      pfds[i].revents = static_cast<short>(ev & (pfds[i].events | POLLERR | POLLHUP | POLLNVAL));
      if (pfds[i].revents) files[i]->poll_reported(static_cast<uint16_t>(pfds[i].revents));
    }
    if (pfds[i].revents) ready++;
  }
  if (ready || timeout_ns == 0 || deadline_passed(t, timeout_ns)) {
    if (nfds && copy_to_user(t, fds_addr, pfds.data(), nfds * sizeof(pollfd)) < 0) return -EFAULT;
    return ready;
  }
  for (auto& f : files)
    if (f && f->wait_queue()) t.wait_on(*f->wait_queue());
  t.sys_restartable = false;
  return kBlock;
}

int64_t do_select(Task& t, int nfds, uint64_t r_addr, uint64_t w_addr, uint64_t e_addr, int64_t timeout_ns) {
  if (nfds < 0 || nfds > FdTable::kMaxFds) return -EINVAL;
  size_t bytes = (static_cast<size_t>(nfds) + 63) / 64 * 8;
  std::vector<uint64_t> in[3], out[3];
  uint64_t addrs[3] = {r_addr, w_addr, e_addr};
  for (int k = 0; k < 3; k++) {
    in[k].assign(bytes / 8, 0);
    out[k].assign(bytes / 8, 0);
    if (addrs[k] && bytes && copy_from_user(t, in[k].data(), addrs[k], bytes) < 0) return -EFAULT;
  }
  int ready = 0;
  std::vector<FilePtr> waiting;
  for (int fd = 0; fd < nfds; fd++) {
    uint64_t bit = 1ull << (fd % 64);
    size_t w = fd / 64;
    bool want[3] = {(in[0][w] & bit) != 0, (in[1][w] & bit) != 0, (in[2][w] & bit) != 0};
    if (!want[0] && !want[1] && !want[2]) continue;
    FilePtr f = t.proc->fds->get(fd);
    if (!f) return -EBADF;
    unsigned ev = f->poll();
    if (want[0] && (ev & (POLLIN | POLLHUP | POLLERR))) { out[0][w] |= bit; ready++; }
    if (want[1] && (ev & (POLLOUT | POLLERR))) { out[1][w] |= bit; ready++; }
    if (want[2] && (ev & POLLPRI)) { out[2][w] |= bit; ready++; }
    if (ev & POLLPRI && want[2]) f->poll_reported(POLLPRI);
    waiting.push_back(f);
  }
  if (ready || timeout_ns == 0 || deadline_passed(t, timeout_ns)) {
    for (int k = 0; k < 3; k++)
      if (addrs[k] && bytes && copy_to_user(t, addrs[k], out[k].data(), bytes) < 0) return -EFAULT;
    return ready;
  }
  for (auto& f : waiting)
    if (f->wait_queue()) t.wait_on(*f->wait_queue());
  t.sys_restartable = false;
  return kBlock;
}

int64_t timespec_timeout(Task& t, uint64_t addr, int64_t& out) {
  out = -1;
  if (!addr) return 0;
  timespec ts;
  if (get_user(t, addr, ts) < 0) return -EFAULT;
  if (!valid_timespec(ts)) return -EINVAL;
  out = timespec_to_ns(ts);
  return 0;
}

}  // namespace

int64_t sys_poll(Task& t) {
  int timeout_ms = static_cast<int>(t.arg(2));
  return do_poll(t, t.arg(0), t.arg(1), timeout_ms < 0 ? -1 : timeout_ms * 1000000ll);
}

int64_t sys_ppoll(Task& t) {
  int64_t timeout;
  if (int64_t r = timespec_timeout(t, t.arg(2), timeout); r < 0) return r;
  if (int64_t r = apply_temporary_sigmask(t, t.arg(3), t.arg(4)); r < 0) return r;
  int64_t r = do_poll(t, t.arg(0), t.arg(1), timeout);
  if (r != kBlock && r != -EINTR) restore_temporary_sigmask(t);
  return r;
}

int64_t sys_select(Task& t) {
  int64_t timeout = -1;
  if (t.arg(4)) {
    timeval tv;
    if (get_user(t, t.arg(4), tv) < 0) return -EFAULT;
    if (tv.tv_sec < 0 || tv.tv_usec < 0) return -EINVAL;
    timeout = timeval_to_ns(tv);
  }
  int64_t r = do_select(t, static_cast<int>(t.arg(0)), t.arg(1), t.arg(2), t.arg(3), timeout);
  if (r >= 0 && t.arg(4)) {  // Linux reports the time left
    int64_t left = t.sys_deadline_ns < 0 ? 0 : std::max<int64_t>(0, t.sys_deadline_ns - monotonic_ns());
    if (timeout == 0) left = 0;
    timeval tv{left / 1000000000, (left % 1000000000) / 1000};
    // Linux ignores a fault here: the select itself has completed (poll_select_finish).
    (void)put_user(t, t.arg(4), tv);
  }
  return r;
}

int64_t sys_pselect6(Task& t) {
  int64_t timeout;
  if (int64_t r = timespec_timeout(t, t.arg(4), timeout); r < 0) return r;
  if (t.arg(5)) {
    struct { uint64_t set; uint64_t size; } sm;
    if (get_user(t, t.arg(5), sm) < 0) return -EFAULT;
    if (int64_t r = apply_temporary_sigmask(t, sm.set, sm.size); r < 0) return r;
  }
  int64_t r = do_select(t, static_cast<int>(t.arg(0)), t.arg(1), t.arg(2), t.arg(3), timeout);
  if (r != kBlock) restore_temporary_sigmask(t);
  return r;
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(poll, "pud"), UM_FULL(ppoll, "pupp"), UM_FULL(select, "dpppp"),
    UM_FULL(pselect6, "dppppp"),
};

}  // namespace

std::span<const SyscallRow> poll_syscalls() { return kRows; }

}  // namespace um::kernel
