// Keys: add_key, request_key, keyctl (Linux's security/keys/keyctl.c) over keys/keys.h.
#include <linux/keyctl.h>
#include <sys/syscall.h>

#include <algorithm>
#include <functional>

#include "umkernel/kernel/capability.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/keys/keys.h"

namespace um::kernel {

namespace {

constexpr uint32_t kView = 0x01, kRead = 0x02, kWrite = 0x04, kSearch = 0x08, kLink = 0x10, kSetattr = 0x20;
// What a new key gets: everything for its possessor but SETATTR-less reads for logon keys
// (no read method), view for its user.
uint32_t default_perm(const std::string& type) {
  uint32_t pos = kView | kSearch | kLink | kSetattr | kWrite;
  if (type != "logon") pos |= kRead;
  return (pos << 24) | (kView << 16);
}

// The keyrings the task possesses (searched in Linux's order: thread, process, session).
std::vector<KeyPtr> own_keyrings(Task& t) {
  ProcessKeys& pk = key_table().of(*t.proc);
  std::vector<KeyPtr> out;
  if (auto it = pk.thread.find(t.tid); it != pk.thread.end()) out.push_back(it->second);
  if (pk.process) out.push_back(pk.process);
  if (pk.session) out.push_back(pk.session);
  else out.push_back(key_table().user_keyring(t.proc->cred.uid, true));
  return out;
}

bool possessed(Task& t, const Key& k) {
  for (auto& r : own_keyrings(t))
    if (keyring_reaches(*r, k)) return true;
  return false;
}

int64_t check(Task& t, const Key& k, uint32_t need) {
  if ((key_granted(k, t.proc->cred, possessed(t, k)) & need) != need) return -EACCES;
  return 0;
}

// KEYCTL_JOIN_SESSION_KEYRING: a new anonymous keyring, or the named keyring the caller may
// search (without possession: Linux's find_keyring_by_name), else a new one of that name. The
// serial, or 0 when the named one already is the session keyring.
int64_t join_session(Task& t, const std::string* name) {
  ProcessKeys& pk = key_table().of(*t.proc);
  const Credentials& c = t.proc->cred;
  KeyPtr ring;
  if (!name) {
    ring = key_table().make("keyring", "_ses", c.uid, c.gid, 0x3f030000);
  } else {
    for (auto& r : key_table().keyrings_named(*name))
      if (!r->expired() && (key_granted(*r, c, false) & kSearch)) {
        ring = r;
        break;
      }
    if (ring && ring == pk.session) return 0;
    if (!ring) ring = key_table().make("keyring", *name, c.uid, c.gid, 0x3f130000);
  }
  pk.session = ring;
  return ring->serial;
}

// Linux's lookup_user_key: special ids (created on demand when `create`), else a serial.
int64_t lookup(Task& t, int32_t id, bool create, uint32_t need, KeyPtr& out, bool partial = false) {
  ProcessKeys& pk = key_table().of(*t.proc);
  const Credentials& c = t.proc->cred;
  switch (id) {
    case KEY_SPEC_THREAD_KEYRING: {
      auto& r = pk.thread[t.tid];
      if (!r) {
        if (!create) {
          pk.thread.erase(t.tid);
          return -ENOKEY;
        }
        r = key_table().make("keyring", "_tid", c.uid, c.gid, 0x3f010000);
      }
      out = r;
      return 0;
    }
    case KEY_SPEC_PROCESS_KEYRING:
      if (!pk.process) {
        if (!create) return -ENOKEY;
        pk.process = key_table().make("keyring", "_pid", c.uid, c.gid, 0x3f010000);
      }
      out = pk.process;
      return 0;
    case KEY_SPEC_SESSION_KEYRING:
      if (!pk.session) {
        if (create) (void)join_session(t, nullptr);
        else pk.session = key_table().user_keyring(c.uid, true);
      }
      out = pk.session;
      return 0;
    case KEY_SPEC_USER_KEYRING:
      out = key_table().user_keyring(c.uid, false);
      return 0;
    case KEY_SPEC_USER_SESSION_KEYRING:
      out = key_table().user_keyring(c.uid, true);
      return 0;
    case KEY_SPEC_GROUP_KEYRING:
      return -EINVAL;
    case KEY_SPEC_REQKEY_AUTH_KEY:
    case KEY_SPEC_REQUESTOR_KEYRING:
      return -ENOKEY;
    default:
      if (id < 1) return -EINVAL;
      out = key_table().find(id);
      if (!out) return -ENOKEY;
  }
  if (!partial) {
    if (out->revoked) return -EKEYREVOKED;
    if (out->expired()) return -EKEYEXPIRED;
  }
  return need ? check(t, *out, need) : 0;
}

int64_t read_type(Task& t, uint64_t addr, std::string& type) {
  if (int64_t r = string_from_user(t, addr, type, 32); r < 0) return r == -ENAMETOOLONG ? -EINVAL : r;
  if (type.empty()) return -EINVAL;
  if (type[0] == '.') return -EPERM;
  if (type != "user" && type != "logon" && type != "keyring") return -ENODEV;
  return 0;
}

int64_t link_into(const KeyPtr& ring, const KeyPtr& k) {
  if (!ring->is_keyring()) return -ENOTDIR;
  if (k->is_keyring() && keyring_reaches(*k, *ring)) return -EDEADLK;
  // A key of the same type and description is replaced.
  std::erase_if(ring->links, [&](const KeyPtr& l) { return l != k && l->type == k->type && l->desc == k->desc; });
  if (std::find(ring->links.begin(), ring->links.end(), k) == ring->links.end()) {
    if (ring->links.size() >= 65536) return -ENFILE;
    ring->links.push_back(k);
  }
  return 0;
}

// keyring_search: depth first, the first live key the task may search.
KeyPtr search(Task& t, const Key& ring, const std::string& type, const std::string& desc, int depth = 0) {
  if (depth > 6) return nullptr;
  for (auto& l : ring.links) {
    if (l->invalidated || l->revoked || l->expired()) continue;
    if (l->type == type && l->desc == desc && check(t, *l, kSearch) == 0) return l;
  }
  for (auto& l : ring.links)
    if (l->is_keyring() && !l->revoked && check(t, *l, kSearch) == 0)
      if (auto k = search(t, *l, type, desc, depth + 1)) return k;
  return nullptr;
}

int64_t validate_payload(const std::string& type, size_t len) {
  if (type == "keyring") return len ? -EINVAL : 0;
  if (len == 0 || len > 32767) return -EINVAL;  // user and logon payloads
  return 0;
}

int64_t copy_out(Task& t, uint64_t buf, size_t buflen, const std::string& data, bool only_whole) {
  if (buf && buflen > 0 && (!only_whole || buflen >= data.size())) {
    size_t n = std::min(buflen, data.size());
    if (copy_to_user(t, buf, data.data(), n) < 0) return -EFAULT;
  }
  return static_cast<int64_t>(data.size());
}

void invalidate(const KeyPtr& k) {
  k->invalidated = true;
  k->links.clear();
}

}  // namespace

int64_t sys_add_key(Task& t) {
  std::string type, desc, payload;
  if (int64_t r = read_type(t, t.arg(0), type); r < 0) return r;
  if (int64_t r = string_from_user(t, t.arg(1), desc, 4096); r < 0) return r == -ENAMETOOLONG ? -EINVAL : r;
  size_t plen = t.size_arg(3);
  if (plen > 1024 * 1024 - 1) return -EINVAL;
  if (plen) {
    if (!t.arg(2)) return -EINVAL;
    payload.resize(plen);
    if (copy_from_user(t, payload.data(), t.arg(2), plen) < 0) return -EFAULT;
  }
  if (desc.empty()) return -EINVAL;
  if (int64_t r = validate_payload(type, plen); r < 0) return r;
  KeyPtr ring;
  if (int64_t r = lookup(t, static_cast<int32_t>(t.arg(4)), true, kWrite, ring); r < 0) return r;
  if (!ring->is_keyring()) return -ENOTDIR;
  // An existing key of this type and description in the keyring is updated.
  if (type != "keyring") {
    for (auto& l : ring->links)
      if (l->type == type && l->desc == desc && !l->revoked) {
        if (check(t, *l, kWrite) < 0) break;
        l->payload = payload;
        return l->serial;
      }
  }
  const Credentials& c = t.proc->cred;
  if (!key_table().charge(c.fsuid, payload.size())) return -EDQUOT;
  KeyPtr k = key_table().make(type, desc, c.fsuid, c.fsgid, default_perm(type));
  k->charged = payload.size() + 1;
  k->payload = std::move(payload);
  if (int64_t r = link_into(ring, k); r < 0) return r;
  return k->serial;
}

int64_t sys_request_key(Task& t) {
  std::string type, desc;
  if (int64_t r = read_type(t, t.arg(0), type); r < 0) return r;
  if (int64_t r = string_from_user(t, t.arg(1), desc, 4096); r < 0) return r == -ENAMETOOLONG ? -EINVAL : r;
  KeyPtr dest;
  if (t.arg(3)) {
    if (int64_t r = lookup(t, static_cast<int32_t>(t.arg(3)), true, kWrite, dest); r < 0) return r;
  }
  KeyPtr found;
  for (auto& r : own_keyrings(t)) {
    if (check(t, *r, kSearch) < 0) continue;
    if ((found = search(t, *r, type, desc))) break;
  }
  // No /sbin/request-key upcall: a key not already held is not there.
  if (!found) return -ENOKEY;
  if (dest)
    if (int64_t r = link_into(dest, found); r < 0) return r;
  return found->serial;
}

int64_t sys_keyctl(Task& t) {
  int op = t.int_arg(0);
  int32_t id = static_cast<int32_t>(t.arg(1));
  const Credentials& c = t.proc->cred;
  KeyPtr k;
  switch (op) {
    case KEYCTL_GET_KEYRING_ID:
      if (int64_t r = lookup(t, id, t.arg(2) != 0, kSearch, k); r < 0) return r;
      return k->serial;
    case KEYCTL_JOIN_SESSION_KEYRING: {
      std::string name;
      if (t.arg(1)) {
        if (int64_t r = string_from_user(t, t.arg(1), name, 4096); r < 0) return r;
        if (name.empty()) return -EINVAL;
        if (name[0] == '.') return -EPERM;
      }
      return join_session(t, t.arg(1) ? &name : nullptr);
    }
    case KEYCTL_UPDATE: {
      size_t plen = t.size_arg(3);
      if (plen > 1024 * 1024 - 1) return -EINVAL;
      std::string payload(plen, '\0');
      if (plen && copy_from_user(t, payload.data(), t.arg(2), plen) < 0) return -EFAULT;
      if (int64_t r = lookup(t, id, true, kWrite, k); r < 0) return r;
      if (k->is_keyring()) return -EOPNOTSUPP;
      if (int64_t r = validate_payload(k->type, plen); r < 0) return r;
      k->payload = std::move(payload);
      return 0;
    }
    case KEYCTL_REVOKE:
      if (int64_t r = lookup(t, id, false, 0, k); r < 0) return r;
      if (check(t, *k, kWrite) < 0 && check(t, *k, kSetattr) < 0) return -EACCES;
      k->revoked = true;
      return 0;
    case KEYCTL_CHOWN: {
      uint32_t uid = static_cast<uint32_t>(t.arg(2)), gid = static_cast<uint32_t>(t.arg(3));
      if (int64_t r = lookup(t, id, true, kSetattr, k, true); r < 0) return r;
      bool admin = capable(t, CAP_SYS_ADMIN);
      if (uid != UINT32_MAX && uid != k->uid && !admin) return -EACCES;
      if (gid != UINT32_MAX && !admin && (k->uid != c.fsuid || (gid != c.fsgid && !c.in_group(gid)))) return -EACCES;
      if (uid != UINT32_MAX) k->uid = uid;
      if (gid != UINT32_MAX) k->gid = gid;
      return 0;
    }
    case KEYCTL_SETPERM: {
      uint32_t perm = static_cast<uint32_t>(t.arg(2));
      if (perm & ~0x3f3f3f3fu) return -EINVAL;
      if (int64_t r = lookup(t, id, true, kSetattr, k, true); r < 0) return r;
      if (k->uid != c.fsuid && !capable(t, CAP_SYS_ADMIN)) return -EACCES;
      k->perm = perm;
      return 0;
    }
    case KEYCTL_DESCRIBE: {
      if (int64_t r = lookup(t, id, false, kView, k, true); r < 0) return r;
      std::string d = key_describe(*k);
      d.push_back('\0');
      return copy_out(t, t.arg(2), t.size_arg(3), d, true);
    }
    case KEYCTL_CLEAR:
      if (int64_t r = lookup(t, id, true, kWrite, k); r < 0) return r;
      if (!k->is_keyring()) return -ENOTDIR;
      k->links.clear();
      return 0;
    case KEYCTL_LINK: {
      KeyPtr ring;
      if (int64_t r = lookup(t, static_cast<int32_t>(t.arg(2)), true, kWrite, ring); r < 0) return r;
      if (int64_t r = lookup(t, id, true, kLink, k); r < 0) return r;
      return link_into(ring, k);
    }
    case KEYCTL_UNLINK: {
      KeyPtr ring;
      if (int64_t r = lookup(t, static_cast<int32_t>(t.arg(2)), false, kWrite, ring); r < 0) return r;
      if (int64_t r = lookup(t, id, false, 0, k, true); r < 0) return r;
      if (!ring->is_keyring()) return -ENOTDIR;
      auto it = std::find(ring->links.begin(), ring->links.end(), k);
      if (it == ring->links.end()) return -ENOENT;
      ring->links.erase(it);
      return 0;
    }
    case KEYCTL_SEARCH: {
      std::string type, desc;
      if (int64_t r = read_type(t, t.arg(2), type); r < 0) return r;
      if (int64_t r = string_from_user(t, t.arg(3), desc, 4096); r < 0) return r;
      KeyPtr ring, dest;
      if (int64_t r = lookup(t, id, false, kSearch, ring); r < 0) return r;
      if (t.arg(4) && lookup(t, static_cast<int32_t>(t.arg(4)), true, kWrite, dest) < 0) return -EACCES;
      if (!ring->is_keyring()) return -ENOTDIR;
      KeyPtr found = search(t, *ring, type, desc);
      if (!found) return -ENOKEY;
      if (dest)
        if (int64_t r = link_into(dest, found); r < 0) return r;
      return found->serial;
    }
    case KEYCTL_READ: {
      if (int64_t r = lookup(t, id, false, 0, k); r < 0) return r;
      // READ permission, or possession with SEARCH (Linux's keyctl_read_key).
      if (check(t, *k, kRead) < 0 && !(possessed(t, *k) && check(t, *k, kSearch) == 0)) return -EACCES;
      if (k->type == "logon") return -EOPNOTSUPP;
      std::string data;
      if (k->is_keyring()) {
        for (auto& l : k->links) {
          int32_t s = l->serial;
          data.append(reinterpret_cast<const char*>(&s), sizeof s);
        }
      } else {
        data = k->payload;
      }
      return copy_out(t, t.arg(2), t.size_arg(3), data, false);
    }
    case KEYCTL_INSTANTIATE:
    case KEYCTL_NEGATE:
    case KEYCTL_REJECT:
    case KEYCTL_INSTANTIATE_IOV:
      return -EPERM;  // only a request-key helper holding an authorization key may
    case KEYCTL_SET_REQKEY_KEYRING: {
      ProcessKeys& pk = key_table().of(*t.proc);
      int old = pk.reqkey_default;
      if (id == KEY_REQKEY_DEFL_NO_CHANGE) return old;
      if (id < KEY_REQKEY_DEFL_DEFAULT || id > KEY_REQKEY_DEFL_REQUESTOR_KEYRING) return -EINVAL;
      pk.reqkey_default = id;
      return old;
    }
    case KEYCTL_SET_TIMEOUT: {
      if (int64_t r = lookup(t, id, true, kSetattr, k, true); r < 0) return r;
      uint64_t secs = t.arg(2);
      k->expiry = secs ? realtime_ns() / 1000000000 + static_cast<int64_t>(std::min<uint64_t>(secs, 1ull << 40)) : 0;
      return 0;
    }
    case KEYCTL_ASSUME_AUTHORITY:
      if (id == 0) return 0;
      return id < 0 ? -EINVAL : -EPERM;
    case KEYCTL_GET_SECURITY:
      if (int64_t r = lookup(t, id, false, kView, k, true); r < 0) return r;
      return copy_out(t, t.arg(2), t.size_arg(3), std::string(1, '\0'), true);  // no LSM label
    case KEYCTL_SESSION_TO_PARENT: {
      auto parent = t.proc->parent.lock();
      if (!parent || parent->pid == 1) return -EPERM;
      if (parent->cred.uid != c.uid || parent->cred.euid != c.euid) return -EPERM;
      if (int64_t r = lookup(t, KEY_SPEC_SESSION_KEYRING, true, 0, k); r < 0) return r;
      key_table().of(*parent).session = k;
      return 0;
    }
    case KEYCTL_INVALIDATE:
      if (int64_t r = lookup(t, id, false, kSearch, k, true); r < 0) return r;
      invalidate(k);
      return 0;
    default:
      // Persistent keyrings, Diffie-Hellman, restrictions, public-key operations, watches.
      return -EOPNOTSUPP;
  }
}

namespace {

const SyscallRow kRows[] = {
    UM_FULL(add_key, "ssbuu"),
    UM_PARTIAL(request_key, "sssd", "finds held keys; never runs /sbin/request-key (ENOKEY)"),
    UM_PARTIAL(keyctl, "dxxxx",
               "user, logon and keyring keys; persistent keyrings, DH, public keys and watches "
               "are EOPNOTSUPP"),
};

}  // namespace

std::span<const SyscallRow> keyctl_syscalls() { return kRows; }

}  // namespace um::kernel
