// System V IPC identifiers and permissions (Linux's ipc/util.c): every shared memory segment,
// semaphore set and message queue has an ipc_perm (key, owner, creator, mode) and an id that
// combines a slot index with a sequence number, so that a removed object's id does not name
// the next object created in its slot. Pure bookkeeping: the objects live in ipc/sysv.h.
#pragma once
#include <cstdint>
#include <map>
#include <memory>

namespace um::kernel {

struct Credentials;

constexpr int kIpcMni = 32768;  // IPCMNI: slots per kind; ids are seq * kIpcMni + index

struct IpcPerm {
  int32_t key = 0;  // IPC_PRIVATE (0) or the caller's key
  uint32_t uid = 0, gid = 0, cuid = 0, cgid = 0;
  uint32_t mode = 0;  // low 9 bits: permissions; above: SHM_DEST, SHM_LOCKED
  uint32_t seq = 0;
  bool deleted = false;  // removed (IPC_RMID): lookups fail, waiters get EIDRM
};

// Linux's ipcperms: `flag` holds the permission bits asked for (0400 read, 0200 write, or the
// get call's flag & 0777); owner, group or other bits answer; CAP_IPC_OWNER overrides.
bool ipc_permitted(const Credentials& c, const IpcPerm& p, int flag, bool cap_ipc_owner);
// IPC_SET and IPC_RMID: the owner, the creator, or CAP_SYS_ADMIN.
bool ipc_may_control(const Credentials& c, const IpcPerm& p, bool cap_sys_admin);
// A new object's ipc_perm for `cred` (the effective ids), with mode bits from the get flag.
IpcPerm ipc_new_perm(const Credentials& c, int32_t key, int flag);

// One kind of object (segments, semaphore sets or queues), each T having a member `perm`.
template <class T>
class IpcIds {
 public:
  // Adds `obj` at the lowest free slot (at most `max_ids` in use): its id, or -ENOSPC.
  int add(std::shared_ptr<T> obj, int max_ids) {
    if (static_cast<int>(objects_.size()) >= max_ids || static_cast<int>(objects_.size()) >= kIpcMni) return -28;
    int idx = 0;
    for (auto& [i, o] : objects_) {
      if (i != idx) break;
      idx++;
    }
    obj->perm.seq = seq_;
    seq_ = (seq_ + 1) % (INT32_MAX / kIpcMni);
    objects_[idx] = std::move(obj);
    return static_cast<int>(objects_[idx]->perm.seq) * kIpcMni + idx;
  }
  // The object with this id (slot and sequence match), or null.
  std::shared_ptr<T> find(int id) const {
    if (id < 0) return nullptr;
    auto it = objects_.find(id % kIpcMni);
    if (it == objects_.end() || static_cast<int>(it->second->perm.seq) != id / kIpcMni) return nullptr;
    return it->second;
  }
  // The object in slot `idx` (the *_STAT commands), or null.
  std::shared_ptr<T> at(int idx) const {
    auto it = objects_.find(idx);
    return it == objects_.end() ? nullptr : it->second;
  }
  int id_of_slot(int idx) const {
    auto it = objects_.find(idx);
    return it == objects_.end() ? -1 : static_cast<int>(it->second->perm.seq) * kIpcMni + idx;
  }
  // The object with this key (never IPC_PRIVATE), or null.
  std::shared_ptr<T> by_key(int32_t key) const {
    if (key == 0) return nullptr;
    for (auto& [i, o] : objects_)
      if (o->perm.key == key) return o;
    return nullptr;
  }
  void remove(int id) {
    auto it = objects_.find(id % kIpcMni);
    if (it != objects_.end()) {
      it->second->perm.deleted = true;
      objects_.erase(it);
    }
  }
  int count() const { return static_cast<int>(objects_.size()); }
  int highest_slot() const { return objects_.empty() ? 0 : objects_.rbegin()->first; }
  const std::map<int, std::shared_ptr<T>>& all() const { return objects_; }

 private:
  std::map<int, std::shared_ptr<T>> objects_;
  uint32_t seq_ = 0;
};

}  // namespace um::kernel
