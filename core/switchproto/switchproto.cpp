#include "core/switchproto/switchproto.h"

#include <cstdio>
#include <cstring>

namespace um::switchproto {

namespace {

uint32_t read_u32(std::span<const uint8_t> b, size_t off) {
  uint32_t v;
  memcpy(&v, b.data() + off, sizeof v);
  return v;
}

ParseResult invalid(std::string why) {
  ParseResult r;
  r.status = ParseStatus::Invalid;
  r.error = std::move(why);
  return r;
}

// Checks the embedded sockaddr_un once its family field has arrived.
bool family_arrived_and_wrong(std::span<const uint8_t> b, size_t sock_off) {
  if (b.size() < sock_off + sizeof(sa_family_t)) return false;
  sa_family_t family;
  memcpy(&family, b.data() + sock_off, sizeof family);
  return family != AF_UNIX;
}

ParseResult finish(std::span<const uint8_t> b, uint32_t version, uint32_t type, size_t sock_off) {
  ParseResult r;
  r.status = ParseStatus::Ok;
  r.request.version = version;
  r.request.type = type;
  memcpy(&r.request.data_addr, b.data() + sock_off, kAddrSize);
  return r;
}

// vde2 sends a NUL-terminated description after the v3 request; UML sends 2 padding bytes.
std::string description_from(std::span<const uint8_t> tail) {
  std::string d;
  for (uint8_t c : tail) {
    if (c == 0) break;
    if (c < 0x20 || c > 0x7e) return {};  // padding garbage, not text
    d += static_cast<char>(c);
  }
  return d;
}

}  // namespace

ParseResult parse_request(std::span<const uint8_t> b) {
  if (b.size() > kMaxRequestSize) b = b.first(kMaxRequestSize);
  if (b.size() < 4) return {};
  uint32_t first = read_u32(b, 0);
  if (first != kMagic) {
    // Version 0: no magic, the first word is the request type.
    if (first != kReqNewControl) return invalid("bad request (no magic, type " + std::to_string(first) + ")");
    if (family_arrived_and_wrong(b, offsetof(RequestV0, sock))) return invalid("bad request (v0 address family is not AF_UNIX)");
    if (b.size() < sizeof(RequestV0)) return {};
    return finish(b, 0, first, offsetof(RequestV0, sock));
  }
  if (b.size() < 8) return {};
  uint32_t second = read_u32(b, 4);
  if (second == 3) {
    if (b.size() < 12) return {};
    uint32_t type = read_u32(b, 8);
    if ((type & 0xff) != kReqNewControl && (type & 0xff) != kReqNewPort0)
      return invalid("bad request type " + std::to_string(type & 0xff));
    if (family_arrived_and_wrong(b, offsetof(RequestV3, sock))) return invalid("bad request (address family is not AF_UNIX)");
    if (b.size() < kV3MinSize) return {};
    ParseResult r = finish(b, 3, type, offsetof(RequestV3, sock));
    r.request.description = description_from(b.subspan(kV3MinSize));
    return r;
  }
  if (second == 2) return invalid("version 2 is not supported");
  if (second > 3) return invalid("unsupported request version " + std::to_string(second));
  // Version 1: magic, then the type where v2+ have the version (uml_switch reads it the same way).
  if (second != kReqNewControl) return invalid("bad v1 request type " + std::to_string(second));
  if (family_arrived_and_wrong(b, offsetof(RequestV1, sock))) return invalid("bad request (v1 address family is not AF_UNIX)");
  if (b.size() < sizeof(RequestV1)) return {};
  return finish(b, 1, second, offsetof(RequestV1, sock));
}

std::vector<uint8_t> encode_request_v3(const sockaddr_un& data_addr, uint32_t type) {
  RequestV3 req;
  memset(&req, 0, sizeof req);
  req.magic = kMagic;
  req.version = 3;
  req.type = type;
  req.sock = data_addr;
  std::vector<uint8_t> out(sizeof req);
  memcpy(out.data(), &req, sizeof req);
  return out;
}

bool is_abstract(const sockaddr_un& addr) { return addr.sun_path[0] == 0; }

socklen_t address_length(const sockaddr_un& addr) {
  if (is_abstract(addr)) return sizeof addr;
  return offsetof(sockaddr_un, sun_path) + strnlen(addr.sun_path, sizeof addr.sun_path - 1) + 1;
}

std::string describe_address(const sockaddr_un& addr) {
  if (!is_abstract(addr)) return std::string(addr.sun_path, strnlen(addr.sun_path, sizeof addr.sun_path));
  size_t end = sizeof addr.sun_path;
  while (end > 1 && addr.sun_path[end - 1] == 0) --end;
  bool printable = true;
  for (size_t i = 1; i < end; ++i) {
    auto c = static_cast<unsigned char>(addr.sun_path[i]);
    printable = printable && c >= 0x21 && c <= 0x7e;
  }
  if (printable) return "@" + std::string(addr.sun_path + 1, end - 1);
  // Binary names (UML's pid/usec struct): hex of the leading bytes is enough to tell them apart.
  std::string out = "@0x";
  for (size_t i = 0; i < std::min<size_t>(end, 16); ++i) {
    char hex[4];
    snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(addr.sun_path[i]));
    out += hex;
  }
  return end > 16 ? out + "..." : out;
}

std::string format_mac(uint64_t key) {
  char s[18];
  snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(key >> 40 & 0xff),
           unsigned(key >> 32 & 0xff), unsigned(key >> 24 & 0xff), unsigned(key >> 16 & 0xff),
           unsigned(key >> 8 & 0xff), unsigned(key & 0xff));
  return s;
}

std::string format_mac(const uint8_t* mac) { return format_mac(mac_key(mac)); }

bool parse_mac(const std::string& text, Mac& out) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':' && text[i * 3 - 1] != '-') return false;
    unsigned v = 0;
    for (size_t k = 0; k < 2; ++k) {
      char c = text[i * 3 + k];
      int d = isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')               ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')               ? c - 'A' + 10
                                                     : -1;
      if (d < 0) return false;
      v = v * 16 + unsigned(d);
    }
    out[i] = static_cast<uint8_t>(v);
  }
  return true;
}

}  // namespace um::switchproto
