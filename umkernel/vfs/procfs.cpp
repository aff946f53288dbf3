#include "umkernel/vfs/procfs.h"

#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/kernel/ptrace.h"
#include "umkernel/vfs/page_cache.h"
#include "umkernel/net/proc_net.h"
#include "umkernel/vfs/procfs_mem.h"
#include "umkernel/vfs/procfs_system.h"
#include "umkernel/vfs/synthetic.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel {

namespace {

uint64_t g_mem_total = 256ull << 20;
std::string g_hostname = "(none)";

struct ProcFs {
  std::shared_ptr<SyntheticSuperBlock> sb;
};

char state_letter(const Process& p) {
  if (p.zombie) return 'Z';
  for (Task* t : p.threads)
    if (t->state == TaskState::Traced) return 't';
  if (p.stopped) return 'T';
  for (Task* t : p.threads)
    if (t->state == TaskState::Running) return 'R';
  return 'S';
}

// Resident memory of the guest process, from its host process (pages).
uint64_t rss_pages(const Process& p) {
  if (p.zombie || !p.memory) return 0;
  return p.memory->usage().rss_pages;
}

uint64_t vsize_pages(const Process& p) {
  if (p.zombie || !p.memory) return 0;
  return p.memory->usage().vsize_pages;
}

std::string join0(const std::vector<std::string>& v) {
  std::string s;
  for (auto& a : v) { s += a; s += '\0'; }
  return s;
}

int64_t ticks(int64_t ns) { return ns / 10000000; }  // USER_HZ = 100

std::string stat_line(const Process& p) {
  auto parent = p.parent.lock();
  std::ostringstream o;
  int tpgid = -1;
  int tty_nr = proc_stat_tty(p, &tpgid);  // vfs/tty.cpp
  o << p.pid << " (" << p.comm << ") " << state_letter(p) << ' ' << (parent ? parent->pid : 0) << ' '
    << p.pgid << ' ' << p.sid << ' ' << tty_nr << ' ' << tpgid << " 0 0 0 0 0 " << ticks(p.utime_ns) << ' '
    << ticks(p.stime_ns) << " 0 0 20 0 " << p.threads.size() << " 0 "
    << ticks(p.start_time_ns - kernel().boot_time_ns()) << ' ' << vsize_pages(p) * 4096 << ' '
    << rss_pages(p) << " 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 "
    << (WIFEXITED(p.exit_status) ? p.exit_status : 0) << '\n';
  return o.str();
}

std::string status_text(const Process& p) {
  auto parent = p.parent.lock();
  std::ostringstream o;
  static const char* names[] = {"R (running)", "S (sleeping)", "T (stopped)", "Z (zombie)", "t (tracing stop)"};
  char s = state_letter(p);
  const char* st = s == 'R' ? names[0] : s == 'S' ? names[1] : s == 'T' ? names[2] : s == 't' ? names[4] : names[3];
  const Credentials& c = p.cred;
  o << "Name:\t" << p.comm << "\nUmask:\t0" << std::oct << (p.fs ? p.fs->umask : 022) << std::dec
    << "\nState:\t" << st << "\nTgid:\t" << p.pid << "\nNgid:\t0\nPid:\t" << p.pid
    << "\nPPid:\t" << (parent ? parent->pid : 0) << "\nTracerPid:\t" << ptrace_tracer_pid(p) << "\nUid:\t" << c.uid << '\t'
    << c.euid << '\t' << c.suid << '\t' << c.fsuid << "\nGid:\t" << c.gid << '\t' << c.egid << '\t'
    << c.sgid << '\t' << c.fsgid << "\nFDSize:\t64\nGroups:\t";
  for (auto g : c.groups) o << g << ' ';
  o << "\nVmSize:\t" << vsize_pages(p) * 4 << " kB\nVmRSS:\t" << rss_pages(p) * 4
    << " kB\nThreads:\t" << p.threads.size() << '\n';
  // Signal and capability sets, as 16 hex digits each.
  uint64_t ignored = 0, caught = 0, thread_pending = 0, blocked = 0;
  if (p.sighand)
    for (int sig = 1; sig <= 64; sig++) {
      uint64_t h = p.sighand->actions[sig].handler;
      if (h == 1) ignored |= sigbit(sig);
      else if (h > 1) caught |= sigbit(sig);
    }
  if (!p.threads.empty()) {
    thread_pending = p.threads.front()->pending_set;
    blocked = p.threads.front()->blocked;
  }
  auto hex = [&o](const char* name, uint64_t v) {
    char b[40];
    snprintf(b, sizeof b, "%s:\t%016llx\n", name, static_cast<unsigned long long>(v));
    o << b;
  };
  o << "SigQ:\t" << p.shared_pending.size() << '/' << p.rlimits[RLIMIT_SIGPENDING].rlim_cur << '\n';
  hex("SigPnd", thread_pending);
  hex("ShdPnd", p.shared_pending_set);
  hex("SigBlk", blocked);
  hex("SigIgn", ignored);
  hex("SigCgt", caught);
  hex("CapInh", c.cap_inheritable);
  hex("CapPrm", c.cap_permitted);
  hex("CapEff", c.cap_effective);
  hex("CapBnd", c.cap_bounding);
  hex("CapAmb", c.cap_ambient);
  return o.str();
}

std::string mounts_text() {
  std::ostringstream o;
  for (auto& m : kernel().mounts()) {
    std::string opts = m->options.empty() ? (m->sb->read_only ? "ro" : "rw") : m->options;
    if (m->sb->read_only && opts.rfind("ro", 0) != 0) opts = "ro";
    o << m->source << ' ' << (m->path.empty() ? "/" : m->path) << ' ' << m->sb->type() << ' '
      << opts << " 0 0\n";
  }
  return o.str();
}

// The guest's memory map, from its host process's: the stub pages are left out and the
// names are the guest's (files umkernel copied in, the heap, the stack).
std::string maps_text(const Process& p) {
  if (p.zombie || !p.memory) return "";
  std::ostringstream o;
  for (const platform::Mapping& m : p.memory->mappings()) {  // the platform's pages left out
    unsigned long start = m.start, end = m.end, pgoff = m.offset;
    const char* perms = m.perms;
    std::string name;
    auto it = p.mapped_files.upper_bound(start);
    if (it != p.mapped_files.begin() && (--it)->second.first > start) name = it->second.second;
    else if (start >= p.brk_start && end <= p.brk_mapped && p.brk_mapped > p.brk_start) name = "[heap]";
    else if (end == 0x7ffffffde000ul) name = "[stack]";
    char buf[160];
    snprintf(buf, sizeof buf, "%08lx-%08lx %s %08lx 00:00 0", start, end, perms, name.empty() ? 0ul : pgoff);
    o << buf;
    if (!name.empty()) o << std::string(std::max<int>(1, 73 - static_cast<int>(strlen(buf))), ' ') << name;
    o << '\n';
  }
  return o.str();
}

std::string mountinfo_text() {
  std::ostringstream o;
  for (auto& m : kernel().mounts()) {
    std::string opts = m->sb->read_only ? "ro" : "rw";
    // The root mount's parent is the rootfs below it, which no one sees (Linux: its id, 1).
    o << m->id << ' ' << (m->parent ? m->parent->id : 1) << ' ' << major(m->sb->dev_id) << ':'
      << minor(m->sb->dev_id) << ' ' << m->root_path << ' ' << (m->path.empty() ? "/" : m->path) << ' '
      << opts << " - " << m->sb->type() << ' ' << m->source << ' ' << opts << '\n';
  }
  return o.str();
}

std::string meminfo_text() {
  uint64_t used = 0;
  for (auto& [pid, p] : kernel().processes()) used += rss_pages(*p) * 4096;
  uint64_t total = g_mem_total;
  // The page cache of image files (vfs/page_cache.h): Cached, and what is not yet on the image.
  uint64_t cached = cache_charged(), dirty = PageCache::total_dirty();
  used += cached;
  uint64_t free = used < total ? total - used : 0;
  uint64_t available = std::min(total, free + (cached > dirty ? cached - dirty : 0));
  std::ostringstream o;
  o << "MemTotal:       " << total / 1024 << " kB\nMemFree:        " << free / 1024
    << " kB\nMemAvailable:   " << available / 1024
    << " kB\nBuffers:               0 kB\nCached:         " << cached / 1024
    << " kB\nSwapCached:            0 kB\n"
       "SwapTotal:             0 kB\nSwapFree:              0 kB\n"
    << "Dirty:          " << dirty / 1024 << " kB\nWriteback:             0 kB\n"
    << "Shmem:                 0 kB\n";
  return o.str();
}

std::string uptime_text() {
  double up = (monotonic_ns() - kernel().boot_time_ns()) / 1e9;
  char buf[64];
  snprintf(buf, sizeof buf, "%.2f %.2f\n", up, up * sysconf(_SC_NPROCESSORS_ONLN) * 0.99);
  return buf;
}

std::string loadavg_text() {
  int running = 0, total = 0, last = 0;
  for (auto& [pid, p] : kernel().processes()) {
    if (p->zombie) continue;
    total++;
    last = std::max(last, pid);
    if (state_letter(*p) == 'R') running++;
  }
  char buf[96];
  snprintf(buf, sizeof buf, "0.00 0.00 0.00 %d/%d %d\n", running, total, last);
  return buf;
}

// As UML's show_cpuinfo: the machine is a user-mode kernel ("User Mode Linux", which is what
// systemd-detect-virt and similar tools look for), one entry per CPU guest code may run on;
// the feature flags are the host CPU's, since guest code runs on it natively. The host's
// name is left out.
std::string cpuinfo_text() {
  static const std::string text = [] {
    std::ifstream f("/proc/cpuinfo");
    std::string line, flags, bogomips = "0.00", align = "64";
    auto value = [&](const char* key) -> std::optional<std::string> {
      if (line.rfind(key, 0) != 0) return std::nullopt;
      size_t colon = line.find(':');
      return colon == std::string::npos ? std::string() : line.substr(std::min(line.size(), colon + 2));
    };
    bool first = true;
    while (first && std::getline(f, line)) {
      if (line.empty()) first = false;
      else if (auto v = value("flags")) flags = *v;
      else if (auto v = value("bogomips")) bogomips = *v;
      else if (auto v = value("cache_alignment")) align = *v;
    }
    utsname u{};
    uname(&u);
    std::ostringstream o;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < cpus; i++)
      o << "processor\t: " << i << "\nvendor_id\t: User Mode Linux\nmodel name\t: UML\nmode\t\t: skas\n"
        << "host\t\t: " << u.sysname << ' ' << u.release << ' ' << u.machine << "\nfpu\t\t: yes\nflags\t\t: "
        << flags << "\ncache_alignment\t: " << align << "\nbogomips\t: " << bogomips << "\n\n";
    return o.str();
  }();
  return text;
}

