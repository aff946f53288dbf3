#include "umkernel/ipc/ipc_ids.h"

#include <algorithm>

#include "umkernel/kernel/task.h"

namespace um::kernel {

namespace {
// Linux's in_egroup_p: the effective gid or a supplementary group.
bool in_egroup(const Credentials& c, uint32_t g) {
  return g == c.egid || std::find(c.groups.begin(), c.groups.end(), g) != c.groups.end();
}
}  // namespace

bool ipc_permitted(const Credentials& c, const IpcPerm& p, int flag, bool cap_ipc_owner) {
  int requested = (flag >> 6) | (flag >> 3) | flag;
  int granted = static_cast<int>(p.mode);
  if (c.euid == p.cuid || c.euid == p.uid) granted >>= 6;
  else if (in_egroup(c, p.cgid) || in_egroup(c, p.gid)) granted >>= 3;
  if ((requested & ~granted & 07) && !cap_ipc_owner) return false;
  return true;
}

bool ipc_may_control(const Credentials& c, const IpcPerm& p, bool cap_sys_admin) {
  return c.euid == p.cuid || c.euid == p.uid || cap_sys_admin;
}

IpcPerm ipc_new_perm(const Credentials& c, int32_t key, int flag) {
  IpcPerm p;
  p.key = key;
  p.uid = p.cuid = c.euid;
  p.gid = p.cgid = c.egid;
  p.mode = static_cast<uint32_t>(flag) & 0777;
  return p;
}

}  // namespace um::kernel
