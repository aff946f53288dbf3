// POSIX ACLs as the system.posix_acl_access and system.posix_acl_default attributes carry them
// (Linux's posix_acl_xattr format: a version word, then {tag, perm, id} entries), with the
// rules Linux's VFS applies whatever the file system: a well-formed ACL only (posix_acl_valid),
// an access ACL that says no more than the mode bits is not stored but becomes the mode
// (posix_acl_update_mode: GNU cp -a, setfacl -b), and chmod rewrites a stored access ACL's
// owner, mask (or group) and other entries (posix_acl_chmod).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace um::kernel::posix_acl {

inline constexpr std::string_view kAccess = "system.posix_acl_access";
inline constexpr std::string_view kDefault = "system.posix_acl_default";

struct Entry {
  uint16_t tag, perm;
  uint32_t id;
};

// Parses and checks an attribute value: 0, -EOPNOTSUPP for another version, -EINVAL for a
// malformed or invalid ACL. An ACL with no entries parses to an empty vector (removal).
int64_t parse(std::string_view value, std::vector<Entry>& out);
// The mode the ACL gives (permission bits of `mode` replaced); true if the ACL says more
// than those bits can (named users or groups, a mask), i.e. it must be kept.
bool to_mode(const std::vector<Entry>& acl, uint32_t& mode);
// A stored access ACL after chmod to `mode`: owner, mask (or group when there is no mask) and
// other entries take the new bits. Empty if `value` does not parse.
std::string chmod(std::string_view value, uint32_t mode);

}  // namespace um::kernel::posix_acl