class ProcDirBuilder {
 public:
  explicit ProcDirBuilder(SyntheticSuperBlock* sb) : sb_(sb) {}
  std::shared_ptr<SyntheticDir> dir(InodePtr parent) {
    auto d = std::make_shared<SyntheticDir>(sb_, sb_->next_ino(), 0555);
    d->parent = parent;
    return d;
  }
  InodePtr file(GeneratedFile::Generator g, uint32_t perm = 0444, GeneratedFile::ChangeSourceOf changes = nullptr) {
    auto f = std::make_shared<GeneratedFile>(sb_, sb_->next_ino(), std::move(g), perm);
    f->set_changes(changes);
    return f;
  }
  InodePtr link(SyntheticSymlink::Target t) {
    return std::make_shared<SyntheticSymlink>(sb_, sb_->next_ino(), std::move(t));
  }
  SyntheticSuperBlock* sb_;
};

// Builds /proc/PID for one process; weak references so that a vanished process reads ESRCH-ish.
InodePtr make_pid_dir(SyntheticSuperBlock* sb, InodePtr root, std::weak_ptr<Process> wp) {
  ProcDirBuilder b(sb);
  auto d = b.dir(root);
  auto with = [wp](auto fn) {
    return [wp, fn]() -> std::string {
      auto p = wp.lock();
      return p ? fn(*p) : std::string();
    };
  };
  d->add("stat", b.file(with([](Process& p) { return stat_line(p); })));
  d->add("status", b.file(with([](Process& p) { return status_text(p); })));
  d->add("cmdline", b.file(with([](Process& p) { return p.zombie ? std::string() : join0(p.cmdline); })));
  d->add("auxv", b.file(with([](Process& p) {  // debuggers find a PIE's load address here
    return std::string(reinterpret_cast<const char*>(p.auxv.data()), p.auxv.size() * sizeof(uint64_t));
  }), 0400));
  d->add("environ", b.file(with([](Process& p) { return join0(p.environ); }), 0400));
  d->add("comm", b.file(with([](Process& p) { return p.comm + "\n"; })));
  d->add("mounts", b.file([] { return mounts_text(); }, 0444, mount_changes));
  d->add("mountinfo", b.file([] { return mountinfo_text(); }, 0444, mount_changes));
  d->add("maps", b.file(with([](Process& p) { return maps_text(p); })));
  d->add("exe", b.link([wp](Task&) { auto p = wp.lock(); return p ? p->exe_path : std::string(); }));
  d->add("cwd", b.link([wp](Task&) { auto p = wp.lock(); return p && p->fs ? p->fs->cwd.path : std::string(); }));
  d->add("root", b.link([wp](Task&) { auto p = wp.lock(); return p && p->fs ? std::string("/") : std::string(); }));
  auto fd = b.dir(d);
  fd->set_dynamic([sb, wp]() {
    std::vector<std::pair<std::string, InodePtr>> out;
    auto p = wp.lock();
    if (!p || !p->fds) return out;
    const auto& e = p->fds->entries();
    for (size_t i = 0; i < e.size(); i++) {
      if (!e[i].file) continue;
      std::weak_ptr<File> wf = e[i].file;
      out.emplace_back(std::to_string(i), std::make_shared<FileSymlink>(sb, sb->next_ino(), [wf, i](Task&) {
        auto f = wf.lock();
        if (!f) return std::string();
        if (!f->path.empty()) return f->path;
        return std::string(f->inode() ? "anon_inode:[file]" : "pipe:[") + std::to_string(i) + (f->inode() ? "" : "]");
      }, wf));
    }
    return out;
  }, true);
  d->add("fd", fd);
  d->add("mem", make_proc_mem(sb, wp));
  // /proc/PID/task/TID: the threads (their memory is the process's).
  auto task = b.dir(d);
  std::weak_ptr<Inode> wd = d;
  task->set_dynamic([sb, wp, wd, with]() {
    std::vector<std::pair<std::string, InodePtr>> out;
    auto p = wp.lock();
    if (!p) return out;
    for (Task* th : p->threads) {
      if (th->state == TaskState::Dead) continue;
      ProcDirBuilder tb(sb);
      auto td = tb.dir(wd.lock());
      td->add("mem", make_proc_mem(sb, wp));
      td->add("status", tb.file(with([](Process& q) { return status_text(q); })));
      td->add("stat", tb.file(with([](Process& q) { return stat_line(q); })));
      td->add("comm", tb.file(with([](Process& q) { return q.comm + "\n"; })));
      out.emplace_back(std::to_string(th->tid), td);
    }
    return out;
  });
  d->add("task", task);
  d->add("net", net::make_proc_net_dir(sb, d));
  add_proc_pid_entries(sb, d, wp);  // vfs/procfs_system.cpp
  return d;
}

}  // namespace

