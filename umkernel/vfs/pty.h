// Unix 98 pseudo-terminals (pty(7)): /dev/ptmx (5:2) opens a master and creates slave N,
// /dev/pts/N (136+N/256 : N%256) in devpts. The slave is a full terminal (line discipline,
// job control); what it writes, after output processing, is what the master reads, and what
// the master writes is the slave's input. Closing the master hangs the slave up; after the
// last slave close the master reads its remaining data, then EIO.
#pragma once
#include <memory>
#include <string>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

class Tty;

constexpr int kPtyIndexBase = 0x10000;  // Process::tty_index of pty slave N: base + N
constexpr int kMaxPtys = 2048;          // majors 136..143

// The slave terminal behind a controlling-terminal index, if it still exists.
Tty* pty_slave_by_index(int tty_index);

int64_t open_ptmx(Task& t, InodePtr inode, int flags, FilePtr& out);
int64_t open_pty_slave(Task& t, InodePtr inode, int n, int flags, FilePtr& out);

// devpts: one instance, shown by every mount of it (mount -t devpts, /dev/pts at boot).
std::shared_ptr<Mount> make_devpts_mount();
// Mounts devpts on the "pts" directory of a freshly made devfs (boot); null if it has none.
std::shared_ptr<Mount> devpts_boot_mount(const std::shared_ptr<Mount>& devfs);

// False once the kernel is being torn down (closing files must not signal processes then).
bool tty_kernel_alive();

}  // namespace um::kernel
