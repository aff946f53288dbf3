#include "umkernel/vfs/pipe.h"

#include <poll.h>

#include <bit>
#include <cstring>
#include <map>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include <sys/ioctl.h>

namespace um::kernel {

namespace {

class PipeFile : public File {
 public:
  // A FIFO opened O_RDWR is both ends at once (Linux allows it and never blocks the open).
  PipeFile(InodePtr inode, int flags, std::shared_ptr<PipeBuffer> p, bool reader, bool both = false)
      : File(std::move(inode), flags), pipe_(std::move(p)), reader_(reader || both), writer_(!reader || both) {
    if (reader_) pipe_->readers++;
    if (writer_) pipe_->writers++;
  }
  ~PipeFile() override {
    if (reader_ && --pipe_->readers == 0) pipe_->wake_writers();
    if (writer_ && --pipe_->writers == 0) pipe_->wake_readers();
  }
  bool seekable() const override { return false; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }

  int64_t read(Task&, void* buf, size_t n, int64_t* off) override {
    if (off) return -ESPIPE;
    if (!reader_) return -EBADF;
    PipeBuffer& p = *pipe_;
    if (n == 0) return 0;
    if (p.available() == 0) return p.writers == 0 ? 0 : -EAGAIN;
    size_t c = std::min(n, p.available());
    memcpy(buf, p.data.data() + p.head, c);
    p.head += c;
    if (p.head == p.data.size()) {
      p.data.clear();
      p.head = 0;
    } else if (p.head > p.capacity) {
      p.data.erase(0, p.head);
      p.head = 0;
    }
    p.wake_writers();
    return static_cast<int64_t>(c);
  }

  int64_t write(Task& t, const void* buf, size_t n, int64_t* off) override {
    if (off) return -ESPIPE;
    if (!writer_) return -EBADF;
    PipeBuffer& p = *pipe_;
    if (p.readers == 0) {
      siginfo_t si{};
      si.si_code = SI_USER;
      kernel().send_signal_to_task(t, SIGPIPE, &si);
      return -EPIPE;
    }
    size_t space = p.space();
    // Writes of up to PIPE_BUF bytes are atomic: all or nothing.
    if (space == 0 || (n <= 4096 && space < n)) return -EAGAIN;
    size_t c = std::min(n, space);
    p.data.append(static_cast<const char*>(buf), c);
    p.wake_readers();
    return static_cast<int64_t>(c);
  }

  unsigned poll() override {
    PipeBuffer& p = *pipe_;
    unsigned r = 0;
    if (reader_) {
      if (p.available() > 0) r |= POLLIN | POLLRDNORM;
      if (p.writers == 0) r |= POLLHUP;
    }
    if (writer_) {
      if (p.available() < p.capacity) r |= POLLOUT | POLLWRNORM;
      if (p.readers == 0) r |= POLLERR;
    }
    return r;
  }
  WaitQueue* wait_queue() override {
    return reader_ && writer_ ? &pipe_->anyq : reader_ ? &pipe_->readq : &pipe_->writeq;
  }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override {
    if (req != FIONREAD) return -ENOTTY;
    int n = static_cast<int>(pipe_->available());
    return put_user(t, arg, n);
  }
  std::shared_ptr<PipeBuffer> pipe() { return pipe_; }

 private:
  std::shared_ptr<PipeBuffer> pipe_;
  bool reader_, writer_;
};

std::map<const Inode*, std::weak_ptr<PipeBuffer>>& fifos() {
  static std::map<const Inode*, std::weak_ptr<PipeBuffer>> m;
  return m;
}

}  // namespace

void make_pipe(int flags, FilePtr& read_end, FilePtr& write_end, InodePtr inode) {
  auto p = std::make_shared<PipeBuffer>();
  read_end = std::make_shared<PipeFile>(inode, O_RDONLY | (flags & O_NONBLOCK), p, true);
  write_end = std::make_shared<PipeFile>(inode, O_WRONLY | (flags & O_NONBLOCK), p, false);
}

int64_t open_fifo(Task& t, InodePtr inode, int flags, FilePtr& out) {
  auto& w = fifos()[inode.get()];
  auto p = w.lock();
  if (!p) {
    p = std::make_shared<PipeBuffer>();
    w = p;
  }
  int acc = flags & O_ACCMODE;
  bool reader = acc == O_RDONLY, both = acc == O_RDWR;
  if (!reader && !both && p->readers == 0 && (flags & O_NONBLOCK)) return -ENXIO;
  out = std::make_shared<PipeFile>(inode, flags, p, reader, both);
  // Wake the other side: an open for reading waits for a writer and vice versa (see fs.cpp).
  p->wake_readers();
  p->wake_writers();
  return 0;
}

void PipeBuffer::append(const char* p, size_t n) {
  data.append(p, n);
  wake_readers();
}

void PipeBuffer::consume(size_t n) {
  head += std::min(n, available());
  if (head == data.size()) {
    data.clear();
    head = 0;
  } else if (head > capacity) {
    data.erase(0, head);
    head = 0;
  }
  wake_writers();
}

std::shared_ptr<PipeBuffer> pipe_buffer_of(File& f) {
  auto* pf = dynamic_cast<PipeFile*>(&f);
  return pf ? pf->pipe() : nullptr;
}

int64_t pipe_get_size(File& f) {
  auto p = pipe_buffer_of(f);
  return p ? static_cast<int64_t>(p->capacity) : -EBADF;
}

int64_t pipe_set_size(File& f, uint64_t size, bool privileged) {
  auto p = pipe_buffer_of(f);
  if (!p) return -EBADF;
  // round_pipe_size(): whole pages, a power of two of them, at least one.
  if (size > (1ull << 31)) return -EINVAL;
  uint64_t pages = std::max<uint64_t>(1, (size + 4095) / 4096);
  uint64_t rounded = std::bit_ceil(pages) * 4096;
  if (rounded > PipeBuffer::kMaxUserSize && !privileged) return -EPERM;
  if (rounded > (1ull << 28)) return -ENOMEM;  // what the VM would not give one pipe
  if (rounded < p->available()) return -EBUSY;
  p->capacity = rounded;
  p->wake_writers();
  return static_cast<int64_t>(rounded);
}

}  // namespace um::kernel
