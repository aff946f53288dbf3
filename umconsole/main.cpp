// umconsole: talks to running VMs (umkernel or UML) by umid: mconsole commands, shared
// consoles, listing, exec.
#include <CLI/CLI.hpp>
#include <csignal>

#include "core/cli.h"
#include "umconsole/app.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error return, not a death
  CLI::App cli{"Talk to running VMs (umkernel or User Mode Linux) by umid: mconsole commands, "
               "consoles, exec."};
  um::cli::setup(cli, "umconsole");
  cli.require_subcommand(1);
  umconsole::Globals globals;
  cli.add_option("-t,--timeout", globals.timeout_seconds,
                 "seconds to wait for each reply packet or connection step (default 5)")
      ->check(CLI::PositiveNumber)
      ->group("Global options");  // see core/cli.h
  std::function<int()> run;
  std::vector<std::string> exec_command;
  umconsole::App app{cli, globals, run, exec_command};
  umconsole::add_list_command(app);
  umconsole::add_console_commands(app);
  umconsole::add_exec_command(app);
  umconsole::add_mconsole_commands(app);
  cli.footer(
      "UMID is a VM name under the run directory ($UML_DIR, else ~/.uml), a name under\n"
      "/tmp/uml, a VM directory or an mconsole socket path. Exit status: 0 success, 1 failure\n"
      "(including an error reply from the VM), 2 usage error. See umconsole(1).");
  int parsed_argc = umconsole::split_exec_command(argc, argv, exec_command);
  if (int code = um::cli::parse(cli, parsed_argc, argv); code >= 0) return code;
  return run ? run() : um::kExitUsage;
}
