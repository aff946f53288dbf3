#include "umkernel/keys/keys.h"

#include <linux/keyctl.h>

#include <algorithm>
#include <cstdio>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"

namespace um::kernel {

namespace {
constexpr uint32_t kOverflowId = 65534;
uint32_t shown(uint32_t id) { return id == UINT32_MAX ? kOverflowId : id; }
}  // namespace

Key::~Key() {
  if (charged && kernel_exists()) key_table().uncharge(uid, charged - 1);
}

bool Key::expired() const { return expiry && realtime_ns() / 1000000000 >= expiry; }

std::string key_describe(const Key& k) {
  char head[96];
  snprintf(head, sizeof head, "%s;%u;%u;%08x;", k.type.c_str(), shown(k.uid), shown(k.gid), k.perm);
  return head + k.desc;
}

uint32_t key_granted(const Key& k, const Credentials& cred, bool possessed) {
  uint32_t g;
  if (k.uid == cred.fsuid) g = k.perm >> 16;
  else if (k.gid != UINT32_MAX && (k.gid == cred.fsgid || cred.in_group(k.gid))) g = k.perm >> 8;
  else g = k.perm;
  if (possessed) g |= k.perm >> 24;
  return g & 0x3f;
}

bool keyring_reaches(const Key& ring, const Key& target, int depth) {
  if (&ring == &target) return true;
  if (depth > 6) return false;  // KEYRING_SEARCH_MAX_DEPTH
  for (auto& l : ring.links)
    if (l->is_keyring() && keyring_reaches(*l, target, depth + 1)) return true;
    else if (l.get() == &target) return true;
  return false;
}

KeyPtr KeyTable::make(const std::string& type, const std::string& desc, uint32_t uid, uint32_t gid, uint32_t perm) {
  auto k = std::make_shared<Key>();
  // Serials are positive and never reused while a key lives (Linux picks them at random).
  do {
    next_ = next_ >= INT32_MAX - 1 ? 3 : next_ + 1 + static_cast<int32_t>(monotonic_ns() % 97);
    if (next_ < 3) next_ = 3;
  } while (keys_.count(next_) && !keys_[next_].expired());
  k->serial = next_;
  k->type = type;
  k->desc = desc;
  k->uid = uid;
  k->gid = gid;
  k->perm = perm;
  keys_[k->serial] = k;
  if (keys_.size() > 4096)
    std::erase_if(keys_, [](auto& e) { return e.second.expired(); });
  return k;
}

KeyPtr KeyTable::find(int32_t serial) {
  auto it = keys_.find(serial);
  if (it == keys_.end()) return nullptr;
  auto k = it->second.lock();
  if (!k || k->invalidated) return nullptr;
  return k;
}

std::vector<KeyPtr> KeyTable::keyrings_named(const std::string& name) {
  std::vector<KeyPtr> out;
  for (auto& [serial, w] : keys_)
    if (auto k = w.lock(); k && k->is_keyring() && k->desc == name && !k->invalidated && !k->revoked)
      out.push_back(k);
  return out;
}

KeyPtr KeyTable::user_keyring(uint32_t uid, bool session) {
  auto& u = user_[uid];
  if (!u) u = make("keyring", "_uid." + std::to_string(uid), uid, UINT32_MAX, 0x1f3f0000);
  if (!session) return u;
  auto& s = user_session_[uid];
  if (!s) {
    s = make("keyring", "_uid_ses." + std::to_string(uid), uid, UINT32_MAX, 0x1f3f0000);
    s->links.push_back(u);
  }
  return s;
}

ProcessKeys& KeyTable::of(const Process& p) { return procs_[&p]; }

void KeyTable::fork(const Process& parent, const Process& child) {
  auto it = procs_.find(&parent);
  if (it == procs_.end()) return;
  ProcessKeys& c = procs_[&child];
  c.session = it->second.session;  // shared; the process and thread keyrings are not inherited
  c.reqkey_default = it->second.reqkey_default;
}

void KeyTable::exec(const Process& p) {
  auto it = procs_.find(&p);
  if (it == procs_.end()) return;
  it->second.process.reset();
  it->second.thread.clear();
}

void KeyTable::exit(const Process& p) { procs_.erase(&p); }

void KeyTable::thread_exit(const Process& p, int tid) {
  auto it = procs_.find(&p);
  if (it != procs_.end()) it->second.thread.erase(tid);
}

bool KeyTable::charge(uint32_t uid, size_t bytes) {
  auto& q = quota_[uid];
  uint64_t max_keys = uid == 0 ? 1000000 : 200, max_bytes = uid == 0 ? 25000000 : 20000;
  if (q.first + 1 > max_keys || q.second + bytes > max_bytes) return false;
  if (!charge_kernel_buffers(bytes)) return false;
  q.first++;
  q.second += bytes;
  return true;
}

void KeyTable::uncharge(uint32_t uid, size_t bytes) {
  auto& q = quota_[uid];
  q.first -= std::min<uint64_t>(q.first, 1);
  q.second -= std::min<uint64_t>(q.second, bytes);
  uncharge_kernel_buffers(bytes);
}

KeyTable& key_table() { return kernel().state<KeyTable>(); }

}  // namespace um::kernel
