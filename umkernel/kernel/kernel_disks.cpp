// Kernel's disks: hot-plugging (mconsole `config ubdN=FILE` / `remove ubdN`, in mgmt/disks.cpp),
// the disk list and the /dev block nodes in every devtmpfs; raw access (vfs/block_device.cpp).
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>

#include "umkernel/boot/config.h"
#include "umkernel/kernel/kernel.h"

namespace um::kernel {

namespace {

uint64_t disk_rdev(int index) { return makedev(98, index * 16); }

bool disk_mounted(Kernel& k, int index) {
  for (auto& m : k.mounts())
    if (m->sb && m->sb->dev_id == disk_rdev(index)) return true;
  return false;
}

// The /dev block node of a hot-plugged disk, in every devtmpfs (as udev would add it).
void add_dev_node(Kernel& k, int index) {
  std::string name = "ubd" + std::string(1, static_cast<char>('a' + index));
  for (auto& m : k.mounts()) {
    if (m->source != "devtmpfs" || !m->root) continue;
    InodePtr node;
    if (m->root->lookup(name, node) == 0) continue;
    m->root->mknod(name, S_IFBLK | 0660, 0, 0, disk_rdev(index), node);
  }
}

}  // namespace

int64_t Kernel::add_disk(const DiskSpec& d) {
  for (auto& o : disks_)
    if (o->index == d.index) return -EEXIST;
  disks_.push_back(std::make_shared<DiskSpec>(d));
  disk_indices_.push_back(d.index);
  add_dev_node(*this, d.index);
  return 0;
}

int64_t Kernel::remove_disk(int index) {
  auto it = std::find_if(disks_.begin(), disks_.end(), [&](auto& d) { return d->index == index; });
  if (it == disks_.end()) return -ENODEV;
  if (disk_mounted(*this, index)) return -EBUSY;
  if (auto od = open_disks_.find(index); od != open_disks_.end()) {
    if (od->second.sb) od->second.sb->sync();
    open_disks_.erase(od);
  }
  disks_.erase(it);
  std::erase(disk_indices_, index);
  for (auto& m : mounts_)
    if (m->source == "devtmpfs" && m->root) m->root->unlink("ubd" + std::string(1, static_cast<char>('a' + index)));
  return 0;
}

// Raw access to a disk (vfs/block_device.cpp): its spec, and its file system written back first.
std::shared_ptr<const DiskSpec> Kernel::disk_spec(int index) const {
  for (auto& d : disks_)
    if (d->index == index) return d;
  return nullptr;
}

void Kernel::disk_raw_access(int index, bool writing) {
  auto it = open_disks_.find(index);
  if (it == open_disks_.end() || !it->second.sb) return;
  bool mounted = false;
  for (auto& m : mounts_) mounted |= m->sb == it->second.sb;
  if (mounted) {
    it->second.sb->sync();
    return;
  }
  it->second.sb->quiesce();
  if (writing) open_disks_.erase(it);  // closes the file system (its last reference)
}

}  // namespace um::kernel
