// Pipes and FIFOs: a 64 KiB ring in the kernel, with wait queues for readers and writers.
#pragma once
#include <memory>
#include <string>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

struct PipeBuffer {
  static constexpr size_t kCapacity = 65536;     // the default (16 pages)
  static constexpr size_t kMaxUserSize = 1 << 20;  // /proc/sys/fs/pipe-max-size
  size_t capacity = kCapacity;                   // F_SETPIPE_SZ
  std::string data;  // bytes not yet read (front = oldest)
  size_t head = 0;   // read offset into data
  int readers = 0, writers = 0;
  WaitQueue readq, writeq;
  WaitQueue anyq;  // FIFOs opened O_RDWR wait here: woken whenever readq or writeq is
  // FIFO opens (Linux fs/pipe.c fifo_open): a blocking open for reading waits in open_rq until a
  // writer has opened (w_counter moved), an open for writing in open_wq until a reader has.
  WaitQueue open_rq, open_wq;
  uint64_t r_counter = 0, w_counter = 0;
  int woken_readers = 0, woken_writers = 0;  // woken by the other side's open, not yet back
  // A reader or writer waiting in open counts as there, as on Linux (it is counted before it
  // waits): a reader does not see end of file, a writer does not get EPIPE.
  bool has_readers() const { return readers > 0 || !open_rq.empty() || woken_readers > 0; }
  bool has_writers() const { return writers > 0 || !open_wq.empty() || woken_writers > 0; }
  void wake_readers() { readq.wake_all(); anyq.wake_all(); }
  void wake_writers() { writeq.wake_all(); anyq.wake_all(); }
  size_t available() const { return data.size() - head; }
  size_t space() const { return capacity > available() ? capacity - available() : 0; }
  // Adds bytes (within space()) and wakes readers; false (nothing added) when the VM has no
  // memory left for them (mem=). Takes bytes read and wakes writers.
  bool append(const char* p, size_t n);
  // Charges room for n more bytes ahead of an append (false: no memory left in the VM).
  bool reserve(size_t n) { return charge_for(data.size() + n); }
  void consume(size_t n);
  // Discards everything (the last close of a FIFO).
  void discard();

  // The heap the contents take (whole pages) is charged to mem= while held.
  PipeBuffer() = default;
  PipeBuffer(const PipeBuffer&) = delete;
  PipeBuffer& operator=(const PipeBuffer&) = delete;
  ~PipeBuffer();

 private:
  bool charge_for(size_t bytes);
  uint64_t charged_ = 0;
};

// The pipe behind an open pipe or FIFO end; nullptr for other files.
std::shared_ptr<PipeBuffer> pipe_buffer_of(File& f);
// F_GETPIPE_SZ / F_SETPIPE_SZ: the capacity in bytes, or -EBADF (not a pipe), -EINVAL,
// -EPERM (beyond pipe-max-size without CAP_SYS_RESOURCE), -EBUSY (less than it holds).
int64_t pipe_set_size(File& f, uint64_t size, bool privileged);
int64_t pipe_get_size(File& f);

// Makes the two ends of an anonymous pipe (pipe2 flags: O_NONBLOCK, O_CLOEXEC ignored here).
void make_pipe(int flags, FilePtr& read_end, FilePtr& write_end, InodePtr inode);
// Opens a named pipe (FIFO inode in some file system).
int64_t open_fifo(Task& t, InodePtr inode, int flags, FilePtr& out);

}  // namespace um::kernel
