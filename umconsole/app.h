// Shared pieces of the umconsole subcommands: options every command sees and the way a
// subcommand hands its action to main().
#pragma once
#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace umconsole {

struct Globals {
  double timeout_seconds = 5.0;  // per mconsole packet / per connection step
  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  }
};

// Each family registers its subcommands; the chosen one stores its action in `run`, which
// main() calls after parsing and whose value is the exit code.
struct App {
  CLI::App& cli;
  Globals& globals;
  std::function<int()>& run;
  // `exec`'s command line, split off argv before parsing (see split_exec_command).
  std::vector<std::string>& exec_command;
};

void add_mconsole_commands(App& app);
void add_list_command(App& app);
void add_console_commands(App& app);
void add_exec_command(App& app);
// For `umconsole [opts] exec [exec-opts] UMID CMD ARGS...`: moves CMD ARGS... into `command`
// and returns how many argv entries the option parser should see (argc when not exec).
int split_exec_command(int argc, char** argv, std::vector<std::string>& command);

}  // namespace umconsole
