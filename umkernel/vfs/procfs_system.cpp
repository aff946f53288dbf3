#include "umkernel/vfs/procfs_system.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <sstream>

#include "core/cow/cow_file.h"
#include "umkernel/boot/config.h"
#include "umkernel/ipc/mqueue.h"
#include "umkernel/ipc/sysv.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/task.h"
#include "umkernel/vfs/cgroupfs.h"
#include "umkernel/vfs/procfs.h"

namespace um::kernel {

namespace {

std::string g_cmdline;
std::string g_domainname = "(none)";

// Integer knobs: value and the range Linux accepts.
struct IntKnob {
  int64_t value, min, max;
};
IntKnob g_pid_max{4194304, 301, 4194304};
IntKnob g_somaxconn{4096, 0, INT_MAX};
IntKnob g_overcommit_memory{0, 0, 2};
IntKnob g_overcommit_ratio{50, 0, INT_MAX};
IntKnob g_ip_forward{0, 0, 1};
IntKnob g_swappiness{60, 0, 200};
IntKnob g_max_map_count{65530, 0, INT_MAX};
IntKnob g_sysrq{438, 0, INT_MAX};
IntKnob g_panic{0, INT_MIN, INT_MAX};
IntKnob g_dmesg_restrict{0, 0, 1};
IntKnob g_kptr_restrict{0, 0, 2};
IntKnob g_protected{1, 0, 2};
IntKnob g_ipv6_disable{0, 0, 1};
IntKnob g_tcp_syncookies{1, 0, 2};

std::string trim(std::string_view v) {
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return std::string(v);
}

// Parses one integer as the kernel's proc_dointvec does (leading/trailing blanks allowed).
int64_t parse_int(std::string_view v, int64_t& out) {
  std::string s = trim(v);
  if (s.empty()) return -EINVAL;
  char* end;
  errno = 0;
  long long x = strtoll(s.c_str(), &end, 10);
  if (*end || errno) return -EINVAL;
  out = x;
  return 0;
}

class Builder {
 public:
  explicit Builder(SyntheticSuperBlock* sb) : sb_(sb) {}
  std::shared_ptr<SyntheticDir> dir(const std::shared_ptr<SyntheticDir>& parent, const std::string& name) {
    auto d = std::make_shared<SyntheticDir>(sb_, sb_->next_ino(), 0555);
    d->parent = parent;
    parent->add(name, d);
    return d;
  }
  void file(const std::shared_ptr<SyntheticDir>& d, const std::string& name, GeneratedFile::Generator g,
            uint32_t perm = 0444, GeneratedFile::ChangeSourceOf changes = nullptr) {
    auto f = std::make_shared<GeneratedFile>(sb_, sb_->next_ino(), std::move(g), perm);
    f->set_changes(changes);
    d->add(name, f);
  }
  void value(const std::shared_ptr<SyntheticDir>& d, const std::string& name, std::string v) {
    file(d, name, [v] { return v + "\n"; });
  }
  void knob(const std::shared_ptr<SyntheticDir>& d, const std::string& name, GeneratedFile::Generator g,
            KnobFile::Setter s, uint32_t perm = 0644) {
    d->add(name, std::make_shared<KnobFile>(sb_, sb_->next_ino(), std::move(g), std::move(s), perm));
  }
  void int_knob(const std::shared_ptr<SyntheticDir>& d, const std::string& name, IntKnob* k) {
    knob(d, name, [k] { return std::to_string(k->value) + "\n"; },
         [k](Task&, std::string_view v) -> int64_t {
           int64_t x;
           if (int64_t r = parse_int(v, x); r < 0) return r;
           if (x < k->min || x > k->max) return -EINVAL;
           k->value = x;
           return 0;
         });
  }
  // A string knob of at most `max` bytes (hostname, domainname): the first line is taken.
  void name_knob(const std::shared_ptr<SyntheticDir>& d, const std::string& name,
                 std::function<std::string()> get, std::function<void(const std::string&)> put) {
    knob(d, name, [get] { return get() + "\n"; },
         [put](Task&, std::string_view v) -> int64_t {
           std::string s(v.substr(0, v.find('\n')));
           if (s.size() > 64) return -EINVAL;
           put(s);
           return 0;
         });
  }

