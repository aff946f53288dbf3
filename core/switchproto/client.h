// The client side of the daemon transport, as UML's daemon NIC does it: bind a datagram socket
// to a full-length abstract name, connect to the switch's control socket, send the request,
// read the 110-byte reply and connect() the data socket to it (so the switch's frames are
// exempt from net.unix.max_dgram_qlen and only the switch can send to us). Keep `control`
// open for the life of the port; closing it leaves the switch.
#pragma once
#include <sys/un.h>

#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace um::switchproto {

struct SwitchConnection {
  UniqueFd control;          // stream to the switch; EOF = port gone
  UniqueFd data;             // datagram socket; send()/recv() one frame per datagram
  sockaddr_un local{};       // our data socket's address, as registered
  sockaddr_un remote{};      // the switch's data socket (from the reply)
};

struct ConnectOptions {
  uint32_t version = 3;      // 0, 1 or 3 (the MAC field of v0/v1 requests is sent as zeros)
  std::string name;          // abstract name for our data socket; empty = "um.<pid>.<n>"
  int timeout_ms = 5000;     // for the reply
};

Result<SwitchConnection> connect_to_switch(const std::string& ctl_path, const ConnectOptions& options = {});

}  // namespace um::switchproto
