#include "umkernel/mgmt/disks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <map>

#include "core/cow/cow_file.h"
#include "umkernel/boot/cmdline.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/mgmt/management.h"

namespace um::kernel {

namespace {

Result<UniqueFd> lock_one(const DiskSpec& d, const std::string& file, bool write) {
  const std::string disk = "ubd" + std::to_string(d.index) + ": ";
  UniqueFd fd(::open(file.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (!fd) return Error::from_errno(disk + "cannot open " + file);
  if (auto st = cow::lock_file(fd.get(), write, file); !st)
    return Error::make(st.error().code, disk + st.error().message);
  return fd;
}

// The lock fds of each disk (per disk index), held while the VM has the disk.
struct DiskLocks {
  std::map<int, std::vector<UniqueFd>> by_index;
};
std::map<int, std::vector<UniqueFd>>& held_locks() { return kernel().state<DiskLocks>().by_index; }

}  // namespace

void hold_disk_locks(int index, std::vector<UniqueFd> locks) { held_locks()[index] = std::move(locks); }
void release_disk_locks(int index) { held_locks().erase(index); }

Result<std::vector<UniqueFd>> lock_disk(const DiskSpec& d, bool write) {
  std::vector<UniqueFd> locks;
  if (d.shared) return locks;  // the `c` flag: UML prints "Not locking" and goes on
  locks.push_back(UM_TRY(lock_one(d, d.file, write)));
  if (cow::is_cow_file(d.file)) {
    std::string backing = d.backing;
    if (backing.empty()) {
      auto h = cow::read_header(d.file);
      if (!h) return Error::make(h.error().code, "ubd" + std::to_string(d.index) + ": " + h.error().message);
      backing = h->backing_file;
    }
    locks.push_back(UM_TRY(lock_one(d, backing, false)));
  }
  return locks;
}

namespace mgmt {

namespace {

// "ubd1", "ubdb" → 1; -1 when `name` is no disk name.
int disk_index(const std::string& name) {
  if (name.rfind("ubd", 0) != 0 || name.size() < 4) return -1;
  std::string n = name.substr(3);
  if (n.size() == 1 && n[0] >= 'a' && n[0] <= 'p') return n[0] - 'a';
  if (n.find_first_not_of("0123456789") != std::string::npos || n.size() > 2) return -1;
  int i = std::stoi(n);
  return i < 16 ? i : -1;
}

}  // namespace

void config_command(Management& m, const std::string& args, mconsole::ReplyPtr r) {
  if (args.empty()) return r->fail("config: need a device, e.g. 'config ubd1' or 'config ubd1=FILE'");
  size_t eq = args.find('=');
  std::string name = args.substr(0, eq);
  if (name == "mem" && eq == std::string::npos) return r->write(std::to_string(m.config().mem));
  if (name.rfind("con", 0) == 0 || name.rfind("ssl", 0) == 0) {
    if (eq != std::string::npos) return r->fail("config: consoles cannot be changed while running");
    for (auto& c : m.consoles())
      if (c.name == name) return r->write(c.channel + (c.device.empty() ? "" : ":" + c.device));
    return r->fail("config: no such console " + name);
  }
  int index = disk_index(name);
  if (index < 0) return r->fail("config: unknown device '" + name + "' (ubdN or conN)");
  auto& disks = m.disks();
  auto it = std::find_if(disks.begin(), disks.end(), [&](auto& d) { return d.index == index; });
  if (eq == std::string::npos) {  // query
    if (it == disks.end()) return;  // an empty answer, as UML for an unconfigured disk
    return r->write(it->backing.empty() ? it->file : it->file + "," + it->backing);
  }
  if (it != disks.end()) return r->fail("config: " + name + " is already configured");
  // The same syntax as the command line (flags included: "ubd1r=FILE").
  auto cfg = parse_cmdline({"ubd0=/x", args});
  if (!cfg) return r->fail("config: " + cfg.error().message);
  DiskSpec d = cfg->disks.back();
  if (!d.backing.empty()) {  // a COW: made now if absent, so that it can be locked
    if (auto st = cow::attach_backing(d.file, d.backing); !st) return r->fail("config: " + name + ": " + st.error().message);
  }
  if (access(d.file.c_str(), d.read_only ? R_OK : R_OK | W_OK) != 0)
    return r->fail("config: " + d.file + ": " + strerror(errno));
  auto locks = lock_disk(d, !d.read_only);
  if (!locks) return r->fail("config: " + locks.error().message);
  if (int64_t e = kernel().add_disk(d); e < 0) return r->fail("config: " + name + ": " + strerror(static_cast<int>(-e)));
  hold_disk_locks(d.index, std::move(*locks));
  disks.push_back(d);
}

void remove_command(Management& m, const std::string& args, mconsole::ReplyPtr r) {
  int index = disk_index(args);
  if (index < 0) return r->fail("remove: unknown device '" + args + "' (only ubdN can be removed)");
  if (int64_t e = kernel().remove_disk(index); e < 0)
    return r->fail(e == -EBUSY ? "Device is currently open" : "Device doesn't exist");
  release_disk_locks(index);  // the file system is closed and flushed by now
  std::erase_if(m.disks(), [&](auto& d) { return d.index == index; });
}

}  // namespace mgmt

}  // namespace um::kernel
