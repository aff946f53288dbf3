// A user-mode NAT router (libslirp), addressed like QEMU's user networking: network
// 10.0.2.0/24, gateway 10.0.2.2 (also reaches the host's 127.0.0.1), DNS 10.0.2.3, DHCP
// leases from 10.0.2.15. Slirp runs in its own thread with its own poll loop; the owner
// exchanges Ethernet frames with it over a datagram socketpair (frame_fd()). Shared by
// umswitch (--nat) and umkernel (eth0=slirp).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace um::nat {

// An inbound forward: connections to host_addr:host_port reach guest_addr:guest_port.
struct Forward {
  bool udp = false;
  std::string host_addr = "127.0.0.1";
  int host_port = 0;
  std::string guest_addr;
  int guest_port = 0;
};

// umswitch's --forward syntax: "tcp|udp:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT".
Result<Forward> parse_forward(const std::string& spec);

// QEMU's hostfwd syntax: "tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", e.g.
// "tcp:127.0.0.1:8080-:80". An empty HOSTADDR is 127.0.0.1 (not QEMU's 0.0.0.0: nothing is
// exposed beyond this host unless asked for); an empty GUESTADDR is default_guest. As in
// QEMU, an empty protocol means tcp.
Result<Forward> parse_hostfwd(const std::string& spec,
                              const std::string& default_guest = "10.0.2.15");

struct NatOptions {
  std::vector<Forward> forwards;
  std::string hostname;  // offered to the guest by DHCP (option 12); empty: none
  // QEMU's restrict=on: the guest is cut off from the host and the outside (no connections
  // or datagrams out, 10.0.2.2 does not reach the host's loopback); only the forwards reach
  // it. DHCP still answers.
  bool restricted = false;
};

class NatRouter {
 public:
  // Starts slirp and its thread. Fails if a forward's host port cannot be bound.
  static Result<std::unique_ptr<NatRouter>> start(const NatOptions& options);
  ~NatRouter();  // stops the thread, frees slirp, closes both ends of the socketpair
  NatRouter(const NatRouter&) = delete;
  NatRouter& operator=(const NatRouter&) = delete;

  // The owner's end: an AF_UNIX SOCK_DGRAM socket, one Ethernet frame per datagram,
  // non-blocking, close-on-exec. Owned by the router: valid until it is destroyed.
  int frame_fd() const;

 private:
  struct Impl;
  explicit NatRouter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace um::nat
