// /proc/net: the network state in Linux's formats (busybox ifconfig parses dev, route -n
// parses route, netstat parses tcp/udp...), computed from lwIP and the interfaces.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "umkernel/vfs/synthetic.h"

namespace um::kernel::net {

// The files of /proc/net, by name, and what generates each.
std::vector<std::pair<std::string, GeneratedFile::Generator>> proc_net_files();

// A /proc/PID/net directory (procfs makes one per process directory; /proc/net links to
// self/net, as on Linux).
InodePtr make_proc_net_dir(SyntheticSuperBlock* sb, InodePtr parent);

}  // namespace um::kernel::net
