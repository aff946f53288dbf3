// procfs: process and system information computed from umkernel's own state (guest pids,
// guest mounts, guest memory), never the host's.
#pragma once
#include <memory>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

struct ChangeSource;

std::shared_ptr<Mount> make_procfs(uint64_t dev_id);
// Changes of the mount table (mount, umount, remount, propagation): readers of
// /proc/PID/mounts and mountinfo see POLLPRI|POLLERR, as on Linux (libmount's monitor, systemd).
ChangeSource& mount_changes();
// Changes of the swap areas (/proc/swaps polls like mountinfo; umkernel has none to change).
ChangeSource& swap_changes();
void set_proc_memory_total(uint64_t bytes);
uint64_t proc_memory_total();
std::string hostname();
void set_hostname(const std::string& h);

}  // namespace um::kernel

namespace um::kernel {
// A minimal sysfs: the standard top-level directories and the kernel's identity.
std::shared_ptr<Mount> make_sysfs(uint64_t dev_id);
}  // namespace um::kernel
