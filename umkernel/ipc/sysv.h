// System V IPC objects (Linux's ipc/shm.c, sem.c, msg.c), one set per VM (its IPC namespace):
// shared memory segments (each a tmpfs memfd mapped straight into the processes attaching it),
// semaphore sets with SEM_UNDO lists, and message queues. The system calls are in
// sys/sysv_shm.cpp, sys/sysv_sem.cpp and sys/sysv_msg.cpp; what processes keep (attachments,
// undo lists) is in Process and follows fork, exec and exit through the hooks below.
// The pure parts (semop's all-or-nothing step, msgrcv's choice of message) are free functions
// with unit tests (sysv_test.cpp).
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "umkernel/ipc/ipc_ids.h"
#include "umkernel/kernel/wait_queue.h"
#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class Task;
class Process;

// --- limits (Linux 6.1's defaults; /proc/sys/kernel sets them) ---
struct IpcLimits {
  uint64_t shmmax = UINT64_MAX - (1ull << 24), shmall = UINT64_MAX - (1ull << 24);
  int shmmni = 4096;
  int semmsl = 32000, semmns = 1024000000, semopm = 500, semmni = 32000;
  int msgmax = 8192, msgmnb = 16384, msgmni = 32000;
};
constexpr int kSemVmx = 32767;  // SEMVMX, also SEMAEM
constexpr uint32_t kShmDest = 01000;    // SHM_DEST: removed, destroyed at the last detach
constexpr uint32_t kShmLocked = 02000;  // SHM_LOCKED

// --- shared memory ---
struct ShmSegment {
  IpcPerm perm;
  int id = -1;
  InodePtr file;  // an unlinked tmpfs file: its memfd is what processes map
  uint64_t size = 0;
  int64_t atime = 0, dtime = 0, ctime = 0;
  int cpid = 0, lpid = 0;
  uint64_t nattch = 0;
};

// One mapped piece of an attached segment in a process (munmap can split an attachment).
struct ShmAttach {
  uint64_t start = 0, end = 0;
  uint64_t offset = 0;  // of `start` in the segment
  std::shared_ptr<ShmSegment> seg;
};

struct ShmAttachments {
  std::vector<ShmAttach> list;
};

// --- semaphores ---
struct Semaphore {
  int val = 0;
  int pid = 0;  // the last process to change it (sempid)
};

struct SemBuf {  // struct sembuf
  uint16_t num;
  int16_t op;
  int16_t flg;
};

// A semop waiting on its set (Linux's sem_queue): what it asks for, for whom.
struct SemPending {
  Task* task = nullptr;  // compared, never followed unless it is still in the set's `waiters`
  std::vector<SemBuf> sops;
  size_t blocking = 0;   // the operation that must wait (GETNCNT/GETZCNT count by it)
  int pid = 0;
  std::shared_ptr<struct SemUndoList> undo;  // when it has SEM_UNDO operations
};

struct SemSet {
  IpcPerm perm;
  int id = -1;
  std::vector<Semaphore> sems;
  int64_t otime = 0, ctime = 0;
  WaitQueue waiters;  // tasks parked in semop on this set
  // The waiting semops in arrival order. Whenever the values change, those that can now
  // complete are performed on their tasks' behalf, in order (Linux's update_queue), and their
  // tasks woken with the result in `completed`; the others keep waiting (and counting).
  std::deque<SemPending> pending;
  std::map<const Task*, int64_t> completed;
  std::vector<std::weak_ptr<struct SemUndoList>> undo_lists;  // lists with adjustments for it
};

// A process's SEM_UNDO adjustments (shared by its threads and by CLONE_SYSVSEM children):
// semaphore set id -> one adjustment per semaphore.
struct SemUndoList {
  std::map<int, std::vector<int>> adj;
};

// semop's step: applies `sops` to `sems` (and the SEM_UNDO adjustments to `adj`, which has one
// entry per semaphore) all or nothing, in order, as Linux's perform_atomic_semop. Returns 0
// (applied; the changed semaphores' pid set), kSemWouldBlock with *blocking set to the index of
// the operation that must wait, -EAGAIN (it would block and has IPC_NOWAIT), or -ERANGE
// (a value above SEMVMX or an adjustment out of range). Numbers are checked by the caller.
constexpr int64_t kSemWouldBlock = 1;
int64_t sem_apply(std::vector<Semaphore>& sems, std::vector<int>* adj, std::span<const SemBuf> sops, int pid,
                  size_t* blocking);

// Performs the waiting semops of `set` that can complete now (after any change of its values).
void sem_update_queue(SemSet& set);
// Whether a pending entry's task still waits (is parked on the set).
bool sem_still_waiting(const SemSet& set, const SemPending& p);

// --- message queues ---
struct Message {
  int64_t type = 0;
  std::string text;
};

struct MsgQueue {
  IpcPerm perm;
  int id = -1;
  std::deque<Message> messages;
  uint64_t cbytes = 0;  // bytes queued
  uint64_t qbytes = 0;  // the queue's limit
  int64_t stime = 0, rtime = 0, ctime = 0;
  int lspid = 0, lrpid = 0;
  WaitQueue senders, receivers;
};

// msgrcv's choice: the index of the message `msgtyp` and `flags` (MSG_EXCEPT, MSG_COPY) select,
// or -1. Linux's convert_mode + find_msg.
int64_t msg_select(const std::deque<Message>& q, int64_t msgtyp, int flags);

// --- the VM's IPC namespace ---
struct IpcNamespace {
  IpcLimits limits;
  IpcIds<ShmSegment> shm;
  IpcIds<SemSet> sem;
  IpcIds<MsgQueue> msg;
  uint64_t shm_pages = 0;  // pages of every segment (against shmall)
  int sem_total = 0;       // semaphores in every set (against semmns)
  uint64_t msg_bytes = 0, msg_count = 0;  // queued everywhere
  std::shared_ptr<struct MqueueFs> mqueue;  // POSIX message queues (ipc/mqueue.h), made on first use
};
IpcNamespace& ipc_namespace();

// --- hooks for the process life cycle ---
// fork/clone: the child shares the attachments (each counts once more) and, with CLONE_SYSVSEM,
// the undo list.
void ipc_fork(Process& parent, Process& child, bool share_sysvsem);
// execve and exit: every segment is detached; at exit the undo list (its last user) is applied.
void ipc_exec(Process& p);
void ipc_exit(Process& p);
// munmap (and MAP_FIXED over) [start, end): attachments in it shrink, split or go.
void shm_unmapped(Process& p, uint64_t start, uint64_t end);
// A segment whose last attachment went and which IPC_RMID marked is destroyed.
void shm_maybe_destroy(const std::shared_ptr<ShmSegment>& seg);
int64_t ipc_now();  // seconds of the guest's realtime clock, for the *time fields

// /proc/sysvipc/{shm,sem,msg} and the /proc/sys/kernel limits (procfs_system.cpp calls it).
class SyntheticSuperBlock;
class SyntheticDir;
void add_proc_ipc_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& proc_root,
                          const std::shared_ptr<SyntheticDir>& sys_kernel);

}  // namespace um::kernel
