// The management socket: a unix stream socket that takes one command line
// ("ports", "macs" or "stats", optionally followed by " json") and answers with a text table
// or a JSON document, then closes. `umswitch ctl` is its client.
#pragma once
#include <string>

#include "core/error.h"
#include "umswitch/engine.h"

namespace um::sw {

// The management socket that goes with a control socket: "X.ctl" → "X.mgmt", else "X.mgmt"
// appended.
std::string default_mgmt_path(const std::string& ctl_path);

// Answers one request line. Unknown commands produce "error: ..." as the first line.
std::string answer_mgmt(const Engine& engine, const std::string& line);

// `umswitch ctl PATH COMMAND [--json]`: PATH may be the control socket (its management
// socket is derived) or the management socket itself. Prints the answer; exit code.
int run_ctl(const std::string& path, const std::string& command, bool json);

}  // namespace um::sw
