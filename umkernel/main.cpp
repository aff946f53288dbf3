// umkernel: a Linux-compatible kernel that runs as an ordinary user process.
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"
#include "core/version.h"
#include "umkernel/boot/cmdline.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/syscall_table.h"
#include "umkernel/platform/platform.h"
#include "umkernel/vfs/tty.h"

using namespace um::kernel;

int main(int argc, char** argv) {
  um::log::set_program("umkernel");
  // Terminal access (a log line with TOSTOP set, console output, restoring the terminal) never
  // stops umkernel, even in the background: see vfs/host_terminal.h.
  HostTerminal::block_stop_signals();
  // The page cache holds a host descriptor per cached file (vfs/page_cache.h): use what the
  // host allows.
  if (rlimit nofile; getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (getenv("UMKERNEL_DEBUG")) um::log::set_level(um::log::Level::Debug);
  std::vector<std::string> args(argv + 1, argv + argc);
  for (auto& a : args) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      fputs(cmdline_help().c_str(), stdout);
      return 0;
    }
    if (a == "--version") {
      printf("umkernel %s\nplatform: %s (default; platform=ptrace|seccomp|auto)\n", UM_VERSION,
             um::kernel::platform::default_kind());
      return 0;
    }
    if (a == "--syscalls") {
      bool json = false;
      for (auto& b : args) {
        if (b == "--json") json = true;
        else if (b != "--syscalls") {
          fprintf(stderr, "umkernel: error: --syscalls takes only --json, not '%s'\n", b.c_str());
          return 2;
        }
      }
      fputs(format_syscall_table(syscall_table(), json).c_str(), stdout);
      return 0;
    }
    // The global options of the four tools, anywhere before "--".
    if (a == "-q" || a == "--quiet") {
      um::log::set_level(um::log::Level::Error);
      continue;
    }
    if (a == "-v" || a == "--verbose") {
      um::log::set_level(um::log::Level::Debug);
      continue;
    }
    if (a.rfind("-", 0) == 0) {
      fprintf(stderr, "umkernel: error: unknown option '%s'\nTry 'umkernel --help' for more information.\n", a.c_str());
      return 2;
    }
  }
  syscall_table();  // a broken table (two rows for one number...) stops umkernel here
  // parse_cmdline sees kernel parameters only.
  for (size_t i = 0; i < args.size() && args[i] != "--";) {
    const std::string& a = args[i];
    if (a == "-q" || a == "--quiet" || a == "-v" || a == "--verbose") args.erase(args.begin() + static_cast<long>(i));
    else i++;
  }
  auto cfg = parse_cmdline(args);
  if (!cfg) {
    fprintf(stderr, "umkernel: error: %s\nTry 'umkernel --help' for more information.\n", cfg.error().message.c_str());
    return 2;
  }
  if (cfg->quiet) um::log::set_level(um::log::Level::Error);
  signal(SIGPIPE, SIG_IGN);
  int status;
  bool restart;
  {
    Kernel kernel;
    std::string error;
    if (!kernel.boot(*cfg, &error)) {
      fprintf(stderr, "umkernel: error: %s\n", error.c_str());
      return 1;
    }
    status = kernel.run();
    restart = kernel.restart_requested();
    if (kernel.console()) kernel.console()->restore_host();
  }
  if (restart) {
    // reboot(2): boot again from scratch in the same host process, as UML does.
    execv("/proc/self/exe", argv);
    fprintf(stderr, "umkernel: error: cannot restart: %s\n", strerror(errno));
    return 1;
  }
  return status;
}
