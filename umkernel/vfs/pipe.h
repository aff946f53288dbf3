// Pipes and FIFOs: a 64 KiB ring in the kernel, with wait queues for readers and writers.
#pragma once
#include <memory>
#include <string>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

struct PipeBuffer {
  static constexpr size_t kCapacity = 65536;
  std::string data;  // bytes not yet read (front = oldest)
  size_t head = 0;   // read offset into data
  int readers = 0, writers = 0;
  WaitQueue readq, writeq;
  WaitQueue anyq;  // FIFOs opened O_RDWR wait here: woken whenever readq or writeq is
  void wake_readers() { readq.wake_all(); anyq.wake_all(); }
  void wake_writers() { writeq.wake_all(); anyq.wake_all(); }
  size_t available() const { return data.size() - head; }
};

// Makes the two ends of an anonymous pipe (pipe2 flags: O_NONBLOCK, O_CLOEXEC ignored here).
void make_pipe(int flags, FilePtr& read_end, FilePtr& write_end, InodePtr inode);
// Opens a named pipe (FIFO inode in some file system).
int64_t open_fifo(Task& t, InodePtr inode, int flags, FilePtr& out);

}  // namespace um::kernel