namespace {
struct ProcChanges {
  ChangeSource mounts, swaps;
};
}  // namespace

ChangeSource& mount_changes() { return kernel().state<ProcChanges>().mounts; }
ChangeSource& swap_changes() { return kernel().state<ProcChanges>().swaps; }

void set_proc_memory_total(uint64_t bytes) { g_mem_total = bytes; }
uint64_t proc_memory_total() { return g_mem_total; }
std::string hostname() { return g_hostname; }
void set_hostname(const std::string& h) { g_hostname = h; }

std::shared_ptr<Mount> make_procfs(uint64_t dev_id) {
  auto sb = std::make_shared<SyntheticSuperBlock>("proc", dev_id, 0x9fa0);
  ProcDirBuilder b(sb.get());
  auto root = b.dir(nullptr);
  SyntheticSuperBlock* raw = sb.get();
  root->add("self", b.link([](Task& t) { return std::to_string(t.proc->pid); }));
  root->add("thread-self", b.link([](Task& t) { return std::to_string(t.proc->pid) + "/task/" + std::to_string(t.tid); }));
  root->add("meminfo", b.file([] { return meminfo_text(); }));
  root->add("uptime", b.file([] { return uptime_text(); }));
  root->add("loadavg", b.file([] { return loadavg_text(); }));
  root->add("cpuinfo", b.file([] { return cpuinfo_text(); }));
  root->add("mounts", b.link([](Task&) { return std::string("self/mounts"); }));
  root->add("net", b.link([](Task&) { return std::string("self/net"); }));
  root->add("version", b.file([] { return std::string("Linux version 6.1.0-um (umkernel) #1 SMP\n"); }));
  // The file systems mount(2) knows.
  root->add("filesystems", b.file([] {
    return std::string("nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tdevpts\nnodev\tcgroup2\nnodev\tmqueue\n\text3\n\text2\n\text4\n");
  }));
  add_proc_system_entries(sb.get(), root);  // vfs/procfs_system.cpp
  root->add("stat", b.file([] {
    // CPU time in USER_HZ ticks: the guest's processes' user and system time; the rest of
    // each CPU's time since boot is idle.
    std::ostringstream o;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t user = 0, sys = 0;
    int running = 0, last_pid = 0;
    for (auto& [pid, p] : kernel().processes()) {
      user += ticks(p->utime_ns);
      sys += ticks(p->stime_ns);
      last_pid = std::max(last_pid, pid);
      if (!p->zombie && state_letter(*p) == 'R') running++;
    }
    int64_t idle = std::max<int64_t>(0, ticks(monotonic_ns() - kernel().boot_time_ns()) * cpus - user - sys);
    o << "cpu  " << user << " 0 " << sys << ' ' << idle << " 0 0 0 0 0 0\n";
    for (long i = 0; i < cpus; i++)
      o << "cpu" << i << ' ' << user / cpus << " 0 " << sys / cpus << ' ' << idle / cpus << " 0 0 0 0 0 0\n";
    o << "intr 0\nctxt 0\n";
    o << "btime " << (realtime_ns() - (monotonic_ns() - kernel().boot_time_ns())) / 1000000000 << "\n";
    o << "processes " << last_pid << "\nprocs_running " << std::max(running, 1) << "\nprocs_blocked 0\n";
    o << "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
    return o.str();
  }));
  std::weak_ptr<Inode> wroot = root;
  // /proc/PID entries are made on demand and cached per process.
  auto cache = std::make_shared<std::map<int, std::pair<std::weak_ptr<Process>, InodePtr>>>();
  root->set_dynamic([raw, wroot, cache]() {
    std::vector<std::pair<std::string, InodePtr>> out;
    auto r = wroot.lock();
    for (auto& [pid, p] : kernel().processes()) {
      if (p->reaped) continue;
      auto& slot = (*cache)[pid];
      if (slot.first.lock() != p || !slot.second) slot = {p, make_pid_dir(raw, r, p)};
      out.emplace_back(std::to_string(pid), slot.second);
    }
    for (auto it = cache->begin(); it != cache->end();)
      it = it->second.first.expired() ? cache->erase(it) : std::next(it);
    return out;
  });
  auto m = std::make_shared<Mount>();
  m->sb = sb;
  m->root = root;
  m->source = "proc";
  m->options = "rw,nosuid,nodev,noexec";
  return m;
}

}  // namespace um::kernel

