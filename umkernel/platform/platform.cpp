#include "umkernel/platform/platform.h"

#include <cstdlib>

#include "umkernel/platform/ptrace.h"
#include "umkernel/platform/seccomp.h"

namespace um::kernel::platform {

const char* default_kind() { return "ptrace"; }

std::unique_ptr<Platform> create(const std::string& given, std::string* error) {
  // Without platform= on the command line, UM_PLATFORM in the environment may name one.
  std::string kind = given;
  if (kind.empty())
    if (const char* env = getenv("UM_PLATFORM")) kind = env;
  std::string k = kind.empty() || kind == "auto" ? default_kind() : kind;
  if (k == "ptrace") return make_ptrace_platform(error);
  if (k == "seccomp") return make_seccomp_platform(error);
  *error = "unknown platform '" + kind + "' (ptrace, seccomp, auto)";
  return nullptr;
}

}  // namespace um::kernel::platform
