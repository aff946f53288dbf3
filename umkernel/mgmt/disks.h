// mconsole config/remove: querying consoles and disks, and hot-plugging ubd disks
// (`config ubd1=FILE` adds /dev/ubdb, which the guest can then mount; `remove ubd1` refuses
// while it is mounted).
#pragma once
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mconsole/server.h"
#include "core/unique_fd.h"

namespace um::kernel {

struct DiskSpec;

// Takes UML's host locks for disk `d`, as its ubd driver does when it opens a disk: a
// whole-file fcntl write lock on the image (or COW file) when `write`, else a read lock, and a
// read lock on a COW's backing file, so UML kernels, umkernel VMs and umimage exclude each
// other. Nothing with the `c` flag. A COW file must exist (cow::attach_backing first). Fails
// with "ubdN: FILE is locked by pid P (NAME): ..." when another process holds a conflicting
// lock. The locks last as long as the returned descriptors.
Result<std::vector<UniqueFd>> lock_disk(const DiskSpec& d, bool write);
// Keeps disk `index`'s locks until release_disk_locks(index) (disk removed) or exit.
void hold_disk_locks(int index, std::vector<UniqueFd> locks);
void release_disk_locks(int index);

}  // namespace um::kernel

namespace um::kernel::mgmt {

class Management;

void config_command(Management& m, const std::string& args, mconsole::ReplyPtr r);
void remove_command(Management& m, const std::string& args, mconsole::ReplyPtr r);

}  // namespace um::kernel::mgmt
