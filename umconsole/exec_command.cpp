// `umconsole exec UMID [--] CMD ARGS...`: run a command in the VM (um-exec, see
// core/mconsole/exec_protocol.h); its exit status becomes ours.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <memory>

#include "core/cli.h"
#include "core/mconsole/exec_client.h"
#include "umconsole/app.h"
#include "umconsole/target.h"

namespace umconsole {
namespace {

struct ExecArgs {
  std::string vm;
  std::vector<std::string> env;
  std::string cwd;
  bool no_stdin = false;
};

// Exit codes of our own when the command never ran (as shells do: 127 not found/not run).
constexpr int kExitNotRun = 127;

int run_exec(const Globals& g, const ExecArgs& a, std::vector<std::string> argv) {
  if (argv.empty()) {
    fprintf(stderr, "umconsole: error: exec needs a command: umconsole exec UMID [--] CMD [ARGS...]\n");
    return um::kExitUsage;
  }
  for (const auto& kv : a.env)
    if (kv.find('=') == std::string::npos || kv.front() == '=') {
      fprintf(stderr, "umconsole: error: --env wants NAME=VALUE, got '%s'\n", kv.c_str());
      return um::kExitUsage;
    }
  auto target = resolve_target(a.vm);
  if (!target) return um::cli::fail(target.error());

  // Ctrl-C, termination and hangup go to the command instead of killing us halfway.
  sigset_t set, old;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, &old);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);

  um::mconsole::exec::ClientOptions o;
  o.argv = std::move(argv);
  o.env = a.env;
  o.cwd = a.cwd;
  o.stdin_fd = a.no_stdin ? -1 : STDIN_FILENO;
  o.signal_fd = sfd;
  o.timeout = g.timeout();
  auto status = um::mconsole::exec::run(target->mconsole, o);
  if (sfd >= 0) close(sfd);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (!status) {
    um::cli::fail(target->name + ": " + status.error().message);
    return status.error().code == ENOEXEC ? kExitNotRun : um::kExitFailure;
  }
  return status->shell_code();
}

}  // namespace

void add_exec_command(App& app) {
  auto a = std::make_shared<ExecArgs>();
  CLI::App* sub = app.cli.add_subcommand(
      "exec", "run CMD ARGS... in the VM with our stdin/stdout/stderr; exit with its status (umkernel only)");
  sub->add_option("-e,--env", a->env, "NAME=VALUE to add to the command's environment (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("-C,--cwd", a->cwd, "working directory for the command");
  sub->add_flag("-n,--no-stdin", a->no_stdin, "give the command an empty stdin");
  sub->add_option("UMID", a->vm, "the VM")->required();
  sub->add_option("CMD", app.exec_command, "the command and its arguments (split off before parsing, "
                                           "so they may look like options)");
  sub->callback([&app, a] { app.run = [&app, a] { return run_exec(app.globals, *a, app.exec_command); }; });
}

int split_exec_command(int argc, char** argv, std::vector<std::string>& command) {
  // Global options that take a value; everything else before the subcommand is a flag.
  auto takes_value = [](std::string_view o) { return o == "-t" || o == "--timeout"; };
  int i = 1;
  while (i < argc && argv[i][0] == '-') i += takes_value(argv[i]) ? 2 : 1;
  if (i >= argc || std::string_view(argv[i]) != "exec") return argc;
  for (++i; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") { ++i; break; }                    // exec -- UMID CMD...
    if (a == "-e" || a == "--env" || a == "-C" || a == "--cwd" || a == "-t" || a == "--timeout") { ++i; continue; }
    if (a.starts_with("-")) continue;                 // flags and --opt=value
    break;                                            // UMID
  }
  if (i >= argc) return argc;
  int cut = i + 1;                                    // keep UMID for the parser
  for (int j = cut; j < argc; ++j) command.emplace_back(argv[j]);
  if (!command.empty() && command.front() == "--") command.erase(command.begin());
  return cut;
}

}  // namespace umconsole
