#include "umkernel/socket/netlink/message.h"

#include <cerrno>

namespace um::kernel::net::netlink {

int64_t parse(const Request& r, size_t hdrlen, Attrs& out) {
  if (r.len < hdrlen) return -EINVAL;
  size_t off = nl_align(hdrlen);
  while (off + sizeof(rtattr) <= r.len) {
    rtattr a;
    memcpy(&a, r.payload + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > r.len - off) break;  // Linux stops, leaving the rest
    out.a[a.rta_type & NLA_TYPE_MASK] = std::string(r.payload + off + sizeof(rtattr), a.rta_len - sizeof(rtattr));
    off += nl_align(a.rta_len);
  }
  return 0;
}

std::optional<std::string> attr_string(const Attrs& at, uint16_t type) {
  const std::string* s = at.get(type);
  if (!s) return std::nullopt;
  return std::string(s->c_str(), strnlen(s->data(), s->size()));
}

}  // namespace um::kernel::net::netlink
