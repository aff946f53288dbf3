// How a syscall handler waits: it never sleeps, it parks (the task registers on wait queues,
// the handler returns kBlock and runs again from the start when a queue is woken or the
// task's deadline passes). These are the two steps every blocking handler shares.
#pragma once
#include <cstdint>

#include "umkernel/kernel/wait_queue.h"

namespace um::kernel {

class Task;

// A wait of `timeout_ns` from the syscall's first run (< 0: no timeout): sets the task's
// deadline on that first run, keeps it across re-runs, and says whether it has passed.
bool deadline_passed(Task& t, int64_t timeout_ns);

// Parks `t` on `q` for a read, write, connect... that cannot complete yet. `timeout_ns` is the
// file's or socket's own timeout (SO_RCVTIMEO...): -1 none, 0 do not wait. Returns kBlock, or
// -EAGAIN when it may not wait or its timeout has passed. A timed wait ends with EINTR on a
// signal, never a restart, as on Linux.
int64_t park_on(Task& t, WaitQueue& q, int64_t timeout_ns);

}  // namespace um::kernel