namespace um::kernel {

std::shared_ptr<Mount> make_sysfs(uint64_t dev_id) {
  auto sb = std::make_shared<SyntheticSuperBlock>("sysfs", dev_id, 0x62656572);
  auto root = std::make_shared<SyntheticDir>(sb.get(), sb->next_ino(), 0555);
  for (const char* d : {"block", "bus", "class", "dev", "devices", "firmware", "fs", "module", "power"}) {
    auto sub = std::make_shared<SyntheticDir>(sb.get(), sb->next_ino(), 0555);
    sub->parent = root;
    root->add(d, sub);
    if (std::string_view(d) == "fs") {  // where cgroup2 is mounted
      auto cg = std::make_shared<SyntheticDir>(sb.get(), sb->next_ino(), 0755);
      cg->parent = sub;
      sub->add("cgroup", cg);
    }
  }
  auto kdir = std::make_shared<SyntheticDir>(sb.get(), sb->next_ino(), 0555);
  kdir->parent = root;
  kdir->add("hostname", std::make_shared<GeneratedFile>(sb.get(), sb->next_ino(), [] { return hostname() + "\n"; }));
  kdir->add("osrelease", std::make_shared<GeneratedFile>(sb.get(), sb->next_ino(), [] { return std::string("6.1.0-um\n"); }));
  root->add("kernel", kdir);
  auto m = std::make_shared<Mount>();
  m->sb = sb;
  m->root = root;
  m->source = "sysfs";
  m->options = "rw,nosuid,nodev,noexec";
  return m;
}

}  // namespace um::kernel
