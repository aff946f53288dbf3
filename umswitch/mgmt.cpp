#include "umswitch/mgmt.h"

#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "core/cli.h"
#include "core/unix_socket.h"

namespace um::sw {

using switchproto::format_mac;

std::string default_mgmt_path(const std::string& ctl_path) {
  if (ctl_path.size() > 4 && ctl_path.ends_with(".ctl"))
    return ctl_path.substr(0, ctl_path.size() - 4) + ".mgmt";
  return ctl_path + ".mgmt";
}

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::map<int, size_t> macs_per_port(const Engine& engine) {
  std::map<int, size_t> counts;
  for (const auto& e : engine.macs().entries(engine.now())) ++counts[e.port];
  return counts;
}

std::string ports_text(const Engine& engine, bool json) {
  auto macs = macs_per_port(engine);
  std::ostringstream o;
  if (json) o << "{\"ports\":[";
  else o << "PORT KIND MACS RX_FRAMES RX_BYTES RX_DROPS TX_FRAMES TX_BYTES TX_DROPS PEER\n";
  bool first = true;
  for (const Port* p : engine.ports()) {
    const PortCounters& c = p->counters;
    if (json) {
      o << (first ? "" : ",") << "{\"port\":" << p->id << ",\"kind\":\"" << p->kind()
        << "\",\"peer\":" << json_string(p->peer()) << ",\"macs\":" << macs[p->id]
        << ",\"rx_frames\":" << c.rx_frames << ",\"rx_bytes\":" << c.rx_bytes
        << ",\"rx_drops\":" << c.rx_drops << ",\"tx_frames\":" << c.tx_frames
        << ",\"tx_bytes\":" << c.tx_bytes << ",\"tx_drops\":" << c.tx_drops << "}";
    } else {
      o << p->id << ' ' << p->kind() << ' ' << macs[p->id] << ' ' << c.rx_frames << ' '
        << c.rx_bytes << ' ' << c.rx_drops << ' ' << c.tx_frames << ' ' << c.tx_bytes << ' '
        << c.tx_drops << ' ' << p->peer() << '\n';
    }
    first = false;
  }
  if (json) o << "]}\n";
  return o.str();
}

std::string macs_text(const Engine& engine, bool json) {
  std::ostringstream o;
  if (json) o << "{\"max_age\":" << engine.macs().max_age() << ",\"macs\":[";
  else o << "MAC PORT AGE\n";
  bool first = true;
  for (const auto& e : engine.macs().entries(engine.now())) {
    if (e.age > engine.macs().max_age()) continue;  // aged out, not yet swept
    if (json)
      o << (first ? "" : ",") << "{\"mac\":\"" << format_mac(e.mac) << "\",\"port\":" << e.port
        << ",\"age\":" << e.age << "}";
    else
      o << format_mac(e.mac) << ' ' << e.port << ' ' << e.age << '\n';
    first = false;
  }
  if (json) o << "]}\n";
  return o.str();
}

std::string stats_text(const Engine& engine, bool json) {
  const SwitchStats& s = engine.stats();
  const std::pair<const char*, uint64_t> fields[] = {
      {"ports", engine.ports().size()},
      {"max_ports", static_cast<uint64_t>(engine.config().max_ports)},
      {"macs", engine.macs().size()},
      {"frames_in", s.frames_in},
      {"bytes_in", s.bytes_in},
      {"frames_out", s.frames_out},
      {"bytes_out", s.bytes_out},
      {"drop_too_short", s.drop_too_short},
      {"drop_too_long", s.drop_too_long},
      {"drop_tx_full", s.drop_tx_full},
      {"drop_tx_error", s.drop_tx_error},
      {"filtered", s.filtered},
      {"mac_table_full", s.mac_table_full},
      {"ports_connected", s.ports_connected},
      {"ports_disconnected", s.ports_disconnected},
      {"ports_refused", s.ports_refused},
      {"bad_requests", s.bad_requests},
      {"drop_storm", s.drop_storm},
  };
  std::ostringstream o;
  if (json) {
    o << "{\"mode\":\"" << (engine.config().hub ? "hub" : "switch") << "\"";
    for (const auto& [k, v] : fields) o << ",\"" << k << "\":" << v;
    o << "}\n";
  } else {
    o << "mode " << (engine.config().hub ? "hub" : "switch") << '\n';
    for (const auto& [k, v] : fields) o << k << ' ' << v << '\n';
  }
  return o.str();
}

bool is_socket(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

std::string answer_mgmt(const Engine& engine, const std::string& line) {
  std::istringstream in(line);
  std::string cmd, format, extra;
  in >> cmd >> format >> extra;
  if (!extra.empty() || (!format.empty() && format != "json"))
    return "error: usage: ports|macs|stats [json]\n";
  bool json = format == "json";
  if (cmd == "ports") return ports_text(engine, json);
  if (cmd == "macs") return macs_text(engine, json);
  if (cmd == "stats") return stats_text(engine, json);
  return "error: unknown command '" + cmd + "' (try ports, macs or stats)\n";
}

int run_ctl(const std::string& path, const std::string& command, bool json) {
  std::string mgmt = default_mgmt_path(path);
  std::string target = is_socket(mgmt) ? mgmt : path;
  auto fd = unix_socket::connect(SOCK_STREAM, target);
  if (!fd) return cli::fail(fd.error().message + " (is umswitch running with this control socket?)");
  if (auto st = unix_socket::set_timeouts(fd->get(), 5000); !st) return cli::fail(st.error());
  std::string request = command + (json ? " json" : "") + "\n";
  if (send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
    return cli::fail(Error::from_errno("cannot send to " + target));
  std::string answer;
  char buf[4096];
  while (true) {
    ssize_t n = recv(fd->get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cli::fail(Error::from_errno("no answer from " + target));
    if (n == 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  if (answer.starts_with("error: ")) {
    while (!answer.empty() && answer.back() == '\n') answer.pop_back();
    return cli::fail(answer.substr(7));
  }
  fwrite(answer.data(), 1, answer.size(), stdout);
  return kExitOk;
}

}  // namespace um::sw
