// mconsole client: sends one command to a UML-compatible mconsole socket (a real UML kernel or
// umkernel) and collects the whole reply.
//
// Unlike uml_mconsole, the client connect()s its datagram socket to the server: the kernel
// then skips the receiver's max_dgram_qlen check, so long multi-packet replies (sysrq m = 15
// packets) are never cut short (spec §2.6). Every receive has a timeout.
#pragma once
#include <chrono>
#include <string>
#include <vector>

#include "core/error.h"

namespace um::mconsole {

struct Reply {
  bool error = false;   // the server's err flag (first packet)
  std::string text;     // all packets' text concatenated
};

inline constexpr std::chrono::milliseconds kDefaultTimeout{5000};

// Sends `command` to the mconsole socket at `socket_path` and waits for the complete reply.
// `timeout` bounds each wait for a packet, so a reply streamed slowly (sysrq output) still
// arrives as long as packets keep coming. Errors: ENOENT (no socket), ECONNREFUSED (stale
// socket, VM gone), ETIMEDOUT, EPROTO (not an mconsole).
Result<Reply> call(const std::string& socket_path, const std::string& command,
                   std::chrono::milliseconds timeout = kDefaultTimeout);

// Resolves a VM name the way uml_mconsole does, extended for our run directory: the first of
//   <rundir root>/NAME/mconsole   ($UML_DIR, else ~/.uml)
//   /tmp/uml/NAME/mconsole
//   NAME/mconsole                 (NAME is a VM directory)
//   NAME                          (NAME is the socket itself)
// that exists as a socket. ENOENT with a message listing what was tried otherwise.
Result<std::string> resolve_socket(const std::string& name);
std::vector<std::string> candidate_sockets(const std::string& name);

}  // namespace um::mconsole
