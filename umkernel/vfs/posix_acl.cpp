#include "umkernel/vfs/posix_acl.h"

#include <cerrno>
#include <cstring>

namespace um::kernel::posix_acl {

namespace {
constexpr uint32_t kVersion = 2;  // POSIX_ACL_XATTR_VERSION
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10, kOther = 0x20;
constexpr size_t kEntrySize = 8;
}  // namespace

int64_t parse(std::string_view value, std::vector<Entry>& out) {
  out.clear();
  if (value.size() < 4) return -EINVAL;
  uint32_t version;
  memcpy(&version, value.data(), 4);
  if (version != kVersion) return -EOPNOTSUPP;
  if ((value.size() - 4) % kEntrySize) return -EINVAL;
  size_t n = (value.size() - 4) / kEntrySize;
  for (size_t i = 0; i < n; i++) {
    Entry e;
    memcpy(&e.tag, value.data() + 4 + i * kEntrySize, 2);
    memcpy(&e.perm, value.data() + 6 + i * kEntrySize, 2);
    memcpy(&e.id, value.data() + 8 + i * kEntrySize, 4);
    out.push_back(e);
  }
  if (out.empty()) return 0;
  // posix_acl_valid: tags in order, each of USER_OBJ, GROUP_OBJ, OTHER once, a mask when
  // there are named entries.
  int state = kUserObj, named = 0;
  bool have_mask = false;
  for (const Entry& e : out) {
    if (e.perm & ~7u) return -EINVAL;
    switch (e.tag) {
      case kUserObj:
        if (state != kUserObj) return -EINVAL;
        state = kUser;
        break;
      case kUser:
        if (state != kUser) return -EINVAL;
        named++;
        break;
      case kGroupObj:
        if (state != kUser) return -EINVAL;
        state = kGroup;
        break;
      case kGroup:
        if (state != kGroup) return -EINVAL;
        named++;
        break;
      case kMask:
        if (state != kGroup) return -EINVAL;
        state = kOther;
        have_mask = true;
        break;
      case kOther:
        if (state == kOther || (state == kGroup && !named)) {
          state = 0;
          break;
        }
        return -EINVAL;
      default:
        return -EINVAL;
    }
  }
  if (state != 0 || (named && !have_mask)) return -EINVAL;
  return 0;
}

bool to_mode(const std::vector<Entry>& acl, uint32_t& mode) {
  uint32_t bits = 0;
  bool extended = false;
  const Entry* mask = nullptr;
  for (const Entry& e : acl) {
    switch (e.tag) {
      case kUserObj: bits |= (e.perm & 7u) << 6; break;
      case kGroupObj: bits |= (e.perm & 7u) << 3; break;
      case kOther: bits |= e.perm & 7u; break;
      case kMask: mask = &e; extended = true; break;
      default: extended = true; break;
    }
  }
  if (mask) bits = (bits & ~0070u) | ((mask->perm & 7u) << 3);
  mode = (mode & ~0777u) | bits;
  return extended;
}

std::string chmod(std::string_view value, uint32_t mode) {
  std::vector<Entry> acl;
  if (parse(value, acl) < 0 || acl.empty()) return {};
  bool has_mask = false;
  for (const Entry& e : acl) has_mask |= e.tag == kMask;
  for (Entry& e : acl) {
    if (e.tag == kUserObj) e.perm = (mode >> 6) & 7;
    else if (e.tag == kOther) e.perm = mode & 7;
    else if (e.tag == (has_mask ? kMask : kGroupObj)) e.perm = (mode >> 3) & 7;
  }
  std::string out(value.substr(0, 4));
  for (const Entry& e : acl) {
    char b[kEntrySize];
    memcpy(b, &e.tag, 2);
    memcpy(b + 2, &e.perm, 2);
    memcpy(b + 4, &e.id, 4);
    out.append(b, kEntrySize);
  }
  return out;
}

}  // namespace um::kernel::posix_acl
