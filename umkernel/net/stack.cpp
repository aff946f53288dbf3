#include "umkernel/net/stack.h"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <thread>

#include "core/log.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/socket/dgram_socket.h"
#include "umkernel/net/input_guard.h"
#include "umkernel/net/interface.h"
#include "umkernel/net/lwip.h"

#include <lwip/timeouts.h>

namespace um::kernel::net {

namespace {

pthread_t g_kernel_thread;
bool g_started = false;
thread_local int t_depth = 0;       // StackLock nesting on this thread
u32_t g_sleep_before = 0;           // lwIP's next timeout when the kernel thread took the lock
std::vector<Waker*> g_pending;      // under the lock
int g_event_fd = -1;

bool on_kernel_thread() { return g_started && pthread_equal(pthread_self(), g_kernel_thread); }

// Wakes what lwIP's thread notified: its callbacks write the eventfd.
class NotifySource : public EventSource {
 public:
  void on_event(uint32_t) override {
    uint64_t n;
    while (read(g_event_fd, &n, sizeof n) == sizeof n) {
    }
    StackLock lock;  // releasing it wakes the pending ones
  }
};

// lo: lwIP queues what is sent to it and feeds it back on its own thread.
class Loopback : public Interface {
 public:
  Loopback() : Interface("lo", 1) {}
  bool loopback() const override { return true; }
  int64_t transmit_frame(const void* frame, size_t len) override {
    // An AF_PACKET frame on lo: the made-up Ethernet header goes, the rest is looped as IP.
    if (len < 14) return -EINVAL;
    if (!frame_acceptable(static_cast<const uint8_t*>(frame), len)) return -EPROTONOSUPPORT;
    pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(len - 14), PBUF_RAM);
    if (!p) return -ENOBUFS;
    pbuf_take(p, static_cast<const uint8_t*>(frame) + 14, static_cast<u16_t>(len - 14));
    count_and_tap(p);
    if (netif_loop_output(&nif_, p) != ERR_OK) counters_.tx_dropped++;
    pbuf_free(p);
    return static_cast<int64_t>(len);
  }
  bool start(std::string* error) {
    ip4_addr_t addr, mask, gw;
    IP4_ADDR(&addr, 127, 0, 0, 1);
    IP4_ADDR(&mask, 255, 0, 0, 0);
    ip4_addr_set_zero(&gw);
    if (!netif_add(&nif_, &addr, &mask, &gw, this, init, ip_input)) {
      *error = "lwIP: cannot add the loopback interface";
      return false;
    }
    netif_ = &nif_;
    ip6_addr_t one;
    IP6_ADDR(&one, 0, 0, 0, PP_HTONL(1));
    netif_ip6_addr_set(&nif_, 0, &one);
    netif_ip6_addr_set_state(&nif_, 0, IP6_ADDR_VALID);
    nif_.rs_count = 0;  // no IPv6 router solicitations on lo (Linux sends none)
    netif_set_link_up(&nif_);
    netif_set_up(&nif_);
    return true;
  }

 private:
  static err_t init(netif* n) {
    n->name[0] = 'l';
    n->name[1] = 'o';
    n->mtu = 65535;
    n->output = [](netif* n, pbuf* p, const ip4_addr_t*) { return self(n)->loop(p); };
    n->output_ip6 = [](netif* n, pbuf* p, const ip6_addr_t*) { return self(n)->loop(p); };
    return ERR_OK;
  }
  static Loopback* self(netif* n) { return static_cast<Loopback*>(n->state); }
  err_t loop(pbuf* p) {
    count_and_tap(p);
    err_t e = netif_loop_output(&nif_, p);
    if (e != ERR_OK) counters_.tx_dropped++;
    return e;
  }
  // What goes out on lo comes back in: both directions count, as on Linux.
  void count_and_tap(pbuf* p) {
    counters_.tx_packets++;
    counters_.tx_bytes += p->tot_len;
    counters_.rx_packets++;
    counters_.rx_bytes += p->tot_len;
    if (taps_.empty()) return;
    std::string frame(14 + p->tot_len, '\0');
    uint16_t type = IP_HDR_GET_VERSION(p->payload) == 6 ? PP_HTONS(0x86dd) : PP_HTONS(0x0800);
    memcpy(frame.data() + 12, &type, 2);
    pbuf_copy_partial(p, frame.data() + 14, p->tot_len, 0);
    tap_frame(reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), true);
    tap_frame(reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), false);
  }
  netif nif_{};
};

// Never destroyed: lwIP's thread may use it until the process is gone.
Loopback& g_loopback = *new Loopback;

}  // namespace

Waker::~Waker() {
  if (!g_started) return;
  StackLock lock;
  forget(this);
}

StackLock::StackLock() {
  if (t_depth++ == 0) {
    sys_lock_tcpip_core();
    if (on_kernel_thread()) g_sleep_before = sys_timeouts_sleeptime();
  }
}

StackLock::~StackLock() {
  if (--t_depth > 0) return;
  // lwIP's thread sleeps until the timeout it knew of; one we added (a TCP timer, an ARP
  // retry) must wake it, or it would fire late or never.
  if (on_kernel_thread() && sys_timeouts_sleeptime() < g_sleep_before)
    tcpip_try_callback([](void*) {}, nullptr);
  if (!on_kernel_thread() || g_pending.empty()) {
    sys_unlock_tcpip_core();
    return;
  }
  // Wake outside the lock: waking runs epoll callbacks that poll sockets (and lock again).
  std::vector<Waker*> ready;
  ready.swap(g_pending);
  std::vector<std::shared_ptr<void>> held;
  held.reserve(ready.size());
  for (Waker* w : ready) held.push_back(w->hold());
  sys_unlock_tcpip_core();
  for (size_t i = 0; i < ready.size(); i++)
    if (held[i]) ready[i]->wake();
}

void notify(Waker* w) {
  if (std::find(g_pending.begin(), g_pending.end(), w) != g_pending.end()) return;
  bool was_empty = g_pending.empty();
  g_pending.push_back(w);
  if (was_empty && !on_kernel_thread()) {
    uint64_t one = 1;
    if (write(g_event_fd, &one, sizeof one) < 0) {
    }
  }
}

void forget(Waker* w) { std::erase(g_pending, w); }

bool stack_started() { return g_started; }

bool start_stack(std::string* error) {
  if (g_started) return true;
  srand(static_cast<unsigned>(time(nullptr) ^ getpid()));  // lwIP's LWIP_RAND: ports, ISNs
  g_event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (g_event_fd < 0) {
    *error = std::string("eventfd: ") + strerror(errno);
    return false;
  }
  // lwIP's thread must never take the kernel's signals (they are read from a signalfd).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  std::atomic<bool> ready{false};
  tcpip_init([](void* arg) { static_cast<std::atomic<bool>*>(arg)->store(true); }, &ready);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  while (!ready.load()) std::this_thread::yield();
  g_kernel_thread = pthread_self();
  g_started = true;
  {
    StackLock lock;
    start_tcp_ack_guard();
    start_udp_error_watch();
    if (!g_loopback.start(error)) return false;
  }
  register_interface(&g_loopback);
  static NotifySource source;
  kernel().add_event_source(g_event_fd, EPOLLIN, &source);
  return true;
}

}  // namespace um::kernel::net
