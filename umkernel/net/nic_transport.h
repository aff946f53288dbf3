// How an ethN NIC's frames leave and reach umkernel: one transport per NIC, one Ethernet frame
// per message. Datagram sockets (daemon: a uml_switch-compatible switch; slirp: the built-in
// NAT router; mcast: host UDP multicast), a VDE connection (libvdeplug) or a host tap device.
// The NIC (nic.cpp) owns the lwIP side; a transport only moves frames, never blocking.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "umkernel/boot/config.h"

namespace um::kernel::net {

constexpr size_t kFrameBuf = 2048;  // a receive buffer: room for any Ethernet frame and more
using FrameBuf = std::array<uint8_t, kFrameBuf>;
constexpr size_t kTruncated = SIZE_MAX;  // receive(): the frame did not fit its buffer

class NicTransport {
 public:
  virtual ~NicTransport() = default;
  // Readable when frames have arrived (the kernel's loop watches it).
  virtual int data_fd() const = 0;
  // Watched for EOF: the peer (a switch) went away. -1 when there is none.
  virtual int control_fd() const { return -1; }
  // Sends one frame without blocking: 0, or -errno (-EAGAIN or -ENOBUFS when the way is full).
  virtual int send(const uint8_t* frame, size_t len) = 0;
  // Receives up to n waiting frames without blocking: lens[i] is frame i's length (kTruncated
  // if it did not fit). Returns how many (0: none waiting), or -errno when the link is broken.
  virtual int receive(FrameBuf* bufs, size_t* lens, int n) = 0;
};

// Opens the transport ethN=... names; errors are one line starting with the NIC's name.
Result<std::unique_ptr<NicTransport>> open_nic_transport(const NicSpec& spec);

// The transports, each in its own file.
Result<std::unique_ptr<NicTransport>> open_vde_transport(const NicSpec& spec);
Result<std::unique_ptr<NicTransport>> open_tap_transport(const NicSpec& spec);
Result<std::unique_ptr<NicTransport>> open_mcast_transport(const NicSpec& spec);

}  // namespace um::kernel::net
