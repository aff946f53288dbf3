// The mconsole commands umkernel answers (spec §2.3), plus um-info and um-exec.
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <sstream>

#include "core/log.h"
#include "core/mconsole/exec_protocol.h"
#include "core/mconsole/um_info.h"
#include "core/rundir.h"
#include "core/version.h"
#include "umkernel/mgmt/disks.h"
#include "umkernel/mgmt/exec_session.h"
#include "umkernel/mgmt/management.h"
#include "umkernel/vfs/procfs.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel::mgmt {

namespace {

using mconsole::ReplyPtr;

const char* const kHelp =
    "Commands:\n"
    "    version - Get kernel version\n"
    "    help - Print this message\n"
    "    halt - Halt UML\n"
    "    poweroff - Power off UML\n"
    "    reboot - Reboot UML\n"
    "    config <dev>=<config> - Add a new device to UML;\n"
    "        same syntax as command line\n"
    "    config <dev> - Query the configuration of a device\n"
    "    remove <dev> - Remove a device from UML\n"
    "    sysrq <letter> - Performs the SysRq action controlled by the letter\n"
    "    cad - invoke the Ctrl-Alt-Del handler\n"
    "    stop - pause the UML; it will do nothing until it receives a 'go'\n"
    "    go - continue the UML after a 'stop'\n"
    "    log <string> - make UML enter <string> into the kernel log\n"
    "    proc <file> - returns the contents of the UML's /proc/<file>\n"
    "    stack <pid> - returns the stack of the specified pid\n"
    "    um-info - describe the VM as JSON (umkernel)\n"
    "    um-exec - run a command in the guest (umkernel, used by umconsole exec)\n";

std::string version_text() {
  return "Linux " + hostname() + " 6.1.0-um #1 SMP umkernel x86_64";
}

const char* state_name(const Process& p) {
  if (p.zombie) return "Z (zombie)";
  if (p.stopped) return "T (stopped)";
  for (Task* t : p.threads)
    if (t->state == TaskState::Running) return "R (running)";
  return "S (sleeping)";
}

// A guest /proc file, read through a private procfs instance in init's context.
Result<std::string> read_proc(std::string path) {
  Task* ctx = kernel().task_by_tid(1);
  if (!ctx) return Error::make(ESRCH, "init is not running");
  if (path.rfind("/proc/", 0) == 0) path = path.substr(6);
  auto procfs = make_procfs(makedev(0, 99));
  InodePtr node = procfs->root;
  std::istringstream parts(path);
  std::string part;
  for (int links = 0; std::getline(parts, part, '/');) {
    if (part.empty() || part == ".") continue;
    InodePtr next;
    if (int64_t r = node->lookup(part, next); r < 0)
      return Error::make(static_cast<int>(-r), "/proc/" + path + ": " + strerror(static_cast<int>(-r)));
    Stat st;
    if (next->getattr(st) == 0 && S_ISLNK(st.mode)) {
      // Links inside /proc ("self", "mounts") are relative to its root.
      std::string target;
      if (++links > 8 || next->readlink_for(*ctx, target) < 0)
        return Error::make(ELOOP, "/proc/" + path + ": cannot follow a link");
      std::string rest;
      std::getline(parts, rest, '\0');
      if (target.rfind("/proc/", 0) == 0) target = target.substr(6);
      return read_proc(target + (rest.empty() ? "" : "/" + rest));
    }
    node = next;
  }
  Stat st;
  if (node->getattr(st) == 0 && S_ISDIR(st.mode)) {
    std::string names;
    node->readdir(0, [&](std::string_view name, uint64_t, unsigned, uint64_t) {
      if (name != "." && name != "..") names.append(name).append("\n");
      return true;
    });
    return names;
  }
  FilePtr f;
  if (int64_t r = node->open(*ctx, O_RDONLY, f); r < 0)
    return Error::make(static_cast<int>(-r), "/proc/" + path + ": " + strerror(static_cast<int>(-r)));
  std::string out;
  char buf[4096];
  while (out.size() < (1 << 20)) {
    int64_t n = f->read(*ctx, buf, sizeof buf, nullptr);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string task_list() {
  std::string out = "  PID  PPID  PGID   SID STATE          COMMAND\n";
  char line[256];
  for (auto& [pid, p] : kernel().processes()) {
    auto parent = p->parent.lock();
    snprintf(line, sizeof line, "%5d %5d %5d %5d %-14s %s\n", pid, parent ? parent->pid : 0, p->pgid, p->sid,
             state_name(*p), p->comm.c_str());
    out += line;
  }
  return out;
}

int signal_all_but_init(int sig) {
  int n = 0;
  std::vector<std::shared_ptr<Process>> victims;
  for (auto& [pid, p] : kernel().processes())
    if (pid != 1 && !p->zombie) victims.push_back(p);
  for (auto& p : victims) {
    kernel().send_signal_to_process(*p, sig);
    n++;
  }
  return n;
}

void sync_all() {
  for (auto& m : kernel().mounts())
    if (m->sb) m->sb->sync();
}

void do_sysrq(const std::string& args, ReplyPtr r) {
  if (args.empty()) return r->fail("Need a sysrq letter");
  switch (args[0]) {
    case 'h':
      r->write("sysrq: HELP : reboot(b) term-all-tasks(e) kill-all-tasks(i) show-memory-usage(m) "
               "poweroff(o) sync(s) show-task-states(t)\n");
      break;
    case 's':
      sync_all();
      r->write("sysrq: Emergency Sync\nEmergency Sync complete\n");
      break;
    case 'e':
      r->write("sysrq: Terminate All Tasks (" + std::to_string(signal_all_but_init(SIGTERM)) + ")\n");
      break;
    case 'i':
      r->write("sysrq: Kill All Tasks (" + std::to_string(signal_all_but_init(SIGKILL)) + ")\n");
      break;
    case 'b':
      r->write("sysrq: Resetting\n");
      kernel().request_restart();
      break;
    case 'o':
      r->write("sysrq: Power Off\n");
      kernel().halt(0);
      break;
    case 'm': {
      r->write("sysrq: Show Memory\n");
      auto text = read_proc("meminfo");
      r->write(text ? *text : text.error().message + "\n");
      break;
    }
    case 't':
      r->write("sysrq: Show State\n" + task_list());
      break;
    default:
      r->write(std::string("sysrq: unsupported key '") + args[0] + "'; try 'sysrq h'\n");
  }
}

void do_stack(const std::string& args, ReplyPtr r) {
  int pid = atoi(args.c_str());
  auto p = pid > 0 ? kernel().process_by_pid(pid) : nullptr;
  if (!p) return r->fail("Couldn't find task with pid " + args);
  std::string out;
  char line[512];
  snprintf(line, sizeof line, "Process %d (%s) state %s, host pid %d\n", p->pid, p->comm.c_str(), state_name(*p),
           p->threads.empty() ? 0 : static_cast<int>(p->threads.front()->ctx->host_id()));
  out += line;
  for (Task* t : p->threads) {
    const auto& g = t->regs();
    const char* st = t->state == TaskState::Running ? "running" : t->state == TaskState::Blocked ? "blocked in syscall"
                   : t->state == TaskState::Stopped ? "stopped" : t->state == TaskState::Traced ? "tracing stop" : "dead";
    snprintf(line, sizeof line,
             "Task %d: %s, syscall %ld\n"
             "RIP: %016llx RSP: %016llx RBP: %016llx EFLAGS: %08llx\n"
             "RAX: %016llx RBX: %016llx RCX: %016llx RDX: %016llx\n"
             "RSI: %016llx RDI: %016llx R8:  %016llx R9:  %016llx\n"
             "R10: %016llx R11: %016llx R12: %016llx R13: %016llx\n"
             "R14: %016llx R15: %016llx ORIG_RAX: %016llx\n",
             t->tid, st, t->sys_nr, g.rip, g.rsp, g.rbp, g.eflags, g.rax, g.rbx, g.rcx, g.rdx, g.rsi, g.rdi,
             g.r8, g.r9, g.r10, g.r11, g.r12, g.r13, g.r14, g.r15, g.orig_rax);
    out += line;
  }
  r->write(out);
}

void do_info(Management& m, ReplyPtr r) {
  mconsole::VmInfo info;
  info.umid = m.umid();
  info.pid = getpid();
  info.kernel = std::string("umkernel ") + UM_VERSION;
  info.mem = m.config().mem;
  for (auto& d : m.disks())
    info.disks.push_back({"ubd" + std::to_string(d.index), d.file, d.backing, d.read_only});
  for (auto& c : m.consoles()) {
    std::string channel = c.channel;
    if (!c.device.empty()) channel += ":" + c.device;  // "pty:/dev/pts/5"
    info.consoles.push_back({c.name, channel, c.socket});
  }
  r->write(mconsole::encode_info(info));
}

void do_exec(Management& m, ReplyPtr r) {
  auto s = ExecSession::open(rundir::vm_dir(m.umid()));
  if (!s) return r->fail(s.error().message);
  r->write(mconsole::exec::make_reply((*s)->path()));
  m.add_exec(std::move(s.value()));
}

void do_log(const std::string& args, ReplyPtr r) {
  Tty* con = kernel().console();
  if (!con) return r->fail("no console");
  // As UML's printk of the text: no newline is added.
  con->ldisc().write(args.data(), args.size(), SIZE_MAX);
}

}  // namespace

void register_commands(Management& m) {
  mconsole::Server& s = m.server();
  Management* mp = &m;
  s.add_command("version", [](const std::string&, ReplyPtr r) { r->write(version_text()); });
  s.add_command("help", [](const std::string&, ReplyPtr r) { r->write(kHelp); });
  s.add_command("halt", [](const std::string&, ReplyPtr) { kernel().halt(0); });
  s.add_command("poweroff", [](const std::string&, ReplyPtr) { kernel().halt(0); });
  s.add_command("reboot", [](const std::string&, ReplyPtr) { kernel().request_restart(); });
  s.add_command("cad", [](const std::string&, ReplyPtr r) {
    // As Linux with Ctrl-Alt-Del disabled (the usual for init): init gets SIGINT.
    auto init = kernel().init_process();
    if (!init) return r->fail("init is not running");
    kernel().send_signal_to_process(*init, SIGINT);
  });
  s.add_command("sysrq", do_sysrq);
  s.add_command("stop", [](const std::string&, ReplyPtr r) {
    kernel().set_frozen(true);
    r->write("stopped");
  });
  s.add_command("go", [](const std::string&, ReplyPtr r) {
    if (!kernel().frozen()) return r->fail("Not stopped");
    kernel().set_frozen(false);
  });
  s.add_command("config", [mp](const std::string& args, ReplyPtr r) { config_command(*mp, args, r); });
  s.add_command("remove", [mp](const std::string& args, ReplyPtr r) { remove_command(*mp, args, r); });
  s.add_command("proc", [](const std::string& args, ReplyPtr r) {
    if (args.empty()) return r->fail("Need a file name");
    auto text = read_proc(args);
    if (!text) return r->fail(text.error().message);
    r->write(*text);
  });
  s.add_command("log", do_log);
  s.add_command("stack", do_stack);
  s.add_command(mconsole::kInfoCommand, [mp](const std::string&, ReplyPtr r) { do_info(*mp, r); });
  s.add_command(mconsole::exec::kCommand, [mp](const std::string&, ReplyPtr r) { do_exec(*mp, r); });
}

}  // namespace um::kernel::mgmt
