// POSIX message queues: mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify,
// mq_getsetattr (Linux's ipc/mqueue.c). The queues are files of the VM's mqueue file system
// (ipc/mqueue.h). A send to a full queue or a receive from an empty one parks on the queue
// until it changes, the absolute CLOCK_REALTIME timeout passes (ETIMEDOUT) or a signal comes
// (restarted with SA_RESTART, as Linux).
#include <fcntl.h>
#include <linux/limits.h>
#include <mqueue.h>
#include <sys/syscall.h>

#include "umkernel/ipc/mqueue.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/time_ns.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/socket/netlink/kernel_message.h"
#include "umkernel/vfs/namei.h"

namespace um::kernel {

namespace {

struct KernelMqAttr {  // struct mq_attr as the kernel has it
  long mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs;
  long reserved[4];
};

// The queue name mq_open and mq_unlink take (glibc has stripped the leading '/').
int64_t queue_name(Task& t, uint64_t addr, std::string& name) {
  if (int64_t r = string_from_user(t, addr, name, NAME_MAX + 1); r < 0) return r;
  if (name.empty()) return -ENOENT;  // getname
  if (name.size() > NAME_MAX) return -ENAMETOOLONG;
  // lookup_one_len: ".", ".." and names with '/' are refused.
  if (name == "." || name == ".." || name.find('/') != std::string::npos) return -EACCES;
  return 0;
}

MqueueFile* mq_file(Task& t, int fd, FilePtr& keep) {
  keep = t.proc->fds->get(fd);
  return dynamic_cast<MqueueFile*>(keep.get());
}

// An absolute CLOCK_REALTIME timeout as a wait from the first run (Linux validates it first).
int64_t read_timeout(Task& t, uint64_t addr, int64_t& wait_ns) {
  wait_ns = -1;
  if (!addr) return 0;
  timespec ts;
  if (get_user(t, addr, ts) < 0) return -EFAULT;
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L) return -EINVAL;
  wait_ns = std::max<int64_t>(0, timespec_to_ns(ts) - realtime_ns());
  return 0;
}

// Parks on `q` until it changes or the timeout passes (ETIMEDOUT).
int64_t wait_for(Task& t, WaitQueue& q, int64_t wait_ns) {
  if (wait_ns >= 0) {
    if (t.sys_deadline_ns < 0) t.sys_deadline_ns = deadline_after(monotonic_ns(), wait_ns);
    if (monotonic_ns() >= t.sys_deadline_ns) return -ETIMEDOUT;
  }
  t.wait_on(q);
  return kBlock;
}


}  // namespace

int64_t sys_mq_open(Task& t) {
  int oflag = t.int_arg(1);
  uint32_t mode = static_cast<uint32_t>(t.arg(2));
  uint64_t attr_addr = t.arg(3);
  std::string name;
  if (int64_t r = queue_name(t, t.arg(0), name); r < 0) return r;
  if (!t.proc->fds->has_free_fd()) return -EMFILE;
  InodePtr q;
  int64_t r = mq_lookup(name, q);
  if (r == 0) {
    if ((oflag & O_CREAT) && (oflag & O_EXCL)) return -EEXIST;
    // An existing queue with access mode 3 is refused (Linux creates one with it, though).
    if ((oflag & O_ACCMODE) == O_ACCMODE) return -EINVAL;
    int acc = oflag & O_ACCMODE;
    int mask = acc == O_RDONLY ? 4 : acc == O_WRONLY ? 2 : 6;
    if (int64_t e = check_permission(t, *q, mask); e < 0) return e;
  } else {
    if (!(oflag & O_CREAT)) return -ENOENT;
    auto& fs = mqueue_fs();
    long maxmsg = std::min(fs.limits.msg_default, fs.limits.msg_max);
    long msgsize = std::min(fs.limits.msgsize_default, fs.limits.msgsize_max);
    if (attr_addr) {
      KernelMqAttr a;
      if (copy_from_user(t, &a, attr_addr, sizeof a) < 0) return -EFAULT;
      if (a.mq_maxmsg <= 0 || a.mq_msgsize <= 0) return -EINVAL;
      if (capable(t, CAP_SYS_RESOURCE)) {
        if (a.mq_maxmsg > kMqHardMsgMax || a.mq_msgsize > kMqHardMsgSizeMax) return -EINVAL;
      } else if (a.mq_maxmsg > fs.limits.msg_max || a.mq_msgsize > fs.limits.msgsize_max) {
        return -EINVAL;
      }
      maxmsg = a.mq_maxmsg;
      msgsize = a.mq_msgsize;
    }
    uint32_t m = mode & ~t.proc->fs->umask & 0777;
    if (int64_t e = mq_create(t, name, m, maxmsg, msgsize, q); e < 0) return e;
  }
  FilePtr f;
  if (int64_t e = q->open(t, oflag & (O_ACCMODE | O_NONBLOCK), f); e < 0) return e;
  f->path = "/" + name;
  return t.proc->fds->install(f, oflag & O_CLOEXEC);
}

int64_t sys_mq_unlink(Task& t) {
  std::string name;
  if (int64_t r = queue_name(t, t.arg(0), name); r < 0) return r;
  return mq_remove(t, name);
}

