// splice, tee and vmsplice: moving data between a pipe and a file, socket or another pipe
// without a trip through the caller's memory. umkernel copies (through a kernel buffer), but
// with splice's rules: one side must be a pipe, a pipe side takes no offset, tee copies
// without consuming, and what is taken from a pipe is exactly what the other side accepted.
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <algorithm>
#include <vector>

#include "umkernel/kernel/blocking.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/pipe.h"

namespace um::kernel {

namespace {

constexpr unsigned kSpliceNonblock = SPLICE_F_NONBLOCK;
constexpr unsigned kSpliceKnown = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;
constexpr size_t kMaxChunk = 1 << 20;

// Waits on `f`'s queue unless the call or the file is non-blocking.
int64_t wait_for(Task& t, File& f, bool nonblock, bool writing) {
  WaitQueue* q = f.wait_queue();
  if (nonblock || !q) return -EAGAIN;
  return park_on(t, *q, f.block_timeout_ns(writing));
}

int64_t wait_pipe(Task& t, WaitQueue& q, bool nonblock) {
  if (nonblock) return -EAGAIN;
  return park_on(t, q, -1);
}

// Reads an optional loff_t argument; -ESPIPE if given for a pipe or unseekable file.
int64_t read_offset(Task& t, uint64_t addr, File& f, int64_t& off, bool& has) {
  has = addr != 0;
  if (!has) return 0;
  if (!f.seekable()) return -ESPIPE;
  if (get_user(t, addr, off) < 0) return -EFAULT;
  if (off < 0) return -EINVAL;
  return 0;
}

}  // namespace

int64_t sys_splice(Task& t) {
  int fd_in = static_cast<int>(t.arg(0)), fd_out = static_cast<int>(t.arg(2));
  uint64_t off_in_addr = t.arg(1), off_out_addr = t.arg(3);
  size_t len = std::min<uint64_t>(t.arg(4), kMaxChunk);
  unsigned flags = static_cast<unsigned>(t.arg(5));
  if (flags & ~kSpliceKnown) return -EINVAL;
  FilePtr in = t.proc->fds->get(fd_in), out = t.proc->fds->get(fd_out);
  if (!in || !out) return -EBADF;
  if (!in->readable() || !out->writable()) return -EBADF;
  if (out->flags() & O_APPEND) return -EINVAL;
  auto pin = pipe_buffer_of(*in), pout = pipe_buffer_of(*out);
  if (!pin && !pout) return -EINVAL;
  if (pin && pin == pout) return -EINVAL;
  int64_t off_in = 0, off_out = 0;
  bool has_in, has_out;
  if (int64_t r = read_offset(t, off_in_addr, *in, off_in, has_in); r < 0) return r;
  if (int64_t r = read_offset(t, off_out_addr, *out, off_out, has_out); r < 0) return r;
  if (len == 0) return 0;
  bool nonblock = flags & kSpliceNonblock;

  if (pin) {
    // From a pipe: offer what it holds, take out what the other side accepted.
    if (pin->available() == 0) {
      if (pin->writers == 0) return 0;
      return wait_pipe(t, pin->readq, nonblock || in->nonblocking());
    }
    size_t n = std::min(len, pin->available());
    if (pout) n = std::min(n, pout->space());
    if (n == 0) return wait_pipe(t, pout->writeq, nonblock || out->nonblocking());
    std::string chunk = pin->data.substr(pin->head, n);
    int64_t before = off_out;
    int64_t w = out->write(t, chunk.data(), n, has_out ? &off_out : nullptr);
    if (w == -EAGAIN) return wait_for(t, *out, nonblock || out->nonblocking(), true);
    if (w <= 0) return w;
    if (has_out && off_out == before) off_out += w;
    pin->consume(static_cast<size_t>(w));
    if (has_out && put_user(t, off_out_addr, off_out) < 0) return -EFAULT;
    return w;
  }
  // Into a pipe: as much as it has room for.
  size_t room = pout->space();
  if (pout->readers == 0) {
    siginfo_t si{};
    si.si_code = SI_USER;
    kernel().send_signal_to_task(t, SIGPIPE, &si);
    return -EPIPE;
  }
  if (room == 0) return wait_pipe(t, pout->writeq, nonblock || out->nonblocking());
  size_t n = std::min(len, room);
  if (!pout->reserve(n)) return -ENOMEM;  // mem= is used up
  std::vector<char> buf(n);
  int64_t before = off_in;
  int64_t r = in->read(t, buf.data(), n, has_in ? &off_in : nullptr);
  if (r == -EAGAIN) return wait_for(t, *in, nonblock || in->nonblocking(), false);
  if (r <= 0) return r;
  if (has_in && off_in == before) off_in += r;
  pout->append(buf.data(), static_cast<size_t>(r));
  if (has_in && put_user(t, off_in_addr, off_in) < 0) return -EFAULT;
  return r;
}

int64_t sys_tee(Task& t) {
  int fd_in = static_cast<int>(t.arg(0)), fd_out = static_cast<int>(t.arg(1));
  size_t len = std::min<uint64_t>(t.arg(2), kMaxChunk);
  unsigned flags = static_cast<unsigned>(t.arg(3));
  if (flags & ~kSpliceKnown) return -EINVAL;
  FilePtr in = t.proc->fds->get(fd_in), out = t.proc->fds->get(fd_out);
  if (!in || !out) return -EBADF;
  auto pin = pipe_buffer_of(*in), pout = pipe_buffer_of(*out);
  if (!pin || !pout || pin == pout) return -EINVAL;
  if (!in->readable() || !out->writable()) return -EBADF;
  if (len == 0) return 0;
  bool nonblock = flags & kSpliceNonblock;
  if (pin->available() == 0) {
    if (pin->writers == 0) return 0;
    return wait_pipe(t, pin->readq, nonblock || in->nonblocking());
  }
  if (pout->readers == 0) {
    siginfo_t si{};
    si.si_code = SI_USER;
    kernel().send_signal_to_task(t, SIGPIPE, &si);
    return -EPIPE;
  }
  size_t n = std::min({len, pin->available(), pout->space()});
  if (n == 0) return wait_pipe(t, pout->writeq, nonblock || out->nonblocking());
  if (!pout->append(pin->data.data() + pin->head, n)) return -ENOMEM;
  return static_cast<int64_t>(n);
}

int64_t sys_vmsplice(Task& t) {
  int fd = static_cast<int>(t.arg(0));
  int64_t nr = static_cast<int64_t>(t.arg(2));
  unsigned flags = static_cast<unsigned>(t.arg(3));
  if (flags & ~kSpliceKnown) return -EINVAL;
  FilePtr f = t.proc->fds->get(fd);
  if (!f) return -EBADF;
  auto p = pipe_buffer_of(*f);
  if (!p) return -EBADF;
  if (nr < 0 || nr > 1024) return -EINVAL;
  std::vector<iovec> iov(static_cast<size_t>(nr));
  if (nr && copy_from_user(t, iov.data(), t.arg(1), iov.size() * sizeof(iovec)) < 0) return -EFAULT;
  uint64_t total = 0;
  for (auto& v : iov) total += v.iov_len;
  if (total == 0) return 0;
  bool nonblock = (flags & kSpliceNonblock) || f->nonblocking();
  if (f->writable()) {
    // User memory into the pipe.
    if (p->readers == 0) {
      siginfo_t si{};
      si.si_code = SI_USER;
      kernel().send_signal_to_task(t, SIGPIPE, &si);
      return -EPIPE;
    }
    size_t room = p->space();
    if (room == 0) return wait_pipe(t, p->writeq, nonblock);
    size_t done = 0;
    std::vector<char> buf;
    for (auto& v : iov) {
      size_t n = std::min<size_t>(v.iov_len, room - done);
      if (n == 0) break;
      buf.resize(n);
      if (copy_from_user(t, buf.data(), reinterpret_cast<uint64_t>(v.iov_base), n) < 0) {
        if (done) break;
        return -EFAULT;
      }
      if (!p->append(buf.data(), n)) {
        if (done) break;
        return -ENOMEM;
      }
      done += n;
    }
    return static_cast<int64_t>(done);
  }
  if (!f->readable()) return -EBADF;
  // The pipe into user memory (vmsplice on a read end).
  if (p->available() == 0) {
    if (p->writers == 0) return 0;
    return wait_pipe(t, p->readq, nonblock);
  }
  size_t done = 0;
  for (auto& v : iov) {
    size_t n = std::min<size_t>(v.iov_len, p->available());
    if (n == 0) break;
    if (copy_to_user(t, reinterpret_cast<uint64_t>(v.iov_base), p->data.data() + p->head, n) < 0) {
      if (done) break;
      return -EFAULT;
    }
    p->consume(n);
    done += n;
  }
  return static_cast<int64_t>(done);
}

namespace {
const SyscallRow kRows[] = {
    UM_PARTIAL(splice, "fpfpux", "copies through a kernel buffer (no page moves); up to 1 MiB a call"),
    UM_FULL(tee, "ffux"),
    UM_PARTIAL(vmsplice, "fpux", "copies (SPLICE_F_GIFT gives no pages)"),
};
}  // namespace

std::span<const SyscallRow> splice_syscalls() { return kRows; }

}  // namespace um::kernel
