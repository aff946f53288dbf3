// cgroup2: the one unified hierarchy (every mount of "cgroup2" shows it), with the core
// interface files (cgroup.procs, cgroup.threads, cgroup.events, cgroup.kill, cgroup.stat ...)
// and no controllers: umkernel enforces none of cpu, memory, io or pids, so none is offered
// (cgroup.controllers is empty and "+name" in cgroup.subtree_control fails as on a kernel built
// without it). Processes move between cgroups by writing cgroup.procs; children inherit theirs.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class Process;

struct Cgroup {
  std::string name;
  std::weak_ptr<Cgroup> parent;
  std::map<std::string, std::shared_ptr<Cgroup>> children;
  InodePtr dir;  // its directory in the cgroup2 file system
};

std::shared_ptr<Mount> make_cgroupfs(uint64_t dev_id);
// "/" or "/system.slice/foo.service", as /proc/PID/cgroup shows it.
std::string cgroup_path(const Process& p);

}  // namespace um::kernel
