// The kernel key retention service (Linux's security/keys), enough for PAM's pam_keyinit
// (login, su -l, runuser), keyutils and programs that keep secrets in keyrings: keys of type
// "user", "logon" and "keyring"; the thread, process, session, user and user-session keyrings;
// possession, the permission mask, revocation, expiry and invalidation; per-user quotas.
// request_key finds keys but never runs /sbin/request-key (ENOKEY). The system calls are in
// sys/keyctl.cpp; the keys a process holds follow fork, exec and exit through the hooks below.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace um::kernel {

class Task;
class Process;
struct Credentials;

struct Key {
  int32_t serial = 0;
  std::string type, desc, payload;
  uint32_t uid = 0, gid = 0;
  uint32_t perm = 0;
  bool revoked = false, invalidated = false;
  int64_t expiry = 0;  // guest realtime seconds; 0 = never
  std::vector<std::shared_ptr<Key>> links;  // a keyring's keys
  uint64_t charged = 0;  // against its owner's quota (payload bytes + 1 key), given back at the end
  ~Key();
  bool is_keyring() const { return type == "keyring"; }
  bool expired() const;
};
using KeyPtr = std::shared_ptr<Key>;

// "type;uid;gid;perm;description" as KEYCTL_DESCRIBE gives it (ids of -1 as 65534).
std::string key_describe(const Key& k);
// The permission bits `cred` gets on `k` (possessed or not), as Linux's key_task_permission.
uint32_t key_granted(const Key& k, const Credentials& cred, bool possessed);
// Whether `target` is reachable from `ring` through keyrings (cycles are refused at link).
bool keyring_reaches(const Key& ring, const Key& target, int depth = 0);

// The keyrings of a process (threads: by tid) and its request_key default.
struct ProcessKeys {
  KeyPtr session, process;
  std::map<int, KeyPtr> thread;
  int reqkey_default = 0;
};

class KeyTable {
 public:
  KeyPtr make(const std::string& type, const std::string& desc, uint32_t uid, uint32_t gid, uint32_t perm);
  KeyPtr find(int32_t serial);
  // Every live keyring named `name` (join_session_keyring looks among them).
  std::vector<KeyPtr> keyrings_named(const std::string& name);
  // The per-user keyrings (_uid.N and _uid_ses.N, the latter linking the former).
  KeyPtr user_keyring(uint32_t uid, bool session);
  ProcessKeys& of(const Process& p);
  void fork(const Process& parent, const Process& child);
  void exec(const Process& p);  // the thread and process keyrings go
  void exit(const Process& p);
  void thread_exit(const Process& p, int tid);
  // Per-user quota: keys and payload bytes (Linux's maxkeys/maxbytes).
  bool charge(uint32_t uid, size_t bytes);
  void uncharge(uint32_t uid, size_t bytes);

 private:
  std::map<int32_t, std::weak_ptr<Key>> keys_;
  std::map<uint32_t, KeyPtr> user_, user_session_;
  std::map<const Process*, ProcessKeys> procs_;
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> quota_;  // uid -> keys, bytes
  int32_t next_ = 0;
};
KeyTable& key_table();

}  // namespace um::kernel
