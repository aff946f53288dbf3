#include "umkernel/platform/platform.h"

#include "umkernel/platform/ptrace.h"

namespace um::kernel::platform {

const char* default_kind() { return "ptrace"; }

std::unique_ptr<Platform> create(const std::string& kind, std::string* error) {
  std::string k = kind.empty() || kind == "auto" ? default_kind() : kind;
  if (k == "ptrace") return make_ptrace_platform(error);
  *error = "unknown platform '" + kind + "' (ptrace, auto)";
  return nullptr;
}

}  // namespace um::kernel::platform
