// Managing a running umkernel from the host (issue 5): the run directory
// ($UML_DIR/<umid>/ with pid, mconsole and console sockets), the mconsole server in the
// kernel's event loop, console channels and um-exec sessions. One per Kernel, created at
// boot (start) and destroyed with the Kernel, which removes the run directory.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/mconsole/server.h"
#include "umkernel/boot/config.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/mgmt/console_channel.h"

namespace um::kernel::mgmt {

class ExecSession;

class Management {
 public:
  ~Management();  // releases the run directory (clean exit, halt, reboot, boot failure)

  const std::string& umid() const { return umid_; }
  const BootConfig& config() const { return cfg_; }
  std::vector<ConsoleRecord>& consoles() { return consoles_; }
  std::vector<DiskSpec>& disks() { return disks_; }
  mconsole::Server& server() { return *server_; }
  bool has_run_dir() const { return claimed_; }

  // um-exec sessions, dropped once finished (never from inside their own callbacks).
  void add_exec(std::unique_ptr<ExecSession> s);
  void reap_execs();

 private:
  friend bool start(Kernel& k, const BootConfig& cfg, std::string* error);
  struct Watch : EventSource {
    std::function<void()> fn;
    void on_event(uint32_t) override { fn(); }
  };
  void watch_host_signals(Kernel& k);
  void on_host_signal();

  BootConfig cfg_;
  std::string umid_;
  bool claimed_ = false;
  std::unique_ptr<mconsole::Server> server_;
  Watch server_watch_, signal_watch_;
  UniqueFd signal_fd_;
  std::vector<ConsoleRecord> consoles_;
  std::vector<DiskSpec> disks_;
  std::vector<std::unique_ptr<ExecSession>> execs_;
};

// Boot hooks (kernel/kernel_boot.cpp). start() claims the run directory, opens the mconsole socket
// and registers the commands; false with *error when the umid is taken or invalid.
bool start(Kernel& k, const BootConfig& cfg, std::string* error);
// Console `n` (serial line `n` when `serial`): a channel Tty for pty/port/socket/file
// channels, or null when the plain host-descriptor Tty serves it (*error stays empty) or on
// failure (*error is set).
std::unique_ptr<Tty> make_console(int n, const ChannelSpec& ch, std::string* error, bool serial = false);

Management* management();  // null before start()

// mconsole commands (commands.cpp).
void register_commands(Management& m);

}  // namespace um::kernel::mgmt
