#include "umkernel/kernel/capability.h"

#include <linux/prctl.h>
#include <linux/securebits.h>

#include "umkernel/kernel/task.h"

namespace um::kernel {

namespace {

// The capabilities an fsuid of 0 carries (CAP_FS_MASK).
constexpr uint64_t kFsCaps = cap_bit(CAP_CHOWN) | cap_bit(CAP_MKNOD) | cap_bit(CAP_DAC_OVERRIDE) |
                             cap_bit(CAP_DAC_READ_SEARCH) | cap_bit(CAP_FOWNER) |
                             cap_bit(CAP_FSETID) | cap_bit(CAP_LINUX_IMMUTABLE) |
                             cap_bit(CAP_MAC_OVERRIDE);

bool any_root(const Credentials& c) { return c.uid == 0 || c.euid == 0 || c.suid == 0; }

}  // namespace

bool has_cap(const Credentials& c, int cap) {
  return cap >= 0 && cap <= kLastCap && (c.cap_effective & cap_bit(cap));
}

bool capable(const Task& t, int cap) { return has_cap(t.proc->cred, cap); }

void caps_after_setuid(Credentials& c, const Credentials& old) {
  if (!(c.securebits & SECBIT_NO_SETUID_FIXUP)) {
    if (any_root(old) && !any_root(c) && !(c.securebits & SECBIT_KEEP_CAPS)) {
      c.cap_permitted = 0;
      c.cap_effective = 0;
      c.cap_ambient = 0;
    }
    if (old.euid == 0 && c.euid != 0) c.cap_effective = 0;
    if (old.euid != 0 && c.euid == 0) c.cap_effective = c.cap_permitted;
  }
  if (old.fsuid == 0 && c.fsuid != 0) c.cap_effective &= ~kFsCaps;
  if (old.fsuid != 0 && c.fsuid == 0) c.cap_effective |= c.cap_permitted & kFsCaps;
}

void caps_on_exec(Credentials& c) {
  // keep_caps does not survive an exec.
  c.securebits &= ~SECBIT_KEEP_CAPS;
  if (!(c.securebits & SECBIT_NOROOT) && (c.euid == 0 || c.uid == 0)) {
    // Root's executables count as having every file capability: pP' = (pI | X) where X is
    // the bounding set; pE' = pP' only for an effective uid of 0.
    c.cap_permitted = (c.cap_inheritable | c.cap_bounding) & kAllCaps;
    c.cap_effective = c.euid == 0 ? c.cap_permitted : 0;
    c.cap_ambient = 0;
    return;
  }
  c.cap_ambient &= c.cap_permitted & c.cap_inheritable;
  c.cap_permitted = c.cap_ambient;
  c.cap_effective = c.cap_ambient;
}

int64_t prctl_capability(Task& t, int op, bool* handled) {
  *handled = true;
  Credentials& c = t.proc->cred;
  uint64_t a1 = t.arg(1), a2 = t.arg(2);
  switch (op) {
    case PR_CAPBSET_READ:
      if (a1 > static_cast<uint64_t>(kLastCap)) return -EINVAL;
      return (c.cap_bounding >> a1) & 1;
    case PR_CAPBSET_DROP:
      if (a1 > static_cast<uint64_t>(kLastCap)) return -EINVAL;
      if (!has_cap(c, CAP_SETPCAP)) return -EPERM;
      c.cap_bounding &= ~cap_bit(static_cast<int>(a1));
      return 0;
    case PR_GET_KEEPCAPS:
      return (c.securebits & SECBIT_KEEP_CAPS) ? 1 : 0;
    case PR_SET_KEEPCAPS:
      if (a1 > 1) return -EINVAL;
      if (c.securebits & SECBIT_KEEP_CAPS_LOCKED) return -EPERM;
      if (a1) c.securebits |= SECBIT_KEEP_CAPS;
      else c.securebits &= ~SECBIT_KEEP_CAPS;
      return 0;
    case PR_GET_SECUREBITS:
      return c.securebits;
    case PR_SET_SECUREBITS: {
      constexpr uint32_t kAll = SECURE_ALL_BITS | SECURE_ALL_LOCKS;
      // Locked bits cannot change; new bits need CAP_SETPCAP.
      uint32_t locked = (c.securebits & SECURE_ALL_LOCKS) >> 1;
      if (a1 & ~static_cast<uint64_t>(kAll)) return -EPERM;
      if (((c.securebits ^ a1) & locked) || ((c.securebits & ~a1) & SECURE_ALL_LOCKS))
        return -EPERM;
      if (!has_cap(c, CAP_SETPCAP)) return -EPERM;
      c.securebits = static_cast<uint32_t>(a1);
      return 0;
    }
    case PR_CAP_AMBIENT: {
      uint64_t a3 = t.arg(3), a4 = t.arg(4);
      if (a1 == PR_CAP_AMBIENT_CLEAR_ALL) {
        if (a2 || a3 || a4) return -EINVAL;
        c.cap_ambient = 0;
        return 0;
      }
      if (a3 || a4 || a2 > static_cast<uint64_t>(kLastCap)) return -EINVAL;
      uint64_t bit = cap_bit(static_cast<int>(a2));
      switch (a1) {
        case PR_CAP_AMBIENT_IS_SET: return (c.cap_ambient & bit) ? 1 : 0;
        case PR_CAP_AMBIENT_RAISE:
          if (!(c.cap_permitted & bit) || !(c.cap_inheritable & bit) ||
              (c.securebits & SECBIT_NO_CAP_AMBIENT_RAISE))
            return -EPERM;
          c.cap_ambient |= bit;
          return 0;
        case PR_CAP_AMBIENT_LOWER:
          c.cap_ambient &= ~bit;
          return 0;
        default: return -EINVAL;
      }
    }
    default:
      *handled = false;
      return -EINVAL;
  }
}

}  // namespace um::kernel
