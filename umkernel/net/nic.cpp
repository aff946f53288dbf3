#include "umkernel/net/nic.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "core/log.h"
#include "umkernel/boot/cmdline.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/net/input_guard.h"
#include "umkernel/net/interface.h"
#include "umkernel/net/lwip.h"
#include "umkernel/net/nic_transport.h"
#include "umkernel/net/stack.h"

namespace um::kernel::net {

namespace {

constexpr size_t kMaxFrame = 1518;     // Ethernet with a VLAN tag, without the FCS
constexpr int kRxBatch = 32;           // frames read per recvmmsg

// A stable MAC from the machine's name: locally administered, unicast (02:...).
void derive_mac(const std::string& umid, int index, uint8_t mac[6]) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : umid + "/eth" + std::to_string(index)) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  for (int i = 0; i < 6; i++) mac[i] = static_cast<uint8_t>(h >> (8 * i));
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfc) | 0x02);
}

class EthernetNic : public Interface, public EventSource {
 public:
  EthernetNic(int n, const uint8_t mac[6]) : Interface("eth" + std::to_string(n), n + 2) { memcpy(mac_, mac, 6); }

  bool loopback() const override { return false; }

  bool attach(const NicSpec& spec, std::string* error) {
    auto t = open_nic_transport(spec);
    if (!t) {
      *error = t.error().message;
      return false;
    }
    transport_ = std::move(*t);
    data_fd_ = transport_->data_fd();
    {
      StackLock lock;
      netif_ = &nif_;
      if (!netif_add(&nif_, nullptr, nullptr, nullptr, this, init, tcpip_input)) {
        *error = name_ + ": lwIP cannot add the interface";
        return false;
      }
      netif_create_ip6_linklocal_address(&nif_, 1);  // fe80:: from the MAC, as Linux
      netif_set_link_up(&nif_);
    }
    kernel().add_event_source(data_fd_, EPOLLIN, this);
    if (int c = transport_->control_fd(); c >= 0) {
      control_watch_.nic = this;
      kernel().add_event_source(c, EPOLLIN | EPOLLRDHUP, &control_watch_);
    }
    return true;
  }

  int64_t transmit_frame(const void* frame, size_t len) override {
    if (!up()) return -ENETDOWN;
    if (len < 14) return -EINVAL;
    if (len > static_cast<size_t>(mtu()) + 14) return -EMSGSIZE;
    return send_frame(static_cast<const uint8_t*>(frame), len) ? static_cast<int64_t>(len) : -ENOBUFS;
  }

  // Frames from the switch, the router, the group or the tap.
  void on_event(uint32_t) override {
    static thread_local std::vector<FrameBuf> bufs(kRxBatch);
    size_t lens[kRxBatch];
    for (;;) {
      int n = transport_->receive(bufs.data(), lens, kRxBatch);
      if (n <= 0) {
        if (n < 0) link_lost(strerror(-n));
        return;
      }
      StackLock lock;
      for (int i = 0; i < n; i++) receive(bufs[i].data(), lens[i]);
      if (n < kRxBatch) return;
    }
  }

 private:
  struct ControlWatch : EventSource {
    EthernetNic* nic = nullptr;
    void on_event(uint32_t) override {
      char b[64];
      ssize_t r = recv(nic->transport_->control_fd(), b, sizeof b, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) nic->link_lost("the switch closed the connection");
    }
  };

  static err_t init(netif* n) {
    auto* self = static_cast<EthernetNic*>(n->state);
    n->name[0] = 'e';
    n->name[1] = 't';
    n->mtu = 1500;
    n->hwaddr_len = 6;
    memcpy(n->hwaddr, self->mac_, 6);
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
    n->output = etharp_output;
    n->output_ip6 = ethip6_output;
    n->linkoutput = [](netif* n, pbuf* p) -> err_t {
      auto* self = static_cast<EthernetNic*>(n->state);
      uint8_t frame[kMaxFrame + 64];
      if (p->tot_len > sizeof frame) {
        self->counters_.tx_errors++;
        return ERR_BUF;
      }
      pbuf_copy_partial(p, frame, p->tot_len, 0);
      return self->send_frame(frame, p->tot_len) ? ERR_OK : ERR_IF;
    };
    return ERR_OK;
  }

