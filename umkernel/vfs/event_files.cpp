#include "umkernel/vfs/event_files.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/signal_delivery.h"
#include "umkernel/kernel/time_ns.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {


// Host clock read for converting absolute timer settings (alarm clocks tick as their base).
int64_t clock_now_ns(int clock) {
  if (clock == CLOCK_REALTIME_ALARM) clock = CLOCK_REALTIME;
  if (clock == CLOCK_BOOTTIME_ALARM) clock = CLOCK_BOOTTIME;
  timespec ts;
  guest_clock_gettime(clock, &ts);
  return timespec_to_ns(ts);
}

// A re-armed timer never fires more often than this: expirations are counted from the
// timeline, so a 1 ns interval costs no more than a 100 us one.
constexpr int64_t kMinRearmNs = 100000;

}  // namespace

// ---------------------------------------------------------------------------------------
// eventfd

EventFdFile::EventFdFile(uint64_t initval, int flags, bool semaphore)
    : File(nullptr, O_RDWR | (flags & O_NONBLOCK)), count_(initval), semaphore_(semaphore) {
  path = "anon_inode:[eventfd]";
}

int64_t EventFdFile::read(Task&, void* buf, size_t n, int64_t*) {
  if (n < sizeof(uint64_t)) return -EINVAL;
  if (count_ == 0) return -EAGAIN;
  uint64_t v = semaphore_ ? 1 : count_;
  count_ -= v;
  memcpy(buf, &v, sizeof v);
  queue_.wake_all();
  return sizeof v;
}

int64_t EventFdFile::write(Task&, const void* buf, size_t n, int64_t*) {
  // Exactly 8 bytes, as Linux checks since 6.10 (before, it took 8 of a longer buffer).
  if (n != sizeof(uint64_t)) return -EINVAL;
  uint64_t v;
  memcpy(&v, buf, sizeof v);
  if (v == UINT64_MAX) return -EINVAL;
  if (kMax - count_ < v) return -EAGAIN;
  count_ += v;
  queue_.wake_all();
  return sizeof v;
}

unsigned EventFdFile::poll() {
  unsigned r = 0;
  if (count_ > 0) r |= POLLIN | POLLRDNORM;
  if (count_ < kMax) r |= POLLOUT | POLLWRNORM;
  return r;
}

// ---------------------------------------------------------------------------------------
// timerfd

TimerFdFile::TimerFdFile(int clock, int flags) : File(nullptr, O_RDWR | (flags & O_NONBLOCK)), clock_(clock) {
  path = "anon_inode:[timerfd]";
}

// The kernel timer holds only a weak reference, so nothing needs cancelling here (and the
// kernel may already be gone when the last files are destroyed at shutdown).
TimerFdFile::~TimerFdFile() = default;

void TimerFdFile::count_expirations(int64_t now) {
  if (!armed_ || now < next_ns_) return;
  if (interval_ns_ > 0) {
    int64_t k = (now - next_ns_) / interval_ns_ + 1;
    ticks_ += static_cast<uint64_t>(k);
    next_ns_ += k * interval_ns_;
  } else {
    ticks_ += 1;
    armed_ = false;
  }
}

// Armed only while no expiration is pending, as Linux's timerfd (its hrtimer restarts on
// read): an unread interval timer costs nothing, and an edge-triggered epoll sees one edge.
void TimerFdFile::arm_kernel_timer(int64_t at) {
  if (!armed_ || kernel_timer_ || ticks_) return;
  std::weak_ptr<File> weak = weak_from_this();
  kernel_timer_ = kernel().add_timer(at, [weak]() {
    auto self = std::static_pointer_cast<TimerFdFile>(weak.lock());
    if (!self) return;
    int64_t now = monotonic_ns();
    self->kernel_timer_ = 0;
    self->count_expirations(now);
    self->arm_kernel_timer(self->next_ns_);  // only if it fired early (nothing counted)
    self->queue_.wake_all();
  });
}

