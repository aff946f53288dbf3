// A UML daemon-transport client (or a vde2 client speaking request v3). Each port gets its
// own abstract datagram socket, connect()ed to the client's registered address: the kernel
// then only delivers that client's frames to it (the ingress port is the sender address),
// and the socket's queue is not subject to net.unix.max_dgram_qlen, so one busy or stuck
// client can neither starve nor stall the others.
#pragma once
#include <memory>
#include <string>

#include "core/error.h"
#include "core/switchproto/switchproto.h"
#include "core/unique_fd.h"
#include "umswitch/port.h"

namespace um::sw {

class UnixPort : public DatagramPort {
 public:
  // Creates the port's data socket, connects it to the client and writes the 110-byte reply
  // on the control stream.
  static Result<std::unique_ptr<UnixPort>> create(UniqueFd control,
                                                  const switchproto::ConnectRequest& req);
  ~UnixPort() override;
  const char* kind() const override { return "unix"; }
  std::string peer() const override;
  int control_fd() const { return control_.get(); }
  uint32_t version() const { return version_; }
  bool garbage_reported = false;  // log unexpected control bytes once, count them always

 private:
  UnixPort(int data_fd, UniqueFd control, const switchproto::ConnectRequest& req);
  UniqueFd control_;
  sockaddr_un client_;
  sockaddr_un own_{};  // this port's own (random, abstract) address
  uint32_t version_;
  std::string description_;
};

}  // namespace um::sw
