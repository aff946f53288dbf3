// AF_NETLINK sockets: the socket (socket.cpp: ports, queues, options), the rtnetlink requests
// it serves (rtnetlink.cpp) and NETLINK_KOBJECT_UEVENT (uevent.cpp: the kernel's device events
// and what user space multicasts, as udev does). Nothing outside socket/netlink/ needs
// this class: sockets are made through register_family.
#pragma once
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "umkernel/kernel/task.h"
#include "umkernel/kernel/wait_queue.h"
#include "umkernel/net/bpf.h"
#include "umkernel/socket/netlink/message.h"
#include "umkernel/socket/socket.h"

namespace um::kernel::net::netlink {

// SKB_WITH_OVERHEAD(PAGE_SIZE) and SKB_WITH_OVERHEAD(32768) on x86-64: the sizes Linux packs
// dump datagrams to.
constexpr size_t kGoodSize = 4096 - 320;
constexpr size_t kMaxDumpSize = 32768 - 320;
// What a queued datagram costs the receive buffer beyond its bytes (skb truesize).
constexpr size_t kDatagramOverhead = 256;
constexpr int kNumGroups = RTNLGRP_MAX;

class NetlinkSocket;

// Bound port ids, one table per protocol (as Linux's nl_table).
struct Ports {
  std::map<uint32_t, NetlinkSocket*> bound;
  int32_t rover = -4096;
};
Ports& ports(int protocol);
NetlinkSocket* port_owner(int protocol, uint32_t port);

inline bool privileged(Task& t) { return t.proc->cred.euid == 0; }

struct Datagram {
  std::string data;
  uint32_t from_port = 0;     // 0: the kernel
  uint32_t from_groups = 0;   // the group mask of a multicast one
  uint32_t group = 0;         // the group number it was sent to (NETLINK_PKTINFO), 0: unicast
  PeerCred cred;              // the sender's (SO_PASSCRED); the kernel's is all zeros
};

class NetlinkSocket : public Socket {
 public:
  NetlinkSocket(InodePtr inode, int flags, int type, int protocol) : Socket(std::move(inode), flags, AF_NETLINK, type, protocol) {}
  ~NetlinkSocket() override {
    if (bound_) ports(protocol()).bound.erase(portid_);
  }

  int64_t bind(Task& t, const std::string& addr) override;
  int64_t connect(Task& t, const std::string& addr, WaitQueue*& wait) override;
  int64_t shutdown(int) override { return -EOPNOTSUPP; }  // sock_no_shutdown
  int64_t send(Task& t, const SendSource& src, size_t len, int flags, const std::string* to, Ancillary* anc) override;
  int64_t recv(Task& t, size_t len, int flags, Received& out) override;
  int64_t sockname(std::string& out) override {
    out = address(portid_, static_cast<uint32_t>(groups_));
    return 0;
  }
  int64_t peername(std::string& out) override {
    out = address(dst_portid_, dst_group_ ? 1u << (dst_group_ - 1) : 0);
    return 0;
  }
  int64_t getsockopt(int level, int name, std::string& value) override;
  int64_t setsockopt(Task& t, int level, int name, const std::string& value) override;

  unsigned poll() override {
    unsigned r = POLLOUT | POLLWRNORM;
    if (!queue_.empty() || !dump_.empty()) r |= POLLIN | POLLRDNORM;
    if (err_) r |= POLLERR;
    return r;
  }
  WaitQueue* wait_queue() override { return &wq_; }
  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override;
  // A message from the kernel to every socket of `protocol` in `group` (uevents).
  static void kernel_multicast(int protocol, const std::string& data, uint32_t group);
  // A datagram from the kernel outside rtnetlink (mq_notify's SIGEV_THREAD cookies).
  bool kernel_message(std::string data) { return deliver({std::move(data), 0, 0}); }

 protected:
  int take_error() override { return std::exchange(err_, 0); }
  void buffers_changed() override { wq_.wake_all(); }

 private:
  static std::string address(uint32_t pid, uint32_t groups) {
    sockaddr_nl nl{};
    nl.nl_family = AF_NETLINK;
    nl.nl_pid = pid;
    nl.nl_groups = groups;
    return std::string(reinterpret_cast<const char*>(&nl), sizeof nl);
  }
  int64_t insert(uint32_t port);
  void autobind(Task& t);
  bool room() const { return queue_bytes_ < static_cast<size_t>(rcvbuf_); }
  // Queues a datagram for this socket: false (and ENOBUFS reported, unless
  // NETLINK_NO_ENOBUFS) when the receive buffer is full, as netlink_overrun.
  bool deliver(Datagram d);
  void overrun() {
    if (!no_enobufs_) err_ = ENOBUFS;
    wq_.wake_all();
  }
  // Moves dump messages into one datagram of at most the dump size.
  void fill_from_dump();
  void multicast(const std::string& data, uint32_t group);
  int num_groups() const;

  // rtnetlink
  void process(Task& t, const std::string& data);
  void reply(std::string msg) { deliver({std::move(msg), 0, 0}); }
  void ack(const Request& r, int64_t err);
  int64_t handle(Task& t, const Request& r);
  int64_t start_dump(const Request& r, std::vector<std::string>& msgs);
  int64_t get_link(const Request& r);
  int64_t set_link(const Request& r);
  int64_t new_addr(const Request& r);
  int64_t del_addr(const Request& r);
  int64_t del_addr6(const Request& r, const ifaddrmsg& ifa, const Attrs& at);
  int64_t route_change(Task& t, const Request& r);
  int64_t get_route(const Request& r);

  bool bound_ = false;
  uint32_t portid_ = 0;
  uint32_t dst_portid_ = 0, dst_group_ = 0;  // connect(); dst_group_ is a group number
  uint64_t groups_ = 0;                      // bit g-1 for group g
  std::deque<Datagram> queue_;
  size_t queue_bytes_ = 0;
  std::deque<std::string> dump_;             // the rest of a dump (NLMSG_DONE last)
  size_t max_recvmsg_len_ = 0;
  int err_ = 0;
  bool no_enobufs_ = false, cap_ack_ = false, ext_ack_ = false, broadcast_error_ = false, listen_all_nsid_ = false;
  bool pktinfo_ = false, passcred_ = false;
  bpf::Program filter_;  // SO_ATTACH_FILTER: what it passes is queued (cut to what it keeps)
  bool filter_locked_ = false;
  int64_t attach_filter(Task& t, const std::string& value);
  PeerCred sender_;  // who sent the last message (what its receivers' SO_PASSCRED shows)
  WaitQueue wq_;
};

}  // namespace um::kernel::net::netlink
