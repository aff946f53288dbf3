// The sending side of `mconsole=notify:PATH` (spec §2.5): umkernel tells a listener that its
// mconsole is up (Socket), that it panicked (Panic), or passes on what the guest wrote to
// /proc/mconsole (UserNotify). Datagrams to a unix socket someone else bound; never blocks.
#pragma once
#include <string>

#include "core/error.h"
#include "core/mconsole/protocol.h"

namespace um::mconsole {

// Sends one notification to the datagram socket at `listener_path`. Errors (nobody listening,
// queue full) are returned for logging; UML ignores them too.
Status send_notification(const std::string& listener_path, const Notification& n);

}  // namespace um::mconsole
