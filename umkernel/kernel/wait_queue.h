// A wait queue: tasks parked in a blocking syscall register on the queues of what they wait
// for (a pipe, a child's exit, the console...). Waking makes them runnable; the kernel then
// re-runs their syscall handler, which either completes or parks them again.
#pragma once
#include <algorithm>
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
  bool empty() const { return waiters_.empty(); }

 private:
  std::vector<Task*> waiters_;
};

}  // namespace um::kernel
