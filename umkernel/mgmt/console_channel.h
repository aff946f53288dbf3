// Console channels beyond plain host descriptors (UML syntax, spec §4): a console whose
// output and input go through a host pseudo-terminal (`pty`), a telnet port (`port:N`), a
// shared unix socket for `umconsole attach/send/log` (`socket`, the default for con1..con7),
// an output log (`file:PATH`), or a host fd. The line discipline and job control stay in Tty;
// this class only overrides where bytes go (transmit) and feeds input().
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "umkernel/boot/config.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel::mgmt {

// What um-info and the boot messages say about a console.
struct ConsoleRecord {
  std::string name;     // "con1"
  std::string channel;  // as configured: "socket", "pty", "port:9000", "fd:0,fd:1"...
  std::string socket;   // attach socket path (socket channels)
  std::string device;   // host pty slave path (pty channels)
};

// Whether the plain host-descriptor Tty serves this channel (fd:N and null on both sides).
bool plain_channel(const ChannelSpec& ch);

// Serial line N is tty index kSerialTtyBase + N (/dev/ttySN, 4:64+N, as Linux).
constexpr int kSerialTtyBase = 64;

// Builds the terminal for a non-plain channel, registering its host sources with the kernel.
// tty_index: N for conN, kSerialTtyBase + N for sslN; `socket` channels listen at
// record->socket (set by the caller).
Result<std::unique_ptr<Tty>> make_channel_tty(int tty_index, const ChannelSpec& ch, ConsoleRecord* record);

}  // namespace um::kernel::mgmt
