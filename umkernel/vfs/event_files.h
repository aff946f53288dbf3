// Anonymous files of the event APIs: epoll instances, eventfd counters, timerfd timers and
// signalfd readers. None has an inode; all are pollable and have a wait queue.
#pragma once
#include <signal.h>
#include <sys/epoll.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class Process;

// eventfd: a 64-bit counter. write adds, read takes all (or 1 with EFD_SEMAPHORE).
class EventFdFile : public File {
 public:
  EventFdFile(uint64_t initval, int flags, bool semaphore);
  int64_t read(Task& t, void* buf, size_t n, int64_t* off) override;
  int64_t write(Task& t, const void* buf, size_t n, int64_t* off) override;
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }
  unsigned poll() override;
  WaitQueue* wait_queue() override { return &queue_; }

 private:
  static constexpr uint64_t kMax = UINT64_MAX - 1;  // the counter never reaches 2^64-1
  uint64_t count_;
  bool semaphore_;
  WaitQueue queue_;  // readers and writers both wait here; woken on every change
};

// timerfd: a timer whose expirations are counted and read as a 64-bit number. Deadlines are
// kept on CLOCK_MONOTONIC (absolute CLOCK_REALTIME settings are converted when set);
// expirations are counted from the timeline, so a late kernel timer loses none.
class TimerFdFile : public File {
 public:
  TimerFdFile(int clock, int flags);
  ~TimerFdFile() override;
  // timerfd_settime: `flags` are TFD_TIMER_ABSTIME/TFD_TIMER_CANCEL_ON_SET; `old` gets the
  // previous setting. Values were validated by the caller.
  void settime(int flags, const itimerspec& value, itimerspec* old);
  void gettime(itimerspec& cur);
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override;  // TFD_IOC_SET_TICKS
  int64_t read(Task& t, void* buf, size_t n, int64_t* off) override;
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EINVAL; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }
  unsigned poll() override;
  WaitQueue* wait_queue() override { return &queue_; }

 private:
  void count_expirations(int64_t now);
  void arm_kernel_timer(int64_t at);
  int clock_;
  bool armed_ = false;
  int64_t next_ns_ = 0;      // next expiry on CLOCK_MONOTONIC
  int64_t interval_ns_ = 0;
  uint64_t ticks_ = 0;       // expirations not yet read
  uint64_t kernel_timer_ = 0;
  WaitQueue queue_;
};

// signalfd: reads the reading thread's pending signals that are in its mask. File::poll has
// no task, so readiness is that of the thread that created it (its own and its process's
// pending signals) and the wait queue is its process's.
class SignalFdFile : public File {
 public:
  SignalFdFile(Task& creator, uint64_t mask, int flags);
  void set_mask(uint64_t mask);
  int64_t read(Task& t, void* buf, size_t n, int64_t* off) override;
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EINVAL; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }
  unsigned poll() override;
  WaitQueue* wait_queue() override;

 private:
  std::weak_ptr<Process> owner_;  // weak: the owner's fd table may hold this file
  int creator_tid_;
  uint64_t mask_;
  WaitQueue orphan_queue_;  // returned once the owner is gone (never woken)
};

// An epoll instance. Interest entries are keyed by (fd, open file) and hold the file weakly:
// an entry disappears when its file is closed everywhere (checked on every scan).
//
// Readiness follows Linux's ready list: an entry joins it when its file's wait queue is woken
// (a wake callback, like ep_poll_callback), when epoll_ctl ADD/MOD finds it ready, or when a
// scan finds a level-triggered entry ready or an edge-triggered entry with readiness bits
// that were not set at the previous scan (a safety net for files that change state without
// waking their queue). Collecting polls each listed entry: ready entries are reported, in
// list order; level-triggered ones go back to the tail (round robin, as Linux), edge-triggered
// ones leave it until the next wake or transition; EPOLLONESHOT disables the entry until MOD.
class EpollFile : public File {
 public:
  EpollFile();
  ~EpollFile() override;
  // epoll_ctl on an already validated target (not this file). Returns 0 or -errno.
  int64_t ctl(int op, int fd, const FilePtr& target, uint32_t events, uint64_t data);
  // Moves up to `max` ready events into `out` (consuming edge/one-shot state).
  int collect(std::vector<epoll_event>& out, int max);
  // The `nth` (0-based) file registered under fd number `fd` (kcmp's KCMP_EPOLL_TFD).
  FilePtr registered(int fd, unsigned nth) const {
    for (auto it = interests_.lower_bound({fd, nullptr}); it != interests_.end() && it->first.first == fd; ++it)
      if (nth-- == 0) return it->second->file.lock();
    return nullptr;
  }
  int64_t read(Task&, void*, size_t, int64_t*) override { return -EINVAL; }
  int64_t write(Task&, const void*, size_t, int64_t*) override { return -EINVAL; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }
  bool seekable() const override { return false; }
  unsigned poll() override;
  WaitQueue* wait_queue() override { return &queue_; }

 private:
  struct Interest {
    int fd;
    const File* key;
    std::weak_ptr<File> file;
    uint32_t events;       // requested events incl. EPOLLET/ONESHOT/EXCLUSIVE/WAKEUP bits
    uint64_t data;
    unsigned last_seen = 0;  // readiness at the previous scan (edge detection)
    bool on_ready = false;
    std::shared_ptr<WaitQueue::WakeCallback> on_wake;
  };
  using Key = std::pair<int, const File*>;

  void drop_dead_entries();
  void scan();                              // adds level-ready and edge-transitioned entries
  void make_ready(Interest& it);
  void remove(Interest& it);
  unsigned readiness(Interest& it);         // file's poll() masked by the entry's events
  // Loop and nesting checks (EP_MAX_NESTS): paths of epolls inside epolls.
  bool reaches(const EpollFile* target) const;
  int depth_below() const;  // longest chain of epolls inside this one
  int depth_above() const;  // longest chain of epolls containing this one

  std::map<Key, std::unique_ptr<Interest>> interests_;
  std::deque<Interest*> ready_;
  WaitQueue queue_;
  int scanning_ = 0;  // a nested poll() of ourselves (impossible by the loop check) is ignored
};

}  // namespace um::kernel
