#include "core/mconsole/um_info.h"

#include "core/mconsole/json_lite.h"

namespace um::mconsole {

using json::quote;

std::string encode_info(const VmInfo& info) {
  std::string o = "{\"umid\":" + quote(info.umid) + ",\"pid\":" + std::to_string(info.pid) +
                  ",\"kernel\":" + quote(info.kernel) + ",\"mem\":" + std::to_string(info.mem) +
                  ",\"disks\":[";
  for (size_t i = 0; i < info.disks.size(); ++i) {
    const auto& d = info.disks[i];
    o += std::string(i ? "," : "") + "{\"dev\":" + quote(d.dev) + ",\"file\":" + quote(d.file) +
         ",\"backing\":" + quote(d.backing) + ",\"readonly\":" + (d.readonly ? "true" : "false") + "}";
  }
  o += "],\"consoles\":[";
  for (size_t i = 0; i < info.consoles.size(); ++i) {
    const auto& c = info.consoles[i];
    o += std::string(i ? "," : "") + "{\"name\":" + quote(c.name) + ",\"channel\":" + quote(c.channel) +
         ",\"socket\":" + quote(c.socket) + "}";
  }
  o += "],\"networks\":[";
  for (size_t i = 0; i < info.networks.size(); ++i) {
    const auto& n = info.networks[i];
    o += std::string(i ? "," : "") + "{\"dev\":" + quote(n.dev) + ",\"spec\":" + quote(n.spec) + "}";
  }
  return o + "]}";
}

Result<VmInfo> decode_info(std::string_view text) {
  json::Value v = UM_TRY(json::parse(text));
  if (!v.is_object()) return Error::make(EPROTO, "um-info reply is not a JSON object");
  VmInfo info;
  info.umid = v["umid"].str();
  info.pid = static_cast<pid_t>(v["pid"].num());
  info.kernel = v["kernel"].str();
  info.mem = static_cast<uint64_t>(v["mem"].num());
  for (const auto& d : v["disks"].array)
    info.disks.push_back({d["dev"].str(), d["file"].str(), d["backing"].str(), d["readonly"].boolean});
  for (const auto& c : v["consoles"].array)
    info.consoles.push_back({c["name"].str(), c["channel"].str(), c["socket"].str()});
  for (const auto& n : v["networks"].array) info.networks.push_back({n["dev"].str(), n["spec"].str()});
  return info;
}

}  // namespace um::mconsole
