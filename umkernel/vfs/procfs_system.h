// The system-wide /proc files Debian's tools read (cmdline, swaps, consoles, devices,
// partitions, vmstat, filesystems) and /proc/sys with its settable knobs; the per-process
// files beyond the basics (limits, cgroup, oom_score_adj). procfs.cpp adds them to its tree.
#pragma once
#include <memory>
#include <string>

#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

class Process;

void set_proc_cmdline(const std::string& cmdline);  // the kernel command line, /proc/cmdline
std::string proc_cmdline();
std::string domainname();
void set_domainname(const std::string& d);
int proc_somaxconn();  // net.core.somaxconn

// /proc/cmdline, /proc/sys, ... into the procfs root directory.
void add_proc_system_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& root);
// /proc/PID/limits, cgroup, oom_score_adj, ... into a process directory.
void add_proc_pid_entries(SyntheticSuperBlock* sb, const std::shared_ptr<SyntheticDir>& dir,
                          std::weak_ptr<Process> wp);

}  // namespace um::kernel
