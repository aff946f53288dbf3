#include "umkernel/vfs/pipe.h"

#include "umkernel/kernel/memory_accounting.h"

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
    PipeBuffer& p = *pipe_;
    // The last close of a FIFO discards what was not read (as Linux frees its pipe), unless
    // an opener the other side woke is still on its way in.
    if (!p.has_readers() && !p.has_writers()) p.discard();
  }
  bool seekable() const override { return false; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }

  int64_t read(Task&, void* buf, size_t n, int64_t* off) override {
    if (off) return -ESPIPE;
    if (!reader_) return -EBADF;
    PipeBuffer& p = *pipe_;
    if (n == 0) return 0;
    if (p.available() == 0) return p.has_writers() ? -EAGAIN : 0;
    size_t c = std::min(n, p.available());
    memcpy(buf, p.data.data() + p.head, c);
    p.consume(c);
    return static_cast<int64_t>(c);
  }

  int64_t write(Task& t, const void* buf, size_t n, int64_t* off) override {
    if (off) return -ESPIPE;
    if (!writer_) return -EBADF;
    PipeBuffer& p = *pipe_;
    if (!p.has_readers()) {
      siginfo_t si{};
      si.si_code = SI_USER;
      kernel().send_signal_to_task(t, SIGPIPE, &si);
      return -EPIPE;
    }
    size_t space = p.space();
    // Writes of up to PIPE_BUF bytes are atomic: all or nothing.
    if (space == 0 || (n <= 4096 && space < n)) return -EAGAIN;
    size_t c = std::min(n, space);
    if (!p.append(static_cast<const char*>(buf), c)) return -ENOMEM;  // mem= is used up
    return static_cast<int64_t>(c);
  }

  unsigned poll() override {
    PipeBuffer& p = *pipe_;
    unsigned r = 0;
    if (reader_) {
      if (p.available() > 0) r |= POLLIN | POLLRDNORM;
      if (!p.has_writers()) r |= POLLHUP;
    }
    if (writer_) {
      if (p.available() < p.capacity) r |= POLLOUT | POLLWRNORM;
      if (!p.has_readers()) r |= POLLERR;
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
  int64_t reopen(Task&, int flags, FilePtr& out) override {
    int acc = flags & O_ACCMODE;
    out = std::make_shared<PipeFile>(inode_ptr(), flags, pipe_, acc == O_RDONLY, acc == O_RDWR);
    return 0;
  }

 private:
  std::shared_ptr<PipeBuffer> pipe_;
  bool reader_, writer_;
};

// The pipe of each FIFO inode that is open or being opened.
struct Fifos {
  std::map<const Inode*, std::shared_ptr<PipeBuffer>> by_inode;
};
std::map<const Inode*, std::shared_ptr<PipeBuffer>>& fifos() { return kernel().state<Fifos>().by_inode; }

bool fifo_idle(const std::shared_ptr<PipeBuffer>& p) {
  return p.use_count() == 1 && !p->has_readers() && !p->has_writers();
}

}  // namespace

void make_pipe(int flags, FilePtr& read_end, FilePtr& write_end, InodePtr inode) {
  auto p = std::make_shared<PipeBuffer>();
  read_end = std::make_shared<PipeFile>(inode, O_RDONLY | (flags & O_NONBLOCK), p, true);
  write_end = std::make_shared<PipeFile>(inode, O_WRONLY | (flags & O_NONBLOCK), p, false);
}

int64_t open_fifo(Task& t, InodePtr inode, int flags, FilePtr& out) {
  auto& all = fifos();
  for (auto it = all.begin(); it != all.end();)  // pipes no one holds or waits for
    it = it->first != inode.get() && fifo_idle(it->second) ? all.erase(it) : std::next(it);
  auto& p = all[inode.get()];
  if (!p) p = std::make_shared<PipeBuffer>();
  int acc = flags & O_ACCMODE;
  bool reader = acc == O_RDONLY, both = acc == O_RDWR;
  bool first = t.progress.fifo_other_opens == 0;  // not a re-run after a wait
  if (!first) {
    int& woken = acc == O_RDONLY ? p->woken_readers : p->woken_writers;
    if (woken > 0) woken--;
  }
  if (!both) {
    // Is the other side there (open, or waiting for us), or has it come since we began waiting?
    bool other = reader ? p->has_writers() : p->has_readers();
    uint64_t other_counter = reader ? p->w_counter : p->r_counter;
    if (first) t.progress.fifo_other_opens = other_counter + 1;
    bool came = !first && t.progress.fifo_other_opens != other_counter + 1;
    if (!other && !came) {
      if (flags & O_NONBLOCK) {
        if (!reader) return -ENXIO;  // a reader never waits when non-blocking
      } else {
        t.wait_on(reader ? p->open_rq : p->open_wq);
        return kBlock;
      }
    }
  }
  out = std::make_shared<PipeFile>(inode, flags, p, reader, both);
  if (reader || both) {
    p->r_counter++;
    p->woken_writers += static_cast<int>(p->open_wq.waiters().size());
    p->open_wq.wake_all();
  }
  if (!reader || both) {
    p->w_counter++;
    p->woken_readers += static_cast<int>(p->open_rq.waiters().size());
    p->open_rq.wake_all();
  }
  // Readers and writers blocked in read/write/poll see the new state.
  p->wake_readers();
  p->wake_writers();
  return 0;
}

PipeBuffer::~PipeBuffer() { uncharge_kernel_buffers(charged_); }

bool PipeBuffer::charge_for(size_t bytes) {
  uint64_t want = (uint64_t(bytes) + 4095) & ~uint64_t(4095);
  if (want > charged_ && !charge_kernel_buffers(want - charged_)) return false;
  if (want < charged_) uncharge_kernel_buffers(charged_ - want);
  charged_ = want;
  return true;
}

bool PipeBuffer::append(const char* p, size_t n) {
  if (!charge_for(data.size() + n)) return false;
  data.append(p, n);
  wake_readers();
  return true;
}

void PipeBuffer::consume(size_t n) {
  head += std::min(n, available());
  if (head == data.size()) {
    data.clear();
    head = 0;
    // An emptied pipe gives its memory back (Linux frees consumed pipe pages).
    if (data.capacity() > 4096) std::string().swap(data);
  } else if (head > capacity) {
    data.erase(0, head);
    head = 0;
  }
  (void)charge_for(data.size());
  wake_writers();
}

void PipeBuffer::discard() {
  std::string().swap(data);
  head = 0;
  (void)charge_for(0);
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
