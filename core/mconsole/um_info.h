// `um-info`: an mconsole command of ours (not in UML) that umkernel answers with one JSON
// object describing the VM, so `umconsole list` can show disks and consoles. A real UML
// replies "Unknown command" (error), and umconsole falls back to `config` queries.
//
// Reply text (JSON, one object; unknown keys must be ignored by readers, absent keys mean
// "unknown"):
//   {"umid":"vm1","pid":1234,"kernel":"umkernel 0.1.0","mem":67108864,
//    "disks":[{"dev":"ubd0","file":"/x/root.img","backing":"","readonly":false}],
//    "consoles":[{"name":"con0","channel":"fd:0,fd:1","socket":""},
//                {"name":"con1","channel":"socket","socket":"/home/u/.uml/vm1/con1"}],
//    "networks":[{"dev":"eth0","spec":"daemon,,unix,/tmp/sw.ctl"}]}
// Long replies are split into mconsole packets like any other reply.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace um::mconsole {

inline constexpr const char* kInfoCommand = "um-info";

struct DiskInfo {
  std::string dev;      // "ubd0"
  std::string file;     // image path
  std::string backing;  // COW backing file, empty when none
  bool readonly = false;
};
struct ConsoleInfo {
  std::string name;     // "con0", "ssl1"
  std::string channel;  // the channel spec as configured ("null", "fd:1", "socket", "port:9000", ...)
  std::string socket;   // the attach socket path for socket consoles, else empty
};
struct NetInfo {
  std::string dev;
  std::string spec;
};
struct VmInfo {
  std::string umid;
  pid_t pid = 0;
  std::string kernel;
  uint64_t mem = 0;  // bytes, 0 = unknown
  std::vector<DiskInfo> disks;
  std::vector<ConsoleInfo> consoles;
  std::vector<NetInfo> networks;
};

std::string encode_info(const VmInfo& info);
Result<VmInfo> decode_info(std::string_view json);

}  // namespace um::mconsole