int64_t sys_mq_timedsend(Task& t) {
  int fd = t.int_arg(0);
  uint64_t buf = t.arg(1);
  size_t len = t.size_arg(2);
  unsigned prio = static_cast<unsigned>(t.arg(3));
  int64_t wait_ns;
  if (int64_t r = read_timeout(t, t.arg(4), wait_ns); r < 0) return r;
  if (prio >= kMqPrioMax) return -EINVAL;
  FilePtr keep;
  MqueueFile* f = mq_file(t, fd, keep);
  if (!f || !f->writable()) return -EBADF;
  MqueueInode& q = f->queue();
  if (len > static_cast<size_t>(q.msgsize)) return -EMSGSIZE;
  std::string text(len, '\0');
  if (len && copy_from_user(t, text.data(), buf, len) < 0) return -EFAULT;
  if (q.messages.count() >= static_cast<size_t>(q.maxmsg)) {
    if (f->nonblocking()) return -EAGAIN;
    return wait_for(t, q.senders, wait_ns);
  }
  if (!charge_kernel_buffers(len)) return -ENOMEM;  // queued messages are the VM's memory
  q.messages.push(std::move(text), prio);
  q.time_ = {realtime_ns() / 1000000000, realtime_ns() % 1000000000};
  mq_message_arrived(t, q);
  return 0;
}

int64_t sys_mq_timedreceive(Task& t) {
  int fd = t.int_arg(0);
  uint64_t buf = t.arg(1);
  size_t len = t.size_arg(2);
  uint64_t prio_addr = t.arg(3);
  int64_t wait_ns;
  if (int64_t r = read_timeout(t, t.arg(4), wait_ns); r < 0) return r;
  FilePtr keep;
  MqueueFile* f = mq_file(t, fd, keep);
  if (!f || !f->readable()) return -EBADF;
  MqueueInode& q = f->queue();
  if (len < static_cast<size_t>(q.msgsize)) return -EMSGSIZE;
  std::string text;
  unsigned prio;
  if (!q.messages.pop(text, prio)) {
    if (f->nonblocking()) return -EAGAIN;
    return wait_for(t, q.receivers, wait_ns);
  }
  uncharge_kernel_buffers(text.size());
  q.time_ = {realtime_ns() / 1000000000, realtime_ns() % 1000000000};
  q.senders.wake_all();
  q.changed.wake_all();
  // As Linux: the message is taken even if the copy out fails.
  if (!text.empty() && copy_to_user(t, buf, text.data(), text.size()) < 0) return -EFAULT;
  if (prio_addr && put_user(t, prio_addr, prio) < 0) return -EFAULT;
  return static_cast<int64_t>(text.size());
}

int64_t sys_mq_notify(Task& t) {
  int fd = t.int_arg(0);
  uint64_t sev_addr = t.arg(1);
  sigevent sev{};
  std::string cookie;
  FilePtr sock;
  if (sev_addr) {
    if (copy_from_user(t, &sev, sev_addr, sizeof sev) < 0) return -EFAULT;
    if (sev.sigev_notify != SIGEV_NONE && sev.sigev_notify != SIGEV_SIGNAL && sev.sigev_notify != SIGEV_THREAD)
      return -EINVAL;
    // valid_signal: 0 too (the registration then sends nothing).
    if (sev.sigev_notify == SIGEV_SIGNAL && static_cast<unsigned>(sev.sigev_signo) > 64) return -EINVAL;
    if (sev.sigev_notify == SIGEV_THREAD) {
      // The cookie (32 bytes at sival_ptr) and the netlink socket (fd in sigev_signo).
      cookie.resize(32);
      if (copy_from_user(t, cookie.data(), reinterpret_cast<uint64_t>(sev.sigev_value.sival_ptr), 32) < 0)
        return -EFAULT;
      sock = t.proc->fds->get(sev.sigev_signo);
      if (!sock) return -EBADF;
      if (!net::netlink::is_netlink_socket(sock)) return -EINVAL;
    }
  }
  FilePtr keep;
  MqueueFile* f = mq_file(t, fd, keep);
  if (!f) return -EBADF;
  MqueueInode& q = f->queue();
  auto owner = q.notify_owner.lock();
  if (owner && owner->zombie) owner = nullptr;
  if (!sev_addr) {
    if (owner.get() == t.proc.get()) f->flush(*t.proc);  // the same as its close would
    return 0;
  }
  if (owner) return -EBUSY;
  q.notify_owner = t.proc;
  q.notify_pid = t.proc->pid;
  q.notify = sev;
  q.notify_socket = sock;
  q.notify_cookie = cookie;
  q.changed.wake_all();
  return 0;
}

int64_t sys_mq_getsetattr(Task& t) {
  int fd = t.int_arg(0);
  uint64_t new_addr = t.arg(1), old_addr = t.arg(2);
  KernelMqAttr nw{};
  if (new_addr) {
    if (copy_from_user(t, &nw, new_addr, sizeof nw) < 0) return -EFAULT;
    if (nw.mq_flags & ~O_NONBLOCK) return -EINVAL;
  }
  FilePtr keep;
  MqueueFile* f = mq_file(t, fd, keep);
  if (!f) return -EBADF;
  MqueueInode& q = f->queue();
  KernelMqAttr old{};
  old.mq_flags = f->flags() & O_NONBLOCK;
  old.mq_maxmsg = q.maxmsg;
  old.mq_msgsize = q.msgsize;
  old.mq_curmsgs = static_cast<long>(q.messages.count());
  if (new_addr) f->set_status_flags((f->flags() & ~O_NONBLOCK) | (nw.mq_flags & O_NONBLOCK));
  if (old_addr && copy_to_user(t, old_addr, &old, sizeof old) < 0) return -EFAULT;
  return 0;
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(mq_open, "sxmp"),
    UM_FULL(mq_unlink, "s"),
    UM_FULL(mq_timedsend, "fbuup"),
    UM_FULL(mq_timedreceive, "fpupp"),
    UM_FULL(mq_notify, "fp"),
    UM_FULL(mq_getsetattr, "fpp"),
};

}  // namespace

std::span<const SyscallRow> mqueue_syscalls() { return kRows; }

}  // namespace um::kernel
