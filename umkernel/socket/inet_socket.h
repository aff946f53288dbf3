// AF_INET and AF_INET6 sockets over lwIP's raw API: what TCP, UDP and raw/ICMP sockets share
// (addresses, IP-level options, readiness and wakes). An AF_INET6 socket is dual-stack as on
// Linux: IPv4 peers appear as ::ffff:a.b.c.d unless IPV6_V6ONLY is set.
//
// Each socket keeps its lwIP-side state (pcb, received data, errors) touched only under the
// StackLock; lwIP's callbacks change it and notify(); the kernel thread then wakes the
// socket's wait queue (Waker::wake).
#pragma once
#include <string>

#include "umkernel/net/lwip.h"
#include "umkernel/net/stack.h"
#include "umkernel/socket/socket.h"

namespace um::kernel::net {

// Parses a sockaddr_in/sockaddr_in6 for a socket of `family`: -EINVAL (short), -EAFNOSUPPORT
// (other family). An AF_INET6 socket maps ::ffff:a.b.c.d to IPv4 and :: to "any".
int64_t parse_inet_address(int family, const std::string& raw, ip_addr_t& ip, uint16_t& port);
// The sockaddr bytes for an address (port in host order) as a socket of `family` reports it.
std::string inet_address(int family, const ip_addr_t& ip, uint16_t port);
// Whether `ip` is "any" or one of the guest's own addresses (bind's EADDRNOTAVAIL check).
bool is_local_address(const ip_addr_t& ip);
// lwIP's err_t as an errno (negative).
int64_t errno_of(err_t e);

class InetSocket : public Socket, public Waker {
 public:
  InetSocket(InodePtr inode, int flags, int family, int type, int protocol);

  unsigned poll() override;
  WaitQueue* wait_queue() override { return &wq_; }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override;
  int64_t getsockopt(int level, int name, std::string& value) override;
  int64_t setsockopt(Task& t, int level, int name, const std::string& value) override;

  // Waker
  void wake() override { wq_.wake_all(); }
  std::shared_ptr<void> hold() override { return weak_from_this().lock(); }

 protected:
  // Under the lock.
  virtual unsigned readiness() = 0;
  virtual ip_pcb* ip() = 0;                   // the pcb's IP part (null: none now)
  // Has the socket a local port (bound, or connected)? IPV6_V6ONLY is fixed from then on.
  virtual bool has_port() { return ip() != nullptr; }
  virtual int64_t bytes_readable() { return 0; }   // FIONREAD
  virtual int64_t bytes_unsent() { return 0; }     // SIOCOUTQ
  // The address type a new pcb gets: IPv4, or IPv6 (+ IPv4 unless IPV6_V6ONLY).
  u8_t ip_type() const;
  // Checks the family/addr of bind() and returns what to bind to; -errno on failure.
  int64_t bind_address(Task& t, const std::string& raw, ip_addr_t& ip, uint16_t& port);
  // Carries the options set before the pcb existed over to it (pcbs are made on first use).
  void apply_options(ip_pcb* p);
  // What a broadcast send needs: SO_BROADCAST (else -EACCES).
  int64_t check_broadcast(const ip_addr_t& dst) const;

  WaitQueue wq_;
  bool v6only_ = false;
  int ttl_ = -1, tos_ = 0;                    // -1: the default
  bool recv_hoplimit_ = false, recv_tclass_ = false;  // IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS
};

}  // namespace um::kernel::net
