// A wait queue: tasks parked in a blocking syscall register on the queues of what they wait
// for (a pipe, a child's exit, the console...). Waking makes them runnable; the kernel then
// re-runs their syscall handler, which either completes or parks them again.
#pragma once
#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

namespace um::kernel {

class Task;

class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  ~WaitQueue();

  void add(Task* t) {
    if (std::find(waiters_.begin(), waiters_.end(), t) == waiters_.end()) waiters_.push_back(t);
  }
  void remove(Task* t) { std::erase(waiters_, t); }
  void wake_all();
  // Wakes up to `max` waiters for which `pred` holds (oldest first); returns how many.
  template <class Pred>
  int wake_if(Pred pred, int max);
  bool empty() const { return waiters_.empty(); }
  const std::vector<Task*>& waiters() const { return waiters_; }
  void wake_task(Task* t);  // removes t from this queue and wakes it
  // Non-task listeners (epoll interest entries): called on every wake_all for as long as
  // their owner keeps the shared_ptr alive (the queue holds only a weak reference).
  using WakeCallback = std::function<void()>;
  void add_callback(const std::shared_ptr<WakeCallback>& cb) {
    std::erase_if(callbacks_, [](auto& w) { return w.expired(); });
    callbacks_.push_back(cb);
  }

 private:
  std::vector<Task*> waiters_;
  std::vector<std::weak_ptr<WakeCallback>> callbacks_;
};

template <class Pred>
int WaitQueue::wake_if(Pred pred, int max) {
  int n = 0;
  for (size_t i = 0; i < waiters_.size() && n < max;) {
    Task* t = waiters_[i];
    if (!pred(t)) { i++; continue; }
    wake_task(t);  // erases waiters_[i]
    n++;
  }
  return n;
}

}  // namespace um::kernel