  // Under the lock, any thread.
  bool send_frame(const uint8_t* frame, size_t len) {
    if (!link_up()) {
      counters_.tx_dropped++;
      return false;
    }
    tap_frame(frame, len, true);
    if (int e = transport_->send(frame, len); e < 0) {
      // A full socket buffer drops the frame as a full NIC queue would; TCP retransmits.
      if (e == -EAGAIN || e == -ENOBUFS) counters_.tx_dropped++;
      else counters_.tx_errors++;
      return false;
    }
    counters_.tx_packets++;
    counters_.tx_bytes += len;
    return true;
  }

  // Under the lock, kernel thread.
  void receive(const uint8_t* frame, size_t len) {
    if (len == kTruncated || len < 14 || len > kMaxFrame) {
      counters_.rx_errors++;  // malformed: too short or too long for Ethernet
      return;
    }
    if (!up()) {
      counters_.rx_dropped++;
      return;
    }
    if (!frame_acceptable(frame, len)) {
      counters_.rx_dropped++;  // would trip an lwIP assertion (input_guard.h)
      return;
    }
    // Our own frame come back: mcast loops every datagram back to the host's members, hubs
    // repeat to every port. A NIC is never its own peer.
    if (memcmp(frame + 6, mac_, 6) == 0) return;
    bool group = frame[0] & 1;
    // What a NIC's address filter passes: our address, broadcast and multicast.
    if (!group && memcmp(frame, mac_, 6) != 0) return;
    counters_.rx_packets++;
    counters_.rx_bytes += len;
    if (group) counters_.rx_multicast++;
    tap_frame(frame, len, false);
    pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(len), PBUF_RAM);  // one block: filling a PBUF_POOL chain overran it (ASan)
    if (!p) {
      counters_.rx_dropped++;
      return;
    }
    pbuf_take(p, frame, static_cast<u16_t>(len));
    if (ethernet_input(p, &nif_) != ERR_OK) pbuf_free(p);
  }

  void link_lost(const char* why) {
    if (!link_up()) return;
    UM_WARN("%s: link down: %s", name_.c_str(), why);
    kernel().remove_event_source(data_fd_);
    if (int c = transport_->control_fd(); c >= 0) kernel().remove_event_source(c);
    StackLock lock;
    netif_set_link_down(&nif_);
  }

  netif nif_{};
  std::unique_ptr<NicTransport> transport_;
  int data_fd_ = -1;
  ControlWatch control_watch_;
};

// Never destroyed: lwIP's thread may use the netifs until the process is gone.
std::vector<std::unique_ptr<EthernetNic>>& nics() {
  static auto* v = new std::vector<std::unique_ptr<EthernetNic>>;
  return *v;
}

uint32_t ipv4(const std::string& s) {
  in_addr a{};
  inet_pton(AF_INET, s.c_str(), &a);
  return a.s_addr;
}

}  // namespace

bool boot_network(const BootConfig& cfg, const std::string& umid, std::string* error) {
  if (!start_stack(error)) return false;
  auto specs = cfg.nics;
  std::sort(specs.begin(), specs.end(), [](auto& a, auto& b) { return a.index < b.index; });
  for (const NicSpec& spec : specs) {
    uint8_t mac[6];
    if (spec.mac.empty()) derive_mac(umid, spec.index, mac);
    else parse_mac(spec.mac, mac);
    auto nic = std::make_unique<EthernetNic>(spec.index, mac);
    if (!nic->attach(spec, error)) return false;
    register_interface(nic.get());
    nics().push_back(std::move(nic));
  }
  if (!cfg.has_ip) return true;
  StackLock lock;
  Interface* dev = interface_by_name(cfg.ip.device);
  uint32_t addr = ipv4(cfg.ip.addr);
  if (!cfg.ip.netmask.empty()) dev->set_addr_and_mask(addr, ipv4(cfg.ip.netmask));
  else dev->set_addr(addr);
  dev->set_flags(dev->flags() | IFF_UP);
  if (!cfg.ip.gateway.empty()) {
    if (int64_t e = set_default_route(ipv4(cfg.ip.gateway), dev); e < 0) {
      *error = "ip=: gateway " + cfg.ip.gateway + " is not on " + cfg.ip.device + "'s network";
      return false;
    }
  }
  return true;
}

}  // namespace um::kernel::net