void TimerFdFile::settime(int flags, const itimerspec& value, itimerspec* old) {
  if (old) gettime(*old);
  if (kernel_timer_) kernel().cancel_timer(kernel_timer_);
  kernel_timer_ = 0;
  ticks_ = 0;
  interval_ns_ = timespec_to_ns(value.it_interval);
  int64_t v = timespec_to_ns(value.it_value);
  armed_ = v != 0;
  if (armed_) {
    int64_t now = monotonic_ns();
    next_ns_ = (flags & TFD_TIMER_ABSTIME) ? now + (v - clock_now_ns(clock_)) : now + v;
    arm_kernel_timer(next_ns_);
  }
  queue_.wake_all();  // readers re-check (a disarmed timer keeps them blocked)
}

void TimerFdFile::gettime(itimerspec& cur) {
  int64_t now = monotonic_ns();
  count_expirations(now);
  cur.it_interval = ns_to_timespec(interval_ns_);
  cur.it_value = ns_to_timespec(armed_ ? std::max<int64_t>(next_ns_ - now, 1) : 0);
}

int64_t TimerFdFile::read(Task&, void* buf, size_t n, int64_t*) {
  if (n < sizeof(uint64_t)) return -EINVAL;
  count_expirations(monotonic_ns());
  if (ticks_ == 0) return -EAGAIN;
  uint64_t v = ticks_;
  ticks_ = 0;
  memcpy(buf, &v, sizeof v);
  arm_kernel_timer(std::max(next_ns_, monotonic_ns() + kMinRearmNs));
  return sizeof v;
}

// TFD_IOC_SET_TICKS (checkpoint/restore): sets the pending expiration count.
constexpr unsigned long kSetTicks = _IOW('T', 0, uint64_t);  // TFD_IOC_SET_TICKS
int64_t TimerFdFile::ioctl(Task& t, unsigned long req, uint64_t arg) {
  if (req != kSetTicks) return -ENOTTY;
  uint64_t ticks;
  if (get_user(t, arg, ticks) < 0) return -EFAULT;
  if (ticks == 0) return -EINVAL;
  ticks_ = ticks;
  queue_.wake_all();
  return 0;
}

unsigned TimerFdFile::poll() {
  count_expirations(monotonic_ns());
  return ticks_ ? POLLIN | POLLRDNORM : 0;
}

// ---------------------------------------------------------------------------------------
// signalfd

SignalFdFile::SignalFdFile(Task& creator, uint64_t mask, int flags)
    : File(nullptr, O_RDWR | (flags & O_NONBLOCK)), owner_(creator.proc), creator_tid_(creator.tid),
      mask_(mask & ~kUnblockable) {
  path = "anon_inode:[signalfd]";
}

void SignalFdFile::set_mask(uint64_t mask) {
  mask_ = mask & ~kUnblockable;
  if (auto p = owner_.lock()) p->signal_queued.wake_all();
}

WaitQueue* SignalFdFile::wait_queue() {
  auto p = owner_.lock();
  return p ? &p->signal_queued : &orphan_queue_;
}

unsigned SignalFdFile::poll() {
  auto p = owner_.lock();
  if (!p) return 0;
  uint64_t pending = p->shared_pending_set;
  if (Task* t = kernel().task_by_tid(creator_tid_); t && t->proc == p) pending |= t->pending_set;
  return (pending & mask_) ? POLLIN | POLLRDNORM : 0;
}

namespace {

// struct signalfd_siginfo from a siginfo, field by field as Linux's signalfd_copyinfo (the
// layout follows the signal and its si_code).
signalfd_siginfo to_signalfd_info(const siginfo_t& si) {
  signalfd_siginfo o{};
  o.ssi_signo = static_cast<uint32_t>(si.si_signo);
  o.ssi_errno = si.si_errno;
  o.ssi_code = si.si_code;
  int sig = si.si_signo, code = si.si_code;
  bool kernel_code = code > SI_USER && code < SI_KERNEL;
  bool fault = sig == SIGILL || sig == SIGFPE || sig == SIGSEGV || sig == SIGBUS || sig == SIGTRAP;
  if (kernel_code && fault) {
    o.ssi_addr = reinterpret_cast<uint64_t>(si.si_addr);
  } else if (kernel_code && sig == SIGCHLD) {
    o.ssi_pid = static_cast<uint32_t>(si.si_pid);
    o.ssi_uid = si.si_uid;
    o.ssi_status = si.si_status;
    o.ssi_utime = static_cast<uint64_t>(si.si_utime);
    o.ssi_stime = static_cast<uint64_t>(si.si_stime);
  } else if ((kernel_code && (sig == SIGPOLL || code <= 6 /* NSIGPOLL */)) || code == SI_SIGIO) {
    o.ssi_band = static_cast<uint32_t>(si.si_band);
    o.ssi_fd = si.si_fd;
  } else if (code == SI_TIMER) {
    o.ssi_tid = static_cast<uint32_t>(si.si_timerid);
    o.ssi_overrun = static_cast<uint32_t>(si.si_overrun);
    o.ssi_ptr = reinterpret_cast<uint64_t>(si.si_ptr);
    o.ssi_int = si.si_int;
  } else if (code < 0) {  // sigqueue, tkill, mq_notify...
    o.ssi_pid = static_cast<uint32_t>(si.si_pid);
    o.ssi_uid = si.si_uid;
    o.ssi_ptr = reinterpret_cast<uint64_t>(si.si_ptr);
    o.ssi_int = si.si_int;
  } else {  // kill() and the kernel
    o.ssi_pid = static_cast<uint32_t>(si.si_pid);
    o.ssi_uid = si.si_uid;
  }
  return o;
}

}  // namespace

