// Netlink messages as af_netlink.c and lib/nlattr.c frame them: building nlmsghdr-framed
// replies with rtattr attributes, and parsing a request's attributes after its fixed header.
#pragma once
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>

namespace um::kernel::net::netlink {

inline size_t nl_align(size_t n) { return (n + 3) & ~size_t{3}; }

// --- building messages ---

class Message {
 public:
  Message(uint16_t type, uint16_t flags, uint32_t seq, uint32_t pid) {
    nlmsghdr h{0, type, flags, seq, pid};
    raw(&h, sizeof h);
  }
  template <class T>
  void body(const T& v) { raw(&v, sizeof v); }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
    raw(&a, sizeof a);
    raw(data, len);
  }
  void u8(uint16_t type, uint8_t v) { attr(type, &v, 1); }
  void u32(uint16_t type, uint32_t v) { attr(type, &v, 4); }
  void str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  std::string finish() {
    uint32_t len = static_cast<uint32_t>(buf_.size());
    memcpy(buf_.data(), &len, sizeof len);
    return std::move(buf_);
  }

 private:
  void raw(const void* p, size_t n) {
    buf_.append(static_cast<const char*>(p), n);
    buf_.resize(nl_align(buf_.size()), '\0');
  }
  std::string buf_;
};

// --- parsing requests ---

struct Request {
  const nlmsghdr* h;
  const char* payload;   // after the header
  size_t len;            // payload bytes
  uint16_t type() const { return h->nlmsg_type; }
  uint16_t flags() const { return h->nlmsg_flags; }
};

// The attributes after a fixed header of `hdrlen` bytes, by type (the last one wins, as
// nla_parse). -EINVAL when the message is shorter than its fixed header.
struct Attrs {
  std::map<uint16_t, std::string> a;
  const std::string* get(uint16_t type) const {
    auto it = a.find(type);
    return it == a.end() ? nullptr : &it->second;
  }
  bool has(uint16_t type) const { return a.count(type) != 0; }
};

int64_t parse(const Request& r, size_t hdrlen, Attrs& out);

template <class T>
T header_of(const Request& r) {
  T v{};
  memcpy(&v, r.payload, std::min(sizeof v, r.len));
  return v;
}

// A fixed-size attribute: -ERANGE when shorter (nla_validate's minimum lengths).
template <class T>
int64_t attr_value(const Attrs& at, uint16_t type, std::optional<T>& out) {
  const std::string* s = at.get(type);
  if (!s) return 0;
  if (s->size() < sizeof(T)) return -ERANGE;
  T v;
  memcpy(&v, s->data(), sizeof v);
  out = v;
  return 0;
}

std::optional<std::string> attr_string(const Attrs& at, uint16_t type);

}  // namespace um::kernel::net::netlink
