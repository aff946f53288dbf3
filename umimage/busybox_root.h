// The embedded default root file system: busybox (static) plus one symlink per applet, a
// minimal /etc (passwd, group, hostname, inittab, fstab, profile) and the usual empty dirs.
#pragma once
#include <string>

#include "core/error.h"
#include "umimage/tree_writer.h"

namespace um::image {

// Checks `busybox` is an executable regular file and lists its applets
// (`busybox --list-full`, e.g. "bin/ls", "usr/sbin/chroot").
Result<std::vector<std::string>> busybox_applets(const std::string& busybox);

// Writes the root into `w` (owner root, times now). `fstype` goes into /etc/fstab.
Status write_busybox_root(TreeWriter& w, const std::string& busybox,
                          const std::vector<std::string>& applets, const std::string& fstype);

}  // namespace um::image
