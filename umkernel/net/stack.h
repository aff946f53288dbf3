// The guest's TCP/IP stack: lwIP (Debian's liblwip, built with NO_SYS=0 and core locking).
// lwIP runs its timers and loopback traffic on its own thread (tcpip_thread); everything
// else — socket calls, frames from the NICs — comes from the kernel's thread while holding the
// core lock (StackLock). lwIP calls our callbacks (data arrived, connection accepted, error)
// under that lock on either thread; they only change the lwIP-side state of a socket and ask
// for its waiters to be woken (notify), which happens on the kernel thread: at once when the
// last StackLock there is released, or through an eventfd the kernel's loop watches.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace um::kernel::net {

// Something whose waiters must be woken in the kernel thread after lwIP changed its state.
class Waker {
 public:
  virtual ~Waker();
  // Kernel thread, without the lock: wake the tasks and epoll entries waiting on it.
  virtual void wake() = 0;
  // Kernel thread, under the lock: a strong reference for the duration of the wake (so the
  // object cannot go away while its waiters run); null if it is already being destroyed.
  virtual std::shared_ptr<void> hold() = 0;
};

// Holds lwIP's core lock; nestable on the kernel thread. Leaving the outermost one on the
// kernel thread wakes what lwIP notified meanwhile.
class StackLock {
 public:
  StackLock();
  ~StackLock();
  StackLock(const StackLock&) = delete;
  StackLock& operator=(const StackLock&) = delete;
};

// Under the lock, any thread: `w`'s waiters are to be woken.
void notify(Waker* w);
// Under the lock: `w` is going away; forget any pending notification for it.
void forget(Waker* w);

// Starts lwIP and the loopback interface (127.0.0.1/8, up). Called once at boot, before any
// NIC is made; safe to call again. Returns false with a message on failure.
bool start_stack(std::string* error);
bool stack_started();

}  // namespace um::kernel::net
