// Running e2fsprogs tools (e2fsck, resize2fs) on an image file.
#pragma once
#include <string>
#include <vector>

#include "core/error.h"

namespace um::image {

// Full path of an e2fsprogs program (PATH, then /sbin and /usr/sbin); ENOENT if missing.
Result<std::string> find_tool(const std::string& name);

struct ToolRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
Result<ToolRun> run_tool(const std::string& prog, const std::vector<std::string>& args);

}  // namespace um::image
