// What other subsystems send to a netlink socket they were handed (mq_notify's SIGEV_THREAD
// writes its cookie to the socket glibc gave it), without knowing the netlink socket class.
#pragma once
#include <string>

#include "umkernel/vfs/vfs.h"

namespace um::kernel::net::netlink {

bool is_netlink_socket(const FilePtr& f);
// Queues `data` on netlink socket `f` as a message from the kernel; false if it is not one or
// its receive buffer is full.
bool send_kernel_message(const FilePtr& f, std::string data);

}  // namespace um::kernel::net::netlink
