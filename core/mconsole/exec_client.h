// Client side of um-exec (exec_protocol.h): asks the VM's mconsole for an exec socket, runs
// argv there and relays stdin/stdout/stderr until the command exits.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mconsole/exec_protocol.h"

namespace um::mconsole::exec {

struct ClientOptions {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=VALUE
  std::string cwd;
  int stdin_fd = 0;    // -1: no input (StdinEof at once)
  int stdout_fd = 1;
  int stderr_fd = 2;
  int signal_fd = -1;  // a signalfd: the signals read from it are forwarded to the command
  std::chrono::milliseconds timeout{5000};  // for the mconsole call and connecting
};

// The command's exit status. Errors: the VM does not support um-exec (ENOTSUP), the command
// could not be started (ENOEXEC, message from the VM), the connection broke (ECONNRESET).
Result<ExitStatus> run(const std::string& mconsole_socket, const ClientOptions& options);

}  // namespace um::mconsole::exec