int64_t SignalFdFile::read(Task& t, void* buf, size_t n, int64_t*) {
  constexpr size_t kSize = sizeof(signalfd_siginfo);
  if (n < kSize) return -EINVAL;
  size_t done = 0;
  PendingSignal ps;
  while (done + kSize <= n && dequeue_from_set(t, mask_, ps)) {
    if (!(mask_ & sigbit(ps.sig))) {  // SIGSTOP/SIGKILL are never ours: queue it again
      kernel().send_signal_to_task(t, ps.sig, &ps.info);
      break;
    }
    signalfd_siginfo o = to_signalfd_info(ps.info);
    memcpy(static_cast<char*>(buf) + done, &o, kSize);
    done += kSize;
  }
  return done ? static_cast<int64_t>(done) : -EAGAIN;
}

// ---------------------------------------------------------------------------------------
// epoll

namespace {
constexpr uint32_t kPrivateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
constexpr int kMaxNests = 4;  // EP_MAX_NESTS

// Every live epoll instance, for finding the ones that contain a given one.
struct Epolls {
  std::set<const EpollFile*> all;
};
std::set<const EpollFile*>& all_epolls() { return kernel().state<Epolls>().all; }
}  // namespace

EpollFile::EpollFile() : File(nullptr, O_RDWR) {
  path = "anon_inode:[eventpoll]";
  all_epolls().insert(this);
}

// Entries own their wake callbacks; the files' queues hold them weakly, so dropping the
// entries is all the cleanup there is.
EpollFile::~EpollFile() { all_epolls().erase(this); }

unsigned EpollFile::readiness(Interest& it) {
  auto f = it.file.lock();
  if (!f) return 0;
  return f->poll() & it.events & ~kPrivateBits;
}

void EpollFile::make_ready(Interest& it) {
  if (it.on_ready) return;
  it.on_ready = true;
  ready_.push_back(&it);
  queue_.wake_all();
}

void EpollFile::remove(Interest& it) {
  if (it.on_ready) std::erase(ready_, &it);
  interests_.erase(Key{it.fd, it.key});
}

void EpollFile::drop_dead_entries() {
  for (auto i = interests_.begin(); i != interests_.end();) {
    Interest& it = *i->second;
    ++i;
    if (it.file.expired()) remove(it);
  }
}

void EpollFile::scan() {
  drop_dead_entries();
  for (auto& [key, it] : interests_) {
    if (!(it->events & ~kPrivateBits)) continue;  // a one-shot that already fired
    unsigned r = readiness(*it);
    bool edge = it->events & EPOLLET;
    if (r && (!edge || (r & ~it->last_seen))) make_ready(*it);
    it->last_seen = r;
  }
}

bool EpollFile::reaches(const EpollFile* target) const {
  for (auto& [key, it] : interests_) {
    auto f = it->file.lock();
    auto* inner = f ? dynamic_cast<const EpollFile*>(f.get()) : nullptr;
    if (inner && (inner == target || inner->reaches(target))) return true;
  }
  return false;
}

int EpollFile::depth_below() const {
  int d = 0;
  for (auto& [key, it] : interests_)
    if (auto f = it->file.lock())
      if (auto* inner = dynamic_cast<const EpollFile*>(f.get())) d = std::max(d, 1 + inner->depth_below());
  return d;
}

