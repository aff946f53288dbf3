// mconsole config/remove: querying consoles and disks, and hot-plugging ubd disks
// (`config ubd1=FILE` adds /dev/ubdb, which the guest can then mount; `remove ubd1` refuses
// while it is mounted).
#pragma once
#include <string>

#include "core/mconsole/server.h"

namespace um::kernel::mgmt {

class Management;

void config_command(Management& m, const std::string& args, mconsole::ReplyPtr r);
void remove_command(Management& m, const std::string& args, mconsole::ReplyPtr r);

}  // namespace um::kernel::mgmt
