// Subcommands that map one-to-one onto mconsole commands: send, print the reply text, exit 1
// on an error reply.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/cli.h"
#include "core/mconsole/client.h"
#include "umconsole/app.h"
#include "umconsole/target.h"

namespace umconsole {
namespace {

enum class Args { None, One, Words };

struct Spec {
  const char* name;
  const char* mconsole;  // the mconsole command word
  Args args;
  const char* arg_name;
  const char* help;
};

const Spec kSpecs[] = {
    {"version", "version", Args::None, "", "print the VM's kernel version"},
    {"halt", "halt", Args::None, "", "halt the VM now (no clean shutdown of the guest)"},
    {"poweroff", "halt", Args::None, "",
     "power the VM off now (mconsole has no separate power-off: same as halt)"},
    {"reboot", "reboot", Args::None, "", "reboot the VM now (no clean shutdown of the guest)"},
    {"cad", "cad", Args::None, "", "send Ctrl-Alt-Del (init decides: usually a clean reboot)"},
    {"sysrq", "sysrq", Args::One, "KEY", "run magic SysRq KEY (e.g. m, t, w, s) and print its output"},
    {"stop", "stop", Args::None, "", "pause the VM (only mconsole is serviced until 'go')"},
    {"go", "go", Args::None, "", "resume a VM paused by 'stop'"},
    {"proc", "proc", Args::One, "FILE", "print the guest's /proc/FILE (e.g. meminfo, uptime)"},
    {"config", "config", Args::Words, "DEV[=SPEC]",
     "query a device (config ubd0) or hot-add one (config ubd1=disk.img)"},
    {"remove", "remove", Args::One, "DEV", "hot-remove a device (e.g. ubd1, eth1)"},
    {"stack", "stack", Args::One, "PID", "dump the kernel stack of guest task PID"},
    {"printk", "log", Args::Words, "TEXT",
     "write TEXT as a line to the guest's kernel log (mconsole 'log')"},
    {"help", "help", Args::None, "", "print the VM's mconsole command list"},
    {"cmd", "", Args::Words, "COMMAND",
     "send any mconsole COMMAND text as is (e.g. cmd vm1 um-info)"},
};

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

int run_command(const Globals& g, const Spec& spec, const std::string& umid,
                const std::vector<std::string>& words) {
  auto target = resolve_target(umid);
  if (!target) return um::cli::fail(target.error());
  std::string command = spec.mconsole;
  std::string args = join(words);
  if (!args.empty()) command += (command.empty() ? "" : " ") + args;
  // The kernel holds back a log line until its newline arrives: make `log` print whole lines.
  if (std::string_view(spec.name) == "printk" && !command.ends_with("\n")) command += "\n";
  auto reply = um::mconsole::call(target->mconsole, command, g.timeout());
  if (!reply) return um::cli::fail(target->name + ": " + reply.error().message);
  std::string text = reply->text;
  if (std::string_view(spec.name) == "proc" && text.starts_with("\n")) text.erase(0, 1);  // UML's first packet
  if (reply->error) {
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return um::cli::fail(target->name + ": " + (text.empty() ? "the VM reported an error" : text));
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  fwrite(text.data(), 1, text.size(), stdout);
  return fflush(stdout) == 0 ? um::kExitOk : um::kExitFailure;
}

}  // namespace

void add_mconsole_commands(App& app) {
  for (const Spec& spec : kSpecs) {
    CLI::App* sub = app.cli.add_subcommand(spec.name, spec.help);
    auto umid = std::make_shared<std::string>();
    auto words = std::make_shared<std::vector<std::string>>();
    sub->add_option("UMID", *umid, "the VM")->required();
    if (spec.args == Args::One) {
      auto one = std::make_shared<std::string>();
      sub->add_option(spec.arg_name, *one, spec.arg_name)->required();
      sub->callback([&app, &spec, umid, one] {
        app.run = [&app, &spec, umid, one] { return run_command(app.globals, spec, *umid, {*one}); };
      });
    } else {
      if (spec.args == Args::Words) sub->add_option(spec.arg_name, *words, spec.arg_name)->required();
      sub->callback([&app, &spec, umid, words] {
        app.run = [&app, &spec, umid, words] { return run_command(app.globals, spec, *umid, *words); };
      });
    }
  }
}

}  // namespace umconsole