 private:
  SyntheticSuperBlock* sb_;
};

std::string random_uuid() {
  uint8_t b[16];
  if (getentropy(b, sizeof b) != 0) memset(b, 0, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char s[40];
  snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
           b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}

// Size in bytes of ubdN as the guest sees it.
uint64_t disk_bytes(int index) {
  auto spec = kernel().disk_spec(index);
  if (!spec) return 0;
  if (!spec->backing.empty() || cow::is_cow_file(spec->file)) {
    auto h = cow::read_header(spec->file);
    return h ? h->size : 0;
  }
  struct stat st;
  if (::stat(spec->file.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

std::string partitions_text() {
  std::ostringstream o;
  o << "major minor  #blocks  name\n\n";
  for (int i : kernel().disk_indices()) {
    char line[96];
    snprintf(line, sizeof line, "%4d  %7d %10llu ubd%c\n", 98, i * 16,
             static_cast<unsigned long long>(disk_bytes(i) / 1024), 'a' + i);
    o << line;
  }
  return o.str();
}

std::string vmstat_text() {
  uint64_t total = proc_memory_total() / 4096;
  std::ostringstream o;
  o << "nr_free_pages " << total << "\n";
  for (const char* k : {"nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_inactive_file",
                        "nr_zone_active_file", "nr_mlock", "nr_bounce", "nr_inactive_anon", "nr_active_anon",
                        "nr_inactive_file", "nr_active_file", "nr_unevictable", "nr_slab_reclaimable",
                        "nr_slab_unreclaimable", "nr_anon_pages", "nr_mapped", "nr_file_pages", "nr_dirty",
                        "nr_writeback", "nr_shmem", "nr_page_table_pages", "nr_kernel_stack", "pgpgin",
                        "pgpgout", "pswpin", "pswpout", "pgalloc_normal", "pgfree", "pgactivate",
                        "pgdeactivate", "pgfault", "pgmajfault", "pgrefill", "pgsteal_kswapd",
                        "pgsteal_direct", "pgscan_kswapd", "pgscan_direct", "oom_kill"})
    o << k << " 0\n";
  return o.str();
}

const char* kLimitNames[RLIM_NLIMITS][2] = {
    {"Max cpu time", "seconds"},        {"Max file size", "bytes"},
    {"Max data size", "bytes"},         {"Max stack size", "bytes"},
    {"Max core file size", "bytes"},    {"Max resident set", "bytes"},
    {"Max processes", "processes"},     {"Max open files", "files"},
    {"Max locked memory", "bytes"},     {"Max address space", "bytes"},
    {"Max file locks", "locks"},        {"Max pending signals", "signals"},
    {"Max msgqueue size", "bytes"},     {"Max nice priority", ""},
    {"Max realtime priority", ""},      {"Max realtime timeout", "us"},
};

std::string limits_text(const Process& p) {
  std::ostringstream o;
  char line[128];
  snprintf(line, sizeof line, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
  o << line;
  auto v = [](rlim_t x) { return x == RLIM_INFINITY ? std::string("unlimited") : std::to_string(x); };
  for (int i = 0; i < RLIM_NLIMITS; i++) {
    snprintf(line, sizeof line, "%-25s %-20s %-20s %-10s\n", kLimitNames[i][0], v(p.rlimits[i].rlim_cur).c_str(),
             v(p.rlimits[i].rlim_max).c_str(), kLimitNames[i][1]);
    o << line;
  }
  return o.str();
}

}  // namespace

void set_proc_cmdline(const std::string& cmdline) { g_cmdline = cmdline; }
std::string proc_cmdline() { return g_cmdline; }
std::string domainname() { return g_domainname; }
void set_domainname(const std::string& d) { g_domainname = d; }
int proc_somaxconn() { return static_cast<int>(g_somaxconn.value); }

void add_proc_system_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& root) {
  Builder b(sb);
  b.file(root, "cmdline", [] { return g_cmdline + "\n"; });
  b.file(root, "swaps", [] { return std::string("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"); }, 0444,
         swap_changes);
  // The console is con0: /dev/tty0 for the kernel's messages, /dev/console for user space.
  b.file(root, "consoles", [] { return std::string("tty0                 -WU (EC p  )    4:0\n"); });
  b.file(root, "devices", [] {
    return std::string(
        "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n  4 ttyS\n  5 /dev/tty\n  5 /dev/console\n"
        "  5 /dev/ptmx\n136 pts\n\nBlock devices:\n 98 ubd\n");
  });
  b.file(root, "partitions", [] { return partitions_text(); });
  b.file(root, "vmstat", [] { return vmstat_text(); });

  auto sys = b.dir(root, "sys");
  auto kern = b.dir(sys, "kernel");
  b.name_knob(kern, "hostname", [] { return hostname(); }, [](const std::string& s) { set_hostname(s); });
  b.name_knob(kern, "domainname", [] { return g_domainname; }, [](const std::string& s) { g_domainname = s; });
  b.value(kern, "ostype", "Linux");
  b.value(kern, "osrelease", "6.1.0-um");
  b.value(kern, "version", "#1 SMP umkernel");
  b.int_knob(kern, "pid_max", &g_pid_max);
  b.value(kern, "threads-max", "32768");
  b.value(kern, "ngroups_max", "65536");
  b.value(kern, "cap_last_cap", "40");
  b.value(kern, "overflowuid", "65534");
  b.value(kern, "overflowgid", "65534");
  b.value(kern, "printk", "4\t4\t1\t7");
  b.int_knob(kern, "sysrq", &g_sysrq);
  b.int_knob(kern, "panic", &g_panic);
  b.int_knob(kern, "dmesg_restrict", &g_dmesg_restrict);
  b.int_knob(kern, "kptr_restrict", &g_kptr_restrict);
  add_proc_ipc_entries(sb, root, kern);  // /proc/sysvipc, kernel.shm*, sem, msg* (ipc/sysv.cpp)
  auto random = b.dir(kern, "random");
  static const std::string boot_id = random_uuid();
  b.value(random, "boot_id", boot_id);
  b.file(random, "uuid", [] { return random_uuid() + "\n"; });
  b.value(random, "entropy_avail", "256");
  b.value(random, "poolsize", "256");
  auto vm = b.dir(sys, "vm");
  b.int_knob(vm, "overcommit_memory", &g_overcommit_memory);
  b.int_knob(vm, "overcommit_ratio", &g_overcommit_ratio);
  b.int_knob(vm, "swappiness", &g_swappiness);
  b.int_knob(vm, "max_map_count", &g_max_map_count);
  auto fs = b.dir(sys, "fs");
  b.value(fs, "file-max", "9223372036854775807");
  b.value(fs, "nr_open", std::to_string(FdTable::kMaxFds));
  b.int_knob(fs, "protected_hardlinks", &g_protected);
  b.int_knob(fs, "protected_symlinks", &g_protected);
  add_proc_mqueue_entries(sb, fs);  // /proc/sys/fs/mqueue (ipc/mqueue.cpp)
  auto net = b.dir(sys, "net");
  auto core = b.dir(net, "core");
  b.int_knob(core, "somaxconn", &g_somaxconn);
  auto ipv4 = b.dir(net, "ipv4");
  b.int_knob(ipv4, "ip_forward", &g_ip_forward);
  b.int_knob(ipv4, "tcp_syncookies", &g_tcp_syncookies);
  b.value(ipv4, "ip_local_port_range", "32768\t60999");
  auto ipv6 = b.dir(net, "ipv6");
  auto conf = b.dir(ipv6, "conf");
  auto all = b.dir(conf, "all");
  b.int_knob(all, "disable_ipv6", &g_ipv6_disable);
}

void add_proc_pid_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& dir,
                          std::weak_ptr<Process> wp) {
  Builder b(sb);
  auto with = [wp](auto fn) {
    return [wp, fn]() -> std::string {
      auto p = wp.lock();
      return p ? fn(*p) : std::string();
    };
  };
  b.file(dir, "limits", with([](Process& p) { return limits_text(p); }));
  // The one cgroup2 hierarchy.
  b.file(dir, "cgroup", with([](Process& p) { return "0::" + cgroup_path(p) + "\n"; }));
  b.file(dir, "oom_score", [] { return std::string("0\n"); });
  b.knob(dir, "oom_score_adj", with([](Process& p) { return std::to_string(p.oom_score_adj) + "\n"; }),
         [wp](Task&, std::string_view v) -> int64_t {
           auto p = wp.lock();
           if (!p) return -ESRCH;
           int64_t x;
           if (int64_t r = parse_int(v, x); r < 0) return r;
           if (x < -1000 || x > 1000) return -EINVAL;
           p->oom_score_adj = static_cast<int>(x);
           return 0;
         });
}

}  // namespace um::kernel
