// System V message queues: msgget, msgsnd, msgrcv, msgctl (Linux's ipc/msg.c). A sender that
// finds the queue full and a receiver that finds no message it wants park on the queue and try
// again when it changes; nothing is taken or added before the call can complete.
#include <linux/ipc.h>
#include <linux/msg.h>
#include <sys/syscall.h>

#include "umkernel/ipc/sysv.h"
#include "umkernel/kernel/blocking.h"
#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"

namespace um::kernel {

namespace {

bool permitted(Task& t, const IpcPerm& p, int flag) {
  return ipc_permitted(t.proc->cred, p, flag, capable(t, CAP_IPC_OWNER));
}

msqid64_ds stat_of(const MsgQueue& q) {
  msqid64_ds ds{};
  ds.msg_perm.key = q.perm.key;
  ds.msg_perm.uid = q.perm.uid;
  ds.msg_perm.gid = q.perm.gid;
  ds.msg_perm.cuid = q.perm.cuid;
  ds.msg_perm.cgid = q.perm.cgid;
  ds.msg_perm.mode = q.perm.mode;
  ds.msg_perm.seq = static_cast<unsigned short>(q.perm.seq);
  ds.msg_stime = q.stime;
  ds.msg_rtime = q.rtime;
  ds.msg_ctime = q.ctime;
  ds.msg_cbytes = q.cbytes;
  ds.msg_qnum = q.messages.size();
  ds.msg_qbytes = q.qbytes;
  ds.msg_lspid = q.lspid;
  ds.msg_lrpid = q.lrpid;
  return ds;
}

void remove_queue(IpcNamespace& ns, const std::shared_ptr<MsgQueue>& q) {
  for (auto& m : q->messages) uncharge_kernel_buffers(m.text.size());
  ns.msg_bytes -= std::min(ns.msg_bytes, q->cbytes);
  ns.msg_count -= std::min<uint64_t>(ns.msg_count, q->messages.size());
  q->messages.clear();
  q->cbytes = 0;
  ns.msg.remove(q->id);
  q->senders.wake_all();  // they find the queue gone: EIDRM
  q->receivers.wake_all();
}

}  // namespace

int64_t sys_msgget(Task& t) {
  int32_t key = static_cast<int32_t>(t.arg(0));
  int flg = t.int_arg(1);
  IpcNamespace& ns = ipc_namespace();
  if (key != IPC_PRIVATE) {
    if (auto q = ns.msg.by_key(key)) {
      if ((flg & IPC_CREAT) && (flg & IPC_EXCL)) return -EEXIST;
      if (!permitted(t, q->perm, flg & 0777)) return -EACCES;
      return q->id;
    }
    if (!(flg & IPC_CREAT)) return -ENOENT;
  }
  auto q = std::make_shared<MsgQueue>();
  q->perm = ipc_new_perm(t.proc->cred, key, flg);
  q->qbytes = static_cast<uint64_t>(ns.limits.msgmnb);
  q->ctime = ipc_now();
  int id = ns.msg.add(q, ns.limits.msgmni);
  if (id < 0) return id;
  q->id = id;
  return id;
}

int64_t sys_msgsnd(Task& t) {
  int msqid = t.int_arg(0);
  uint64_t msgp = t.arg(1);
  int64_t size = static_cast<int64_t>(t.arg(2));
  int flg = t.int_arg(3);
  IpcNamespace& ns = ipc_namespace();
  int64_t type;
  if (get_user(t, msgp, type) < 0) return -EFAULT;
  if (size > ns.limits.msgmax || size < 0 || msqid < 0) return -EINVAL;
  if (type < 1) return -EINVAL;
  Message m;
  m.type = type;
  m.text.resize(static_cast<size_t>(size));
  if (size && copy_from_user(t, m.text.data(), msgp + sizeof(int64_t), m.text.size()) < 0) return -EFAULT;
  auto q = ns.msg.find(msqid);
  if (!q) return t.progress.ipc_waited ? -EIDRM : -EINVAL;
  if (!permitted(t, q->perm, 0222)) return -EACCES;
  if (q->cbytes + m.text.size() > q->qbytes || q->messages.size() + 1 > q->qbytes) {
    if (flg & IPC_NOWAIT) return -EAGAIN;
    t.sys_restartable = false;
    t.progress.ipc_waited = true;
    t.wait_on(q->senders);
    return kBlock;
  }
  // Queued messages are the VM's memory (kernel buffers, as pipe contents).
  if (!charge_kernel_buffers(m.text.size())) return -ENOMEM;
  q->cbytes += m.text.size();
  ns.msg_bytes += m.text.size();
  ns.msg_count++;
  q->messages.push_back(std::move(m));
  q->lspid = t.proc->pid;
  q->stime = ipc_now();
  q->receivers.wake_all();
  return 0;
}

int64_t sys_msgrcv(Task& t) {
  int msqid = t.int_arg(0);
  uint64_t msgp = t.arg(1);
  int64_t size = static_cast<int64_t>(t.arg(2));
  int64_t msgtyp = static_cast<int64_t>(t.arg(3));
  int flg = t.int_arg(4);
  IpcNamespace& ns = ipc_namespace();
  if (msqid < 0 || size < 0) return -EINVAL;
  if ((flg & MSG_COPY) && (!(flg & IPC_NOWAIT) || (flg & MSG_EXCEPT))) return -EINVAL;
  auto q = ns.msg.find(msqid);
  if (!q) return t.progress.ipc_waited ? -EIDRM : -EINVAL;
  if (!permitted(t, q->perm, 0444)) return -EACCES;
  int64_t i = msg_select(q->messages, msgtyp, flg);
  if (i < 0) {
    if (flg & IPC_NOWAIT) return -ENOMSG;
    t.sys_restartable = false;
    t.progress.ipc_waited = true;
    t.wait_on(q->receivers);
    return kBlock;
  }
  Message& m = q->messages[static_cast<size_t>(i)];
  if (static_cast<int64_t>(m.text.size()) > size && !(flg & MSG_NOERROR)) return -E2BIG;
  size_t n = std::min<size_t>(m.text.size(), static_cast<size_t>(size));
  if (put_user(t, msgp, m.type) < 0 || (n && copy_to_user(t, msgp + sizeof(int64_t), m.text.data(), n) < 0))
    return -EFAULT;
  if (flg & MSG_COPY) return static_cast<int64_t>(n);
  uncharge_kernel_buffers(m.text.size());
  q->cbytes -= m.text.size();
  ns.msg_bytes -= std::min<uint64_t>(ns.msg_bytes, m.text.size());
  ns.msg_count--;
  q->messages.erase(q->messages.begin() + i);
  q->lrpid = t.proc->pid;
  q->rtime = ipc_now();
  q->senders.wake_all();
  return static_cast<int64_t>(n);
}

int64_t sys_msgctl(Task& t) {
  int msqid = t.int_arg(0), cmd = t.int_arg(1);
  uint64_t buf = t.arg(2);
  IpcNamespace& ns = ipc_namespace();
  if (msqid < 0 || cmd < 0) return -EINVAL;
  switch (cmd) {
    case IPC_INFO:
    case MSG_INFO: {
      msginfo info{};
      info.msgmni = ns.limits.msgmni;
      info.msgmax = ns.limits.msgmax;
      info.msgmnb = ns.limits.msgmnb;
      info.msgssz = MSGSSZ;
      info.msgseg = MSGSEG;
      if (cmd == MSG_INFO) {
        info.msgpool = ns.msg.count();
        info.msgmap = static_cast<int>(ns.msg_count);
        info.msgtql = static_cast<int>(ns.msg_bytes);
      } else {
        info.msgmap = MSGMAP;
        info.msgpool = MSGPOOL;
        info.msgtql = MSGTQL;
      }
      if (copy_to_user(t, buf, &info, sizeof info) < 0) return -EFAULT;
      return ns.msg.highest_slot();
    }
    case MSG_STAT:
    case MSG_STAT_ANY:
    case IPC_STAT: {
      auto q = cmd == IPC_STAT ? ns.msg.find(msqid) : ns.msg.at(msqid);
      if (!q) return -EINVAL;
      if (cmd != MSG_STAT_ANY && !permitted(t, q->perm, 0444)) return -EACCES;
      msqid64_ds ds = stat_of(*q);
      if (copy_to_user(t, buf, &ds, sizeof ds) < 0) return -EFAULT;
      return cmd == IPC_STAT ? 0 : q->id;
    }
    case IPC_SET: {
      msqid64_ds in;
      if (copy_from_user(t, &in, buf, sizeof in) < 0) return -EFAULT;
      auto q = ns.msg.find(msqid);
      if (!q) return -EINVAL;
      if (!ipc_may_control(t.proc->cred, q->perm, capable(t, CAP_SYS_ADMIN))) return -EPERM;
      if (in.msg_qbytes > static_cast<uint64_t>(ns.limits.msgmnb) && !capable(t, CAP_SYS_RESOURCE)) return -EPERM;
      q->qbytes = in.msg_qbytes;
      q->perm.uid = in.msg_perm.uid;
      q->perm.gid = in.msg_perm.gid;
      q->perm.mode = (q->perm.mode & ~0777u) | (in.msg_perm.mode & 0777);
      q->ctime = ipc_now();
      q->senders.wake_all();  // a larger queue may take them now
      return 0;
    }
    case IPC_RMID: {
      auto q = ns.msg.find(msqid);
      if (!q) return -EINVAL;
      if (!ipc_may_control(t.proc->cred, q->perm, capable(t, CAP_SYS_ADMIN))) return -EPERM;
      remove_queue(ns, q);
      return 0;
    }
    default:
      return -EINVAL;
  }
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(msgget, "xx"),
    UM_FULL(msgsnd, "dpux"),
    UM_FULL(msgrcv, "dpudx"),
    UM_FULL(msgctl, "ddp"),
};

}  // namespace

std::span<const SyscallRow> sysv_msg_syscalls() { return kRows; }

}  // namespace um::kernel
