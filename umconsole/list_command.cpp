// `umconsole list`: the VMs of the run directory, with uptime (from /proc) and disks and
// consoles (from our um-info mconsole command, or `config` queries against a real UML).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/cli.h"
#include "core/mconsole/client.h"
#include "core/mconsole/json_lite.h"
#include "core/mconsole/um_info.h"
#include "core/rundir.h"
#include "umconsole/app.h"

namespace umconsole {
namespace {

using um::mconsole::VmInfo;

// Seconds since `pid` started: /proc/PID/stat field 22 (start time in clock ticks since boot)
// against /proc/uptime. -1 when unknown.
long uptime_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  size_t paren = line.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return -1;
  std::istringstream rest(line.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) {
      double boot_uptime = 0;
      std::ifstream up("/proc/uptime");
      if (!(up >> boot_uptime)) return -1;
      double started = std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
      return static_cast<long>(boot_uptime - started);
    }
  }
  return -1;
}

std::string human_duration(long s) {
  if (s < 0) return "?";
  char buf[32];
  if (s < 60) snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600) snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else if (s < 86400) snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else snprintf(buf, sizeof buf, "%ldd%02ldh", s / 86400, (s / 3600) % 24);
  return buf;
}

struct Row {
  std::string umid;
  pid_t pid;
  long uptime;
  bool responding = false;
  std::string source;  // "um-info", "config" or "" (no answer)
  VmInfo info;
};

// A real UML has no um-info: ask `version` and `config` for the usual devices instead.
void query_uml(const std::string& sock, std::chrono::milliseconds timeout, Row& row) {
  auto version = um::mconsole::call(sock, "version", timeout);
  if (!version || version->error) return;
  row.responding = true;
  row.source = "config";
  row.info.kernel = version->text;
  for (int i = 0; i < 8; ++i) {
    std::string dev = "ubd" + std::to_string(i);
    auto r = um::mconsole::call(sock, "config " + dev, timeout);
    if (r && !r->error && !r->text.empty()) row.info.disks.push_back({dev, r->text, "", false});
  }
  for (const char* kind : {"con", "ssl"}) {
    for (int i = 0; i < 4; ++i) {
      std::string name = kind + std::to_string(i);
      auto r = um::mconsole::call(sock, "config " + name, timeout);
      if (r && !r->error && !r->text.empty() && r->text != "null")
        row.info.consoles.push_back({name, r->text, ""});
    }
  }
  auto mem = um::mconsole::call(sock, "config mem", timeout);
  if (mem && !mem->error) row.info.mem = strtoull(mem->text.c_str(), nullptr, 10);
}

Row inspect(const um::rundir::VmEntry& vm, std::chrono::milliseconds timeout) {
  Row row{vm.umid, vm.pid, uptime_of(vm.pid)};
  std::string sock = um::rundir::mconsole_path(vm.umid);
  auto info = um::mconsole::call(sock, um::mconsole::kInfoCommand, timeout);
  if (info && !info->error) {
    if (auto parsed = um::mconsole::decode_info(info->text)) {
      row.responding = true;
      row.source = "um-info";
      row.info = std::move(parsed.value());
      return row;
    }
  }
  if (info) query_uml(sock, timeout, row);  // it answered, just not um-info: a UML
  row.info.umid = vm.umid;
  row.info.pid = vm.pid;
  return row;
}

std::string disks_text(const VmInfo& info) {
  std::string s;
  for (const auto& d : info.disks) s += (s.empty() ? "" : ",") + d.dev + "=" + d.file + (d.readonly ? "(ro)" : "");
  return s.empty() ? "-" : s;
}

// Socket consoles by name only (their sockets are <run dir>/<umid>/<name>; --json has the
// paths), others with their channel.
std::string consoles_text(const VmInfo& info) {
  std::string s;
  for (const auto& c : info.consoles)
    s += (s.empty() ? "" : ",") + c.name + (c.socket.empty() ? "=" + c.channel : "");
  return s.empty() ? "-" : s;
}

void print_json(const std::vector<Row>& rows) {
  using um::json::quote;
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out += std::string(i ? ",\n " : "") + "{\"umid\":" + quote(r.umid) + ",\"pid\":" + std::to_string(r.pid) +
           ",\"uptime_seconds\":" + std::to_string(r.uptime) + ",\"responding\":" +
           (r.responding ? "true" : "false") + ",\"source\":" + quote(r.source) +
           ",\"mconsole\":" + quote(um::rundir::mconsole_path(r.umid)) +
           ",\"info\":" + um::mconsole::encode_info(r.info) + "}";
  }
  out += "]\n";
  fputs(out.c_str(), stdout);
}

void print_table(const std::vector<Row>& rows) {
  printf("%-20s %8s %8s  %-40s %s\n", "UMID", "PID", "UPTIME", "DISKS", "CONSOLES");
  for (const Row& r : rows) {
    std::string disks = r.responding ? disks_text(r.info) : "(not answering)";
    printf("%-20s %8d %8s  %-40s %s\n", r.umid.c_str(), static_cast<int>(r.pid),
           human_duration(r.uptime).c_str(), disks.c_str(),
           r.responding ? consoles_text(r.info).c_str() : "-");
  }
}

}  // namespace

void add_list_command(App& app) {
  CLI::App* sub = app.cli.add_subcommand("list", "list running VMs of the run directory");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "print a JSON array (see umconsole(1) for the fields)");
  sub->callback([&app, json] {
    app.run = [&app, json] {
      std::vector<Row> rows;
      // Listing must stay quick even with a hung VM: a short per-VM timeout.
      auto timeout = std::min(app.globals.timeout(), std::chrono::milliseconds(1000));
      for (const auto& vm : um::rundir::list_running()) rows.push_back(inspect(vm, timeout));
      if (*json) print_json(rows);
      else print_table(rows);
      return fflush(stdout) == 0 ? um::kExitOk : um::kExitFailure;
    };
  });
}

}  // namespace umconsole