int EpollFile::depth_above() const {
  int d = 0;
  for (const EpollFile* outer : all_epolls())
    for (auto& [key, it] : outer->interests_)
      if (it->key == this && !it->file.expired()) d = std::max(d, 1 + outer->depth_above());
  return d;
}

int64_t EpollFile::ctl(int op, int fd, const FilePtr& target, uint32_t events, uint64_t data) {
  drop_dead_entries();
  // As Linux's ep_loop_check: no cycles, and no chain of more than EP_MAX_NESTS + 1 epolls.
  if (op == EPOLL_CTL_ADD)
    if (auto* inner = dynamic_cast<EpollFile*>(target.get()))
      if (inner == this || inner->reaches(this) || inner->depth_below() + 1 + depth_above() > kMaxNests)
        return -ELOOP;
  auto found = interests_.find(Key{fd, target.get()});
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (found != interests_.end()) return -EEXIST;
      auto owned = std::make_unique<Interest>();
      Interest* it = owned.get();
      it->fd = fd;
      it->key = target.get();
      it->file = target;
      it->events = events | EPOLLERR | EPOLLHUP;
      it->data = data;
      it->on_wake = std::make_shared<WaitQueue::WakeCallback>([this, it]() {
        if (!(it->events & ~kPrivateBits)) return;  // disabled one-shot: as ep_poll_callback
        make_ready(*it);
        queue_.wake_all();
      });
      target->wait_queue()->add_callback(it->on_wake);
      interests_.emplace(Key{fd, target.get()}, std::move(owned));
      it->last_seen = readiness(*it);
      if (it->last_seen) make_ready(*it);
      return 0;
    }
    case EPOLL_CTL_DEL:
      if (found == interests_.end()) return -ENOENT;
      remove(*found->second);
      return 0;
    case EPOLL_CTL_MOD: {
      if (found == interests_.end()) return -ENOENT;
      Interest& it = *found->second;
      if (it.events & EPOLLEXCLUSIVE) return -EINVAL;
      it.events = events | EPOLLERR | EPOLLHUP;
      it.data = data;
      it.last_seen = readiness(it);
      if (it.last_seen) make_ready(it);
      return 0;
    }
    default:
      return -EINVAL;
  }
}

int EpollFile::collect(std::vector<epoll_event>& out, int max) {
  scan();
  std::deque<Interest*> txlist = std::move(ready_);
  ready_.clear();  // wakes during the harvest (nested epolls) land here, like Linux's ovflist
  std::vector<Interest*> requeue;
  int n = 0;
  while (!txlist.empty() && n < max) {
    Interest* it = txlist.front();
    txlist.pop_front();
    it->on_ready = false;
    unsigned r = readiness(*it);
    it->last_seen = r;
    if (!r) continue;
    epoll_event ev{};
    ev.events = r;
    ev.data.u64 = it->data;
    out.push_back(ev);
    n++;
    if (auto f = it->file.lock()) f->poll_reported(r);
    if (it->events & EPOLLONESHOT) it->events &= kPrivateBits;
    else if (!(it->events & EPOLLET)) requeue.push_back(it);
  }
  // Unharvested entries go back in front, then the level-triggered ones just reported, then
  // whatever was woken meanwhile (ep_send_events + ep_done_scan order).
  // An entry may be in several of these lists (woken again while being harvested): each
  // goes back once.
  std::deque<Interest*> woken = std::move(ready_);
  ready_.clear();
  std::set<Interest*> listed;
  auto relist = [&](Interest* it) {
    if (!listed.insert(it).second) return;
    it->on_ready = true;
    ready_.push_back(it);
  };
  for (Interest* it : txlist) relist(it);
  for (Interest* it : requeue) relist(it);
  for (Interest* it : woken) relist(it);
  return n;
}

unsigned EpollFile::poll() {
  if (scanning_) return 0;
  scanning_++;
  scan();
  unsigned r = 0;
  // As ep_read_events_proc: entries found not ready leave the list; stop at the first ready.
  while (!ready_.empty()) {
    Interest* it = ready_.front();
    if (readiness(*it)) {
      r = POLLIN | POLLRDNORM;
      break;
    }
    it->on_ready = false;
    ready_.pop_front();
  }
  scanning_--;
  return r;
}

}  // namespace um::kernel
