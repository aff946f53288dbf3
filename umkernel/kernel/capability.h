// Capabilities: Linux's model of root's privileges split into bits (capabilities(7)). Each
// process has inheritable, permitted, effective, bounding and ambient sets in its
// Credentials; uid changes and execve move them as Linux does for a system without file
// capabilities, and privileged operations ask capable() rather than "is euid 0".
#pragma once
#include <linux/capability.h>

#include <cstdint>

namespace um::kernel {

class Task;
struct Credentials;

constexpr int kLastCap = CAP_LAST_CAP;  // 40 (CAP_CHECKPOINT_RESTORE)
constexpr uint64_t kAllCaps = (1ull << (kLastCap + 1)) - 1;
constexpr uint64_t cap_bit(int cap) { return 1ull << cap; }

bool capable(const Task& t, int cap);
bool has_cap(const Credentials& c, int cap);

// After the uids changed from `old` (setuid family): Linux's cap_emulate_setxuid() and the
// fsuid rule.
void caps_after_setuid(Credentials& c, const Credentials& old);
// At execve (no file capabilities): root gets its full permitted set, others the ambient set.
void caps_on_exec(Credentials& c);

// prctl's capability operations (PR_CAPBSET_*, PR_*_KEEPCAPS, PR_CAP_AMBIENT,
// PR_*_SECUREBITS). Sets *handled when `op` is one of them.
int64_t prctl_capability(Task& t, int op, bool* handled);

}  // namespace um::kernel
