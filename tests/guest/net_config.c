// Network configuration from inside a guest: the interface ioctls (ifconfig/route), rtnetlink
// (ip), AF_PACKET sockets with classic BPF filters, and /proc/net. Expects to run as root in a
// fresh umkernel guest with lo and one NIC, eth0 (MAC 02:00:00:00:00:01), down and without an
// address; prints facts only, so that the output is the same on every run.
// Usage: net_config [ioctl|netlink|packet|proc|eth]... (default: all, in that order)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

static void show(const char* what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %ld\n", what, r);
  fflush(stdout);
}

static void fact(const char* what, int ok) {
  printf("%s: %s\n", what, ok ? "yes" : "no");
  fflush(stdout);
}

static const char* err_name(int e) { return e ? strerrorname_np(e) : "0"; }

// Runs fn in a child with uid 1000 and prints what it printed.
static void as_user(void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(1000) < 0 || setuid(1000) < 0) _exit(3);
    fn();
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
}

static const char* ip4(uint32_t a) {
  static char buf[4][INET_ADDRSTRLEN];
  static int i;
  i = (i + 1) % 4;
  inet_ntop(AF_INET, &a, buf[i], sizeof buf[i]);
  return buf[i];
}

static void flag_names(char* out, unsigned f) {
  static const struct { unsigned bit; const char* name; } names[] = {
      {IFF_UP, "UP"}, {IFF_BROADCAST, "BROADCAST"}, {IFF_LOOPBACK, "LOOPBACK"}, {IFF_POINTOPOINT, "POINTOPOINT"},
      {IFF_RUNNING, "RUNNING"}, {IFF_NOARP, "NOARP"}, {IFF_PROMISC, "PROMISC"}, {IFF_ALLMULTI, "ALLMULTI"},
      {IFF_MULTICAST, "MULTICAST"}, {IFF_DEBUG, "DEBUG"}, {IFF_LOWER_UP, "LOWER_UP"}};
  out[0] = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (f & names[i].bit) {
      if (out[0]) strcat(out, ",");
      strcat(out, names[i].name);
    }
}

static void mac_text(char* out, const unsigned char* m) {
  sprintf(out, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void cat(const char* path) {
  FILE* f = fopen(path, "r");
  if (!f) {
    printf("%s: %s\n", path, strerrorname_np(errno));
    return;
  }
  printf("--- %s\n", path);
  char line[512];
  while (fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = 0;  // Linux pads some
    printf("%s\n", line);
  }
  fclose(f);
  fflush(stdout);
}

// ------------------------------------------------------------------------------------------
// ioctl: what ifconfig and route do

static int ctl = -1;  // an AF_INET datagram socket for the ioctls

static int ifr_call(unsigned long req, const char* name, struct ifreq* ifr) {
  memset(ifr->ifr_name, 0, IFNAMSIZ);
  strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
  return ioctl(ctl, req, ifr);
}

static int set_inet(unsigned long req, const char* name, const char* addr) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  struct sockaddr_in* sin = (struct sockaddr_in*)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, addr, &sin->sin_addr);
  return ifr_call(req, name, &ifr);
}

static void show_flags(const char* name) {
  struct ifreq ifr;
  char buf[160], what[64];
  snprintf(what, sizeof what, "flags %s", name);
  if (ifr_call(SIOCGIFFLAGS, name, &ifr) < 0) return show(what, -1);
  flag_names(buf, (unsigned short)ifr.ifr_flags);
  printf("%s: %s\n", what, buf);
}

static void show_addrs(const char* name) {
  struct ifreq ifr;
  unsigned long reqs[] = {SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR};
  const char* names[] = {"addr", "mask", "brd", "dst"};
  printf("%s:", name);
  for (int i = 0; i < 4; i++) {
    memset(&ifr, 0, sizeof ifr);
    if (ifr_call(reqs[i], name, &ifr) < 0) printf(" %s %s", names[i], strerrorname_np(errno));
    else printf(" %s %s", names[i], ip4(((struct sockaddr_in*)&ifr.ifr_addr)->sin_addr.s_addr));
  }
  printf("\n");
}

static void show_ifconf(void) {
  struct ifconf ifc = {0};
  ifc.ifc_buf = NULL;
  if (ioctl(ctl, SIOCGIFCONF, &ifc) < 0) return show("SIOCGIFCONF size", -1);
  printf("SIOCGIFCONF size: %d\n", ifc.ifc_len);
  struct ifreq reqs[8];
  ifc.ifc_len = sizeof reqs;
  ifc.ifc_req = reqs;
  if (ioctl(ctl, SIOCGIFCONF, &ifc) < 0) return show("SIOCGIFCONF", -1);
  printf("SIOCGIFCONF:");
  for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++)
    printf(" %s=%s", reqs[i].ifr_name, ip4(((struct sockaddr_in*)&reqs[i].ifr_addr)->sin_addr.s_addr));
  printf("\n");
  ifc.ifc_len = sizeof(struct ifreq) + 10;  // room for one
  ioctl(ctl, SIOCGIFCONF, &ifc);
  printf("SIOCGIFCONF room for one: %d\n", ifc.ifc_len);
}

static int route(unsigned long req, const char* dst, const char* mask, const char* gw, const char* dev, int flags) {
  struct rtentry rt;
  memset(&rt, 0, sizeof rt);
  struct sockaddr_in* s = (struct sockaddr_in*)&rt.rt_dst;
  s->sin_family = AF_INET;
  inet_pton(AF_INET, dst, &s->sin_addr);
  s = (struct sockaddr_in*)&rt.rt_genmask;
  s->sin_family = AF_INET;
  inet_pton(AF_INET, mask, &s->sin_addr);
  if (gw) {
    s = (struct sockaddr_in*)&rt.rt_gateway;
    s->sin_family = AF_INET;
    inet_pton(AF_INET, gw, &s->sin_addr);
  }
  rt.rt_flags = RTF_UP | flags | (gw ? RTF_GATEWAY : 0);
  rt.rt_dev = (char*)dev;
  return ioctl(ctl, req, &rt);
}

static void user_ioctls(void) {
  show("user: set addr lo", set_inet(SIOCSIFADDR, "lo", "127.0.0.2"));
  struct ifreq ifr;
  show("user: get flags lo", ifr_call(SIOCGIFFLAGS, "lo", &ifr) < 0 ? -1 : 0);
  memset(&ifr, 0, sizeof ifr);
  show("user: set flags nope0", ifr_call(SIOCSIFFLAGS, "nope0", &ifr));
  show("user: route add", route(SIOCADDRT, "0.0.0.0", "0.0.0.0", "10.0.0.254", NULL, 0));
}

static void part_ioctl(void) {
  printf("== ioctl\n");
  ctl = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  show_ifconf();
  ifr_call(SIOCGIFINDEX, "lo", &ifr);
  int lo = ifr.ifr_ifindex;
  ifr_call(SIOCGIFINDEX, "eth0", &ifr);
  printf("index: lo %d eth0 %d\n", lo, ifr.ifr_ifindex);
  show("index nope0", ifr_call(SIOCGIFINDEX, "nope0", &ifr));
  show("index of alias eth0:1 (device's)", ifr_call(SIOCGIFINDEX, "eth0:1", &ifr) < 0 ? -1 : ifr.ifr_ifindex);
  for (int i = 1; i <= 3; i++) {
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_ifindex = i;
    if (ioctl(ctl, SIOCGIFNAME, &ifr) < 0) printf("name %d: %s\n", i, strerrorname_np(errno));
    else printf("name %d: %s\n", i, ifr.ifr_name);
  }
  show_flags("lo");
  show_flags("eth0");
  show_flags("nope0");
  ifr_call(SIOCGIFMTU, "lo", &ifr);
  printf("mtu lo: %d\n", ifr.ifr_mtu);
  ifr_call(SIOCGIFMTU, "eth0", &ifr);
  printf("mtu eth0: %d\n", ifr.ifr_mtu);
  char mac[32];
  for (const char* n = "lo"; n; n = strcmp(n, "lo") == 0 ? "eth0" : NULL) {
    ifr_call(SIOCGIFHWADDR, n, &ifr);
    mac_text(mac, (unsigned char*)ifr.ifr_hwaddr.sa_data);
    printf("hwaddr %s: family %d %s\n", n, ifr.ifr_hwaddr.sa_family, mac);
  }
  ifr_call(SIOCGIFTXQLEN, "eth0", &ifr);
  printf("txqlen eth0: %d\n", ifr.ifr_qlen);
  ifr_call(SIOCGIFMETRIC, "eth0", &ifr);
  printf("metric eth0: %d\n", ifr.ifr_metric);
  memset(&ifr, 0xaa, sizeof ifr);
  ifr_call(SIOCGIFMAP, "eth0", &ifr);
  printf("map eth0: mem %lx base %x irq %d\n", ifr.ifr_map.mem_start, ifr.ifr_map.base_addr, ifr.ifr_map.irq);
  show_addrs("lo");
  show_addrs("eth0");

  show("set addr eth0 10.0.0.1", set_inet(SIOCSIFADDR, "eth0", "10.0.0.1"));
  show_addrs("eth0");
  show("set netmask eth0 255.255.255.0", set_inet(SIOCSIFNETMASK, "eth0", "255.255.255.0"));
  show("set netmask eth0 255.0.255.0", set_inet(SIOCSIFNETMASK, "eth0", "255.0.255.0"));
  show("set brd eth0 10.0.0.255", set_inet(SIOCSIFBRDADDR, "eth0", "10.0.0.255"));
  show("set brd eth0 10.0.0.127", set_inet(SIOCSIFBRDADDR, "eth0", "10.0.0.127"));
  show("set addr eth0 224.0.0.1", set_inet(SIOCSIFADDR, "eth0", "224.0.0.1"));
  show("set addr eth0:1 10.0.0.9", set_inet(SIOCSIFADDR, "eth0:1", "10.0.0.9"));
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_addr.sa_family = AF_INET6;
  show("set addr eth0 family AF_INET6", ifr_call(SIOCSIFADDR, "eth0", &ifr));
  show_addrs("eth0");
  show_addrs("eth0:1");

  ifr_call(SIOCGIFFLAGS, "eth0", &ifr);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  show("set flags eth0 up", ifr_call(SIOCSIFFLAGS, "eth0", &ifr));
  show_flags("eth0");
  ifr_call(SIOCGIFFLAGS, "eth0", &ifr);
  ifr.ifr_flags |= IFF_PROMISC;
  show("set flags eth0 promisc", ifr_call(SIOCSIFFLAGS, "eth0", &ifr));
  ifr_call(SIOCGIFFLAGS, "eth0", &ifr);
  ifr.ifr_flags |= IFF_ALLMULTI | IFF_DEBUG;
  show("set flags eth0 allmulti debug", ifr_call(SIOCSIFFLAGS, "eth0", &ifr));
  show_flags("eth0");
  ifr_call(SIOCGIFFLAGS, "eth0", &ifr);
  ifr.ifr_flags &= ~(IFF_ALLMULTI | IFF_DEBUG);
  ifr_call(SIOCSIFFLAGS, "eth0", &ifr);

  ifr_call(SIOCGIFHWADDR, "eth0", &ifr);
  ifr.ifr_hwaddr.sa_data[5] = 2;
  show("set hwaddr eth0 while up", ifr_call(SIOCSIFHWADDR, "eth0", &ifr));
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_mtu = 1400;
  show("set mtu eth0 1400", ifr_call(SIOCSIFMTU, "eth0", &ifr));
  ifr_call(SIOCGIFMTU, "eth0", &ifr);
  printf("mtu eth0: %d\n", ifr.ifr_mtu);
  ifr.ifr_mtu = 10;
  show("set mtu eth0 10", ifr_call(SIOCSIFMTU, "eth0", &ifr));
  ifr.ifr_mtu = 1500;
  ifr_call(SIOCSIFMTU, "eth0", &ifr);
  ifr.ifr_metric = 5;
  show("set metric eth0", ifr_call(SIOCSIFMETRIC, "eth0", &ifr));
  show_ifconf();

  show("route add default gw 192.168.9.1 (unreachable)", route(SIOCADDRT, "0.0.0.0", "0.0.0.0", "192.168.9.1", NULL, 0));
  show("route add default gw 10.0.0.254", route(SIOCADDRT, "0.0.0.0", "0.0.0.0", "10.0.0.254", NULL, 0));
  show("route add default gw 10.0.0.254 again", route(SIOCADDRT, "0.0.0.0", "0.0.0.0", "10.0.0.254", NULL, 0));
  show("route add -net 10.0.0.0/24 dev eth0 (connected)", route(SIOCADDRT, "10.0.0.0", "255.255.255.0", NULL, "eth0", 0));
  show("route add -net 10.1.0.0/16 gw 10.0.0.254", route(SIOCADDRT, "10.1.0.0", "255.255.0.0", "10.0.0.254", NULL, 0));
  show("route add -net 10.0.0.1/24 (bad mask)", route(SIOCADDRT, "10.0.0.1", "255.255.255.0", NULL, NULL, 0));
  show("route add dev nope0", route(SIOCADDRT, "10.0.0.0", "255.255.255.0", NULL, "nope0", 0));
  cat("/proc/net/route");
  show("route del default gw 10.0.0.99", route(SIOCDELRT, "0.0.0.0", "0.0.0.0", "10.0.0.99", NULL, 0));
  show("route del default", route(SIOCDELRT, "0.0.0.0", "0.0.0.0", NULL, NULL, 0));
  show("route del default again", route(SIOCDELRT, "0.0.0.0", "0.0.0.0", NULL, NULL, 0));
  show("route del -net 10.0.0.0/24 (connected)", route(SIOCDELRT, "10.0.0.0", "255.255.255.0", NULL, NULL, 0));
  struct termios tio;
  show("TCGETS on a socket", ioctl(ctl, TCGETS, &tio));
  show("SIOCGARP", ioctl(ctl, SIOCGARP, &ifr));
  as_user(user_ioctls);

  ifr_call(SIOCGIFFLAGS, "eth0", &ifr);
  ifr.ifr_flags &= ~IFF_UP;
  show("set flags eth0 down", ifr_call(SIOCSIFFLAGS, "eth0", &ifr));
  show_flags("eth0");
  show("set addr eth0 0.0.0.0", set_inet(SIOCSIFADDR, "eth0", "0.0.0.0"));
  show_addrs("eth0");
  close(ctl);
}

// ------------------------------------------------------------------------------------------
// netlink: what ip does

static int nl_seq = 100;

struct nl_req {
  struct nlmsghdr h;
  union {
    struct ifinfomsg ifi;
    struct ifaddrmsg ifa;
    struct rtmsg rt;
    struct rtgenmsg gen;
  };
  char attrs[256];
};

static void add_attr(struct nl_req* r, int type, const void* data, int len) {
  struct rtattr* a = (struct rtattr*)((char*)r + NLMSG_ALIGN(r->h.nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void init_req(struct nl_req* r, int type, int flags, size_t hdr) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_len = NLMSG_LENGTH(hdr);
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = NLM_F_REQUEST | flags;
  r->h.nlmsg_seq = ++nl_seq;
}

static int nl_send(int fd, struct nl_req* r) {
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  return sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr*)&k, sizeof k);
}

// Receives until the answer to `seq` is complete; prints each message with `print`.
// Returns the error of an NLMSG_ERROR (0 for an ack), 1 after NLMSG_DONE, 2 after a single reply.
static int nl_wait(int fd, uint32_t seq, void (*print)(struct nlmsghdr*)) {
  static char buf[32768];
  for (;;) {
    struct sockaddr_nl from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr*)&from, &fl);
    if (n < 0) {
      show("recv", -1);
      return -1;
    }
    if (from.nl_pid != 0 || fl != sizeof from) printf("reply not from the kernel: pid %u len %u\n", from.nl_pid, fl);
    int single = 0;
    for (struct nlmsghdr* h = (struct nlmsghdr*)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) {
        printf("unexpected seq %u (want %u)\n", h->nlmsg_seq, seq);
        continue;
      }
      if (h->nlmsg_type == NLMSG_DONE) return 1;
      if (h->nlmsg_type == NLMSG_ERROR) return ((struct nlmsgerr*)NLMSG_DATA(h))->error;
      if (print) print(h);
      if (!(h->nlmsg_flags & NLM_F_MULTI)) single = 1;
    }
    if (single) return 2;
  }
}

static const char* nl_result(int r) {
  static char buf[64];
  if (r <= 0) return err_name(-r);
  snprintf(buf, sizeof buf, r == 1 ? "done" : "reply");
  return buf;
}

static void print_link(struct nlmsghdr* h) {
  struct ifinfomsg* ifi = NLMSG_DATA(h);
  char flags[160], mac[32] = "-", name[32] = "?";
  unsigned mtu = 0, txq = 0;
  int oper = -1, carrier = -1;
  int len = IFLA_PAYLOAD(h);
  for (struct rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    switch (a->rta_type) {
      case IFLA_IFNAME: snprintf(name, sizeof name, "%s", (char*)RTA_DATA(a)); break;
      case IFLA_MTU: mtu = *(unsigned*)RTA_DATA(a); break;
      case IFLA_TXQLEN: txq = *(unsigned*)RTA_DATA(a); break;
      case IFLA_OPERSTATE: oper = *(unsigned char*)RTA_DATA(a); break;
      case IFLA_CARRIER: carrier = *(unsigned char*)RTA_DATA(a); break;
      case IFLA_ADDRESS: mac_text(mac, RTA_DATA(a)); break;
    }
  }
  flag_names(flags, ifi->ifi_flags);
  printf("  link %d %s type %d <%s> mtu %u txqlen %u oper %d carrier %d addr %s\n", ifi->ifi_index, name,
         ifi->ifi_type, flags, mtu, txq, oper, carrier, mac);
}

static void print_addr(struct nlmsghdr* h) {
  struct ifaddrmsg* ifa = NLMSG_DATA(h);
  char addr[INET6_ADDRSTRLEN] = "?", brd[INET_ADDRSTRLEN] = "-", label[32] = "-";
  int len = IFA_PAYLOAD(h);
  for (struct rtattr* a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFA_ADDRESS) inet_ntop(ifa->ifa_family, RTA_DATA(a), addr, sizeof addr);
    if (a->rta_type == IFA_BROADCAST) inet_ntop(AF_INET, RTA_DATA(a), brd, sizeof brd);
    if (a->rta_type == IFA_LABEL) snprintf(label, sizeof label, "%s", (char*)RTA_DATA(a));
  }
  // (Without IFA_F_TENTATIVE: whether duplicate address detection is over depends on timing.)
  printf("  addr if %d %s/%d brd %s scope %d flags 0x%x label %s\n", ifa->ifa_index, addr, ifa->ifa_prefixlen, brd,
         ifa->ifa_scope, ifa->ifa_flags & ~IFA_F_TENTATIVE, label);
}

static void print_route(struct nlmsghdr* h) {
  struct rtmsg* rt = NLMSG_DATA(h);
  char dst[INET_ADDRSTRLEN] = "default", gw[INET_ADDRSTRLEN] = "-", src[INET_ADDRSTRLEN] = "-";
  int oif = 0;
  unsigned table = rt->rtm_table;
  int len = RTM_PAYLOAD(h);
  for (struct rtattr* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == RTA_DST) inet_ntop(AF_INET, RTA_DATA(a), dst, sizeof dst);
    if (a->rta_type == RTA_GATEWAY) inet_ntop(AF_INET, RTA_DATA(a), gw, sizeof gw);
    if (a->rta_type == RTA_PREFSRC) inet_ntop(AF_INET, RTA_DATA(a), src, sizeof src);
    if (a->rta_type == RTA_OIF) oif = *(int*)RTA_DATA(a);
    if (a->rta_type == RTA_TABLE) table = *(unsigned*)RTA_DATA(a);
  }
  printf("  route %s/%d via %s dev %d src %s table %u proto %d scope %d type %d\n", dst, rt->rtm_dst_len, gw, oif, src,
         table, rt->rtm_protocol, rt->rtm_scope, rt->rtm_type);
}

static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct sockaddr_nl a = {.nl_family = AF_NETLINK};
  bind(fd, (struct sockaddr*)&a, sizeof a);
  return fd;
}

static int nl_dump(int fd, int type, int family, void (*print)(struct nlmsghdr*)) {
  struct nl_req r;
  init_req(&r, type, NLM_F_DUMP, sizeof(struct rtgenmsg));
  r.gen.rtgen_family = family;
  nl_send(fd, &r);
  return nl_wait(fd, r.h.nlmsg_seq, print);
}

static int nl_addr(int fd, int type, int flags, int index, const char* addr, int prefix) {
  struct nl_req r;
  init_req(&r, type, flags, sizeof(struct ifaddrmsg));
  r.ifa.ifa_family = AF_INET;
  r.ifa.ifa_prefixlen = prefix;
  r.ifa.ifa_index = index;
  uint32_t a;
  inet_pton(AF_INET, addr, &a);
  add_attr(&r, IFA_LOCAL, &a, 4);
  add_attr(&r, IFA_ADDRESS, &a, 4);
  nl_send(fd, &r);
  return nl_wait(fd, r.h.nlmsg_seq, NULL);
}

static int nl_route(int fd, int type, int flags, const char* dst, int prefix, const char* gw, int oif) {
  struct nl_req r;
  init_req(&r, type, flags, sizeof(struct rtmsg));
  r.rt.rtm_family = AF_INET;
  r.rt.rtm_dst_len = prefix;
  r.rt.rtm_table = RT_TABLE_MAIN;
  if (type == RTM_NEWROUTE) {
    r.rt.rtm_protocol = RTPROT_BOOT;
    r.rt.rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    r.rt.rtm_type = RTN_UNICAST;
  } else {
    r.rt.rtm_scope = RT_SCOPE_NOWHERE;
  }
  uint32_t a;
  if (dst) {
    inet_pton(AF_INET, dst, &a);
    add_attr(&r, RTA_DST, &a, 4);
  }
  if (gw) {
    inet_pton(AF_INET, gw, &a);
    add_attr(&r, RTA_GATEWAY, &a, 4);
  }
  if (oif) add_attr(&r, RTA_OIF, &oif, 4);
  nl_send(fd, &r);
  return nl_wait(fd, r.h.nlmsg_seq, NULL);
}

static void user_netlink(void) {
  int fd = nl_open();
  printf("user: link dump: %s\n", nl_result(nl_dump(fd, RTM_GETLINK, AF_UNSPEC, NULL)));
  printf("user: newaddr: %s\n", nl_result(nl_addr(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 2, "10.0.0.7", 24)));
  struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = 12345};
  show("user: sendto a user port", sendto(fd, "x", 1, 0, (struct sockaddr*)&to, sizeof to));
  close(fd);
}

static void part_netlink(void) {
  printf("== netlink\n");
  show("socket NETLINK_ROUTE SOCK_DGRAM", socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE) >= 0 ? 0 : -1);
  show("socket SOCK_STREAM", socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE));
  show("socket NETLINK_GENERIC", socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC));
  show("socket protocol 40", socket(AF_NETLINK, SOCK_RAW, 40));

  int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  struct sockaddr_nl a;
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr*)&a, &al);
  printf("unbound: family %d pid %u len %u\n", a.nl_family, a.nl_pid, al);
  memset(&a, 0, sizeof a);
  a.nl_family = AF_NETLINK;
  show("bind short", bind(fd, (struct sockaddr*)&a, 8));
  show("bind pid 0", bind(fd, (struct sockaddr*)&a, sizeof a));
  al = sizeof a;
  getsockname(fd, (struct sockaddr*)&a, &al);
  fact("bound to our pid", a.nl_pid == (uint32_t)getpid());
  uint32_t mine = a.nl_pid;
  a.nl_pid = mine + 1;
  show("rebind to another pid", bind(fd, (struct sockaddr*)&a, sizeof a));
  int fd2 = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  a.nl_pid = mine;
  show("bind a second socket to our pid", bind(fd2, (struct sockaddr*)&a, sizeof a));
  a.nl_pid = 0;
  bind(fd2, (struct sockaddr*)&a, sizeof a);
  al = sizeof a;
  getsockname(fd2, (struct sockaddr*)&a, &al);
  printf("second socket's pid: %d\n", (int)a.nl_pid);
  uint32_t second = a.nl_pid;

  struct pollfd p = {fd, POLLIN, 0};
  show("poll before a request", poll(&p, 1, 0));
  printf("links: %s\n", nl_result(nl_dump(fd, RTM_GETLINK, AF_PACKET, print_link)));

  // One request, read in pieces: MSG_PEEK|MSG_TRUNC sizes it, a small buffer truncates it.
  struct nl_req r;
  init_req(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  r.ifi.ifi_index = 2;
  nl_send(fd, &r);
  show("poll after a request", poll(&p, 1, 0));
  char small[16];
  ssize_t full = recv(fd, small, sizeof small, MSG_PEEK | MSG_TRUNC);
  ssize_t again = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
  fact("MSG_PEEK|MSG_TRUNC gives the full length twice", full > 16 && again == full);
  struct iovec iov = {small, sizeof small};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t got = recvmsg(fd, &m, 0);
  fact("a 16-byte read is cut with MSG_TRUNC", got == 16 && (m.msg_flags & MSG_TRUNC));
  fact("and the rest is gone", recv(fd, small, sizeof small, MSG_DONTWAIT) < 0 && errno == EAGAIN);

  init_req(&r, RTM_GETLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
  char name[] = "lo";
  add_attr(&r, IFLA_IFNAME, name, sizeof name);
  nl_send(fd, &r);
  printf("getlink lo: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, print_link)));
  printf("  then: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));
  init_req(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  r.ifi.ifi_index = 9;
  nl_send(fd, &r);
  printf("getlink 9: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));
  init_req(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  nl_send(fd, &r);
  printf("getlink without index or name: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));

  // Errors carry the request; NETLINK_CAP_ACK leaves it out.
  static char buf[8192];
  init_req(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  r.ifi.ifi_index = 9;
  nl_send(fd, &r);
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  struct nlmsghdr* h = (struct nlmsghdr*)buf;
  struct nlmsgerr* e = NLMSG_DATA(h);
  printf("error message: len %zd type %d error %s seq ok %d echo len %u\n", n, h->nlmsg_type, err_name(-e->error),
         e->msg.nlmsg_seq == r.h.nlmsg_seq, e->msg.nlmsg_len);
  int one = 1;
  show("NETLINK_CAP_ACK", setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one));
  nl_send(fd, &r);
  n = recv(fd, buf, sizeof buf, 0);
  printf("capped error message: len %zd flags 0x%x\n", n, h->nlmsg_flags);
  int zero = 0;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &zero, sizeof zero);

  // Two requests in one datagram, one not a request (no answer), unknown types.
  struct nl_req two[2];
  init_req(&two[0], RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  two[0].ifi.ifi_index = 1;
  init_req(&two[1], RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  two[1].ifi.ifi_index = 2;
  memmove((char*)&two[0] + two[0].h.nlmsg_len, &two[1], two[1].h.nlmsg_len);
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  sendto(fd, &two[0], two[0].h.nlmsg_len * 2, 0, (struct sockaddr*)&k, sizeof k);
  printf("two in one, first: %s\n", nl_result(nl_wait(fd, two[0].h.nlmsg_seq, print_link)));
  printf("two in one, second: %s\n", nl_result(nl_wait(fd, two[1].h.nlmsg_seq, print_link)));
  init_req(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
  r.h.nlmsg_flags = 0;
  nl_send(fd, &r);
  show("no NLM_F_REQUEST: nothing comes back", poll(&p, 1, 0));
  init_req(&r, RTM_GETQDISC, NLM_F_DUMP, sizeof(struct rtgenmsg));
  nl_send(fd, &r);
  printf("qdisc dump: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));
  init_req(&r, 200, 0, sizeof(struct rtgenmsg));
  nl_send(fd, &r);
  printf("type 200: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));
  init_req(&r, NLMSG_NOOP, NLM_F_ACK, 0);
  nl_send(fd, &r);
  printf("NLMSG_NOOP with NLM_F_ACK: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));

  // Changes: what `ip addr add`, `ip link set up`, `ip route add` send.
  printf("newaddr 10.0.0.2/24: %s\n", nl_result(nl_addr(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 2, "10.0.0.2", 24)));
  printf("newaddr again: %s\n", nl_result(nl_addr(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 2, "10.0.0.2", 24)));
  printf("newaddr 10.0.0.3/24 (a second one): %s\n", nl_result(nl_addr(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 2, "10.0.0.3", 24)));
  printf("newaddr on index 9: %s\n", nl_result(nl_addr(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_ACK, 9, "10.0.0.2", 24)));
  init_req(&r, RTM_NEWLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
  r.ifi.ifi_index = 2;
  r.ifi.ifi_flags = IFF_UP;
  r.ifi.ifi_change = IFF_UP;
  unsigned mtu = 1400;
  add_attr(&r, IFLA_MTU, &mtu, 4);
  nl_send(fd, &r);
  printf("setlink eth0 up mtu 1400: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));
  init_req(&r, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE, sizeof(struct ifinfomsg));
  char dummy[] = "dummy0";
  add_attr(&r, IFLA_IFNAME, dummy, sizeof dummy);
  nl_send(fd, &r);
  printf("newlink dummy0: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));
  printf("links:\n");
  nl_dump(fd, RTM_GETLINK, AF_UNSPEC, print_link);
  printf("addresses: %s\n", nl_result(nl_dump(fd, RTM_GETADDR, AF_UNSPEC, print_addr)));
  printf("IPv4 addresses: %s\n", nl_result(nl_dump(fd, RTM_GETADDR, AF_INET, print_addr)));

  printf("newroute default via 10.0.0.1: %s\n", nl_result(nl_route(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, NULL, 0, "10.0.0.1", 0)));
  printf("newroute default again: %s\n", nl_result(nl_route(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, NULL, 0, "10.0.0.1", 0)));
  printf("newroute 10.0.0.0/24 dev eth0 (connected): %s\n", nl_result(nl_route(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, "10.0.0.0", 24, NULL, 2)));
  printf("newroute 10.5.0.0/16 via 10.0.0.1: %s\n", nl_result(nl_route(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, "10.5.0.0", 16, "10.0.0.1", 0)));
  printf("newroute 10.0.0.1/24 (bad prefix): %s\n", nl_result(nl_route(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_ACK, "10.0.0.1", 24, NULL, 2)));
  printf("routes: %s\n", nl_result(nl_dump(fd, RTM_GETROUTE, AF_INET, print_route)));
  init_req(&r, RTM_GETROUTE, 0, sizeof(struct rtmsg));
  r.rt.rtm_family = AF_INET;
  uint32_t dst;
  inet_pton(AF_INET, "192.0.2.7", &dst);
  add_attr(&r, RTA_DST, &dst, 4);
  nl_send(fd, &r);
  printf("route get 192.0.2.7: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, print_route)));
  cat("/proc/net/route");
  as_user(user_netlink);
  printf("delroute default: %s\n", nl_result(nl_route(fd, RTM_DELROUTE, NLM_F_ACK, NULL, 0, NULL, 0)));
  printf("delroute default again: %s\n", nl_result(nl_route(fd, RTM_DELROUTE, NLM_F_ACK, NULL, 0, NULL, 0)));
  printf("deladdr 10.0.0.2/24: %s\n", nl_result(nl_addr(fd, RTM_DELADDR, NLM_F_ACK, 2, "10.0.0.2", 24)));
  printf("deladdr again: %s\n", nl_result(nl_addr(fd, RTM_DELADDR, NLM_F_ACK, 2, "10.0.0.2", 24)));
  init_req(&r, RTM_NEWLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
  r.ifi.ifi_index = 2;
  r.ifi.ifi_change = IFF_UP;
  mtu = 1500;
  add_attr(&r, IFLA_MTU, &mtu, 4);
  nl_send(fd, &r);
  printf("setlink eth0 down mtu 1500: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));

  // Groups, and messages between user ports (root only for rtnetlink).
  int g = RTNLGRP_LINK;
  show("add membership RTNLGRP_LINK", setsockopt(fd2, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g));
  g = 0;
  show("add membership 0", setsockopt(fd2, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g));
  uint32_t groups[4] = {0};
  socklen_t gl = sizeof groups;
  getsockopt(fd2, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &gl);
  printf("memberships: 0x%x\n", groups[0]);
  struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = second};
  show("sendto the second socket", sendto(fd, "hello", 5, 0, (struct sockaddr*)&to, sizeof to));
  struct sockaddr_nl from;
  socklen_t fl = sizeof from;
  n = recvfrom(fd2, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr*)&from, &fl);
  printf("second got: %zd \"%.*s\" from ours: %d\n", n, (int)(n > 0 ? n : 0), buf, from.nl_pid == mine);
  to.nl_pid = 0;
  to.nl_groups = 1u << (RTNLGRP_LINK - 1);
  init_req(&r, RTM_GETLINK, 0, sizeof(struct ifinfomsg));  // to the group and to the kernel
  r.ifi.ifi_index = 1;
  show("sendto group RTNLGRP_LINK", sendto(fd, &r, r.h.nlmsg_len, 0, (struct sockaddr*)&to, sizeof to));
  n = recvfrom(fd2, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr*)&from, &fl);
  printf("member got: %zd groups 0x%x\n", n, from.nl_groups);
  printf("and the kernel answered: %s\n", nl_result(nl_wait(fd, r.h.nlmsg_seq, NULL)));
  to.nl_groups = 0;
  to.nl_pid = 777777;
  show("sendto an unbound port", sendto(fd, "x", 1, 0, (struct sockaddr*)&to, sizeof to));
  show("shutdown", shutdown(fd, SHUT_RDWR));
  close(fd2);
  close(fd);
}

// ------------------------------------------------------------------------------------------
// packet: what udhcpc and tcpdump-like readers do, on lo

// Reads what is queued now, printing each UDP or ARP frame with its sockaddr_ll (others, such
// as ICMP errors a peer may send, are skipped); `hdr` is where the network header starts (14
// for SOCK_RAW, 0 for SOCK_DGRAM).
static int drain(int fd, const char* who, int hdr) {
  unsigned char buf[2048];
  int count = 0;
  for (;;) {
    struct sockaddr_ll from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr*)&from, &fl);
    if (n < 0) break;
    const unsigned char* ip = buf + hdr;
    int udp = from.sll_protocol == htons(ETH_P_IP) && n >= hdr + 28 && (ip[0] >> 4) == 4 && ip[9] == 17;
    int arp = from.sll_protocol == htons(ETH_P_ARP) && n >= hdr + 28;
    if (!udp && !arp) continue;
    count++;
    printf("  %s: len %zd namelen %u proto 0x%04x if %d hatype %d pkttype %d halen %d", who, n, fl,
           ntohs(from.sll_protocol), from.sll_ifindex, from.sll_hatype, from.sll_pkttype, from.sll_halen);
    if (udp) {
      int ihl = (ip[0] & 15) * 4;
      printf(" udp dport %d", ip[ihl + 2] << 8 | ip[ihl + 3]);
      const unsigned char* data = ip + ihl + 8;
      int dlen = (int)(n - hdr - ihl - 8), text = dlen > 0;
      for (int i = 0; i < dlen; i++) text &= data[i] >= 32 && data[i] < 127;
      if (text) printf(" \"%.*s\"", dlen, data);
    } else {
      printf(" arp op %d target %d.%d.%d.%d", ip[7], ip[24], ip[25], ip[26], ip[27]);
    }
    if (hdr) {  // the link header's destination
      char mac[32];
      mac_text(mac, buf);
      printf(" to %s", mac);
    }
    printf("\n");
  }
  return count;
}

static int tx = -1;  // a packet socket that receives nothing (protocol 0), for sending on lo

// Sends an IPv4/UDP frame to 127.0.0.1:port over lo, as a raw Ethernet frame.
static int send_lo(int port, const char* data) {
  unsigned char frame[256] = {0};
  size_t len = strlen(data);
  frame[12] = 0x08;
  unsigned char* ip = frame + 14;
  ip[0] = 0x45;
  ip[2] = (28 + len) >> 8, ip[3] = (28 + len) & 0xff;
  ip[8] = 64;
  ip[9] = 17;
  ip[12] = 127, ip[15] = 1, ip[16] = 127, ip[19] = 1;
  unsigned sum = 0;
  for (int i = 0; i < 20; i += 2) sum += ip[i] << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = ~sum >> 8, ip[11] = ~sum & 0xff;
  ip[20] = 4000 >> 8, ip[21] = 4000 & 0xff, ip[22] = port >> 8, ip[23] = port & 0xff;
  ip[24] = (8 + len) >> 8, ip[25] = (8 + len) & 0xff;
  memcpy(ip + 28, data, len);
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = 1};
  return sendto(tx, frame, 14 + 28 + len, 0, (struct sockaddr*)&to, sizeof to);
}

static int attach(int fd, struct sock_filter* f, int len) {
  struct sock_fprog prog = {(unsigned short)len, f};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

// What `tcpdump ip` attaches: IPv4 frames only (skb->protocol through an ancillary load).
// (lwIP sends IPv6 router solicitations on its own schedule; they must not change the output.)
static struct sock_filter ipv4_only[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

static void user_packet(void) {
  show("user: socket AF_PACKET", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
}

static void part_packet(void) {
  printf("== packet\n");
  as_user(user_packet);
  show("socket SOCK_STREAM", socket(AF_PACKET, SOCK_STREAM, htons(ETH_P_ALL)));
  int raw = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = 99};
  show("bind ifindex 99", bind(raw, (struct sockaddr*)&ll, sizeof ll));
  show("bind short", bind(raw, (struct sockaddr*)&ll, 8));
  ll.sll_ifindex = 1;
  show("bind lo", bind(raw, (struct sockaddr*)&ll, sizeof ll));
  show("attach an IPv4-only filter", attach(raw, ipv4_only, 4));
  struct sockaddr_ll me;
  socklen_t ml = sizeof me;
  getsockname(raw, (struct sockaddr*)&me, &ml);
  printf("sockname: len %u proto 0x%04x if %d hatype %d halen %d\n", ml, ntohs(me.sll_protocol), me.sll_ifindex,
         me.sll_hatype, me.sll_halen);
  show("getpeername", getpeername(raw, (struct sockaddr*)&me, &ml));
  show("connect", connect(raw, (struct sockaddr*)&ll, sizeof ll));

  // A tcpdump-like reader on lo sees a UDP datagram leave and arrive. (A listener takes the
  // datagrams, so that lwIP answers nothing.)
  int sink = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9999)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(sink, (struct sockaddr*)&sin, sizeof sin);
  sin.sin_port = htons(9998);
  int sink2 = socket(AF_INET, SOCK_DGRAM, 0);
  bind(sink2, (struct sockaddr*)&sin, sizeof sin);
  tx = socket(AF_PACKET, SOCK_RAW, 0);
  int dgram = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
  struct pollfd p = {raw, POLLIN, 0};
  show("poll before", poll(&p, 1, 0));
  show("frame to 127.0.0.1:9999", send_lo(9999, "hello"));
  show("poll after", poll(&p, 1, 0));
  int next;
  ioctl(raw, FIONREAD, &next);
  printf("FIONREAD: %d\n", next);
  printf("raw ETH_P_ALL on lo: %d frames\n", drain(raw, "raw", 14));
  printf("dgram ETH_P_IP (all interfaces): %d frames\n", drain(dgram, "dgram", 0));

  // udhcpc's kind of filter: IPv4 UDP to port 9999 only, cut to 40 bytes.
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),                    // IP protocol (SOCK_DGRAM: at the IP header)
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 4),
      BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),                   // X = IP header length
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),                    // UDP destination port
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 9999, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 30),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  show("attach filter", attach(dgram, f, sizeof f / sizeof f[0]));
  send_lo(9998, "other port");
  send_lo(9999, "hello again");
  printf("filtered dgram: %d frames\n", drain(dgram, "dgram", 0));
  // The same filter with a memory cell and SKF_NET_OFF/ancillary loads, on the raw socket:
  // only incoming (not PACKET_OUTGOING) UDP frames, whole.
  struct sock_filter g[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 4, 0),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 9),
      BPF_STMT(BPF_ST, 3),
      BPF_STMT(BPF_LD | BPF_MEM, 3),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffff),
  };
  show("attach filter (raw)", attach(raw, g, sizeof g / sizeof g[0]));
  send_lo(9999, "third");
  printf("filtered raw: %d frames\n", drain(raw, "raw", 14));
  show("detach", setsockopt(raw, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0));
  show("detach again", setsockopt(raw, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0));
  attach(raw, ipv4_only, 4);

  // Programs Linux refuses.
  struct sock_filter bad_jump[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
  struct sock_filter no_ret[] = {BPF_STMT(BPF_LD | BPF_IMM, 1)};
  struct sock_filter unset_mem[] = {BPF_STMT(BPF_LD | BPF_MEM, 2), BPF_STMT(BPF_RET | BPF_A, 0)};
  struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_A, 0)};
  struct sock_filter bad_anc[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + 1000), BPF_STMT(BPF_RET | BPF_A, 0)};
  struct sock_filter bad_op[] = {{0xff, 0, 0, 0}, BPF_STMT(BPF_RET | BPF_A, 0)};
  show("attach: jump past the end", attach(raw, bad_jump, 2));
  show("attach: no RET", attach(raw, no_ret, 1));
  show("attach: memory read before write", attach(raw, unset_mem, 2));
  show("attach: division by constant 0", attach(raw, div0, 2));
  show("attach: unknown ancillary load", attach(raw, bad_anc, 2));
  show("attach: unknown opcode", attach(raw, bad_op, 2));
  show("attach: empty", attach(raw, f, 0));
  show("attach: NULL program", attach(raw, NULL, 1));
  struct sock_fprog prog = {1, (struct sock_filter*)8};
  show("attach: bad pointer", setsockopt(raw, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog));
  show("attach: short option", setsockopt(raw, SOL_SOCKET, SO_ATTACH_FILTER, &prog, 8));
  show("attach ok", attach(dgram, f, sizeof f / sizeof f[0]));
  int one = 1;
  show("lock filter", setsockopt(dgram, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof one));
  show("attach while locked", attach(dgram, f, sizeof f / sizeof f[0]));
  show("detach while locked", setsockopt(dgram, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0));

  // Sending: a raw frame on lo, made by hand. The sender sees it come back in, not go out;
  // another ETH_P_ALL socket sees both.
  int other = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  attach(other, ipv4_only, 4);
  bind(other, (struct sockaddr*)&ll, sizeof ll);
  unsigned char frame[14 + 28 + 4] = {0};
  frame[12] = 0x08;
  unsigned char* ip = frame + 14;
  ip[0] = 0x45;
  ip[3] = sizeof frame - 14;
  ip[8] = 64;
  ip[9] = 17;
  ip[12] = 127, ip[15] = 1, ip[16] = 127, ip[19] = 1;
  unsigned sum = 0;
  for (int i = 0; i < 20; i += 2) sum += ip[i] << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = ~sum >> 8, ip[11] = ~sum & 0xff;
  ip[21] = 7, ip[23] = 9999 & 0xff, ip[22] = 9999 >> 8, ip[25] = 12;
  memcpy(ip + 28, "raw!", 4);
  show("send a raw frame on lo", send(raw, frame, sizeof frame, 0));
  printf("sender: %d frames\n", drain(raw, "raw", 14));
  printf("other: %d frames\n", drain(other, "other", 14));
  show("send 10 bytes (shorter than a header)", send(raw, frame, 10, 0));
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = 1, .sll_halen = 6};
  show("SOCK_DGRAM sendto lo", sendto(dgram, ip, sizeof frame - 14, 0, (struct sockaddr*)&to, sizeof to));
  printf("other: %d frames\n", drain(other, "other", 14));
  show("SOCK_DGRAM send without an address", send(dgram, ip, sizeof frame - 14, 0));
  to.sll_ifindex = 2;
  show("SOCK_DGRAM sendto eth0 (down)", sendto(dgram, ip, sizeof frame - 14, 0, (struct sockaddr*)&to, sizeof to));
  to.sll_ifindex = 99;
  show("SOCK_DGRAM sendto ifindex 99", sendto(dgram, ip, sizeof frame - 14, 0, (struct sockaddr*)&to, sizeof to));
  char big[70000];
  memset(big, 0, sizeof big);
  show("send 70000 bytes on lo", send(raw, big, sizeof big, 0));
  drain(raw, "raw", 14);
  drain(other, "other", 14);

  struct tpacket_stats st;
  socklen_t sl = sizeof st;
  getsockopt(other, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  printf("statistics: packets %u drops %u\n", st.tp_packets, st.tp_drops);
  getsockopt(other, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  printf("statistics again: packets %u drops %u\n", st.tp_packets, st.tp_drops);
  show("PACKET_AUXDATA", setsockopt(other, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one));
  struct packet_mreq mr = {.mr_ifindex = 1, .mr_type = PACKET_MR_ALLMULTI};
  show("add membership allmulti", setsockopt(other, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr));
  show("drop membership allmulti", setsockopt(other, SOL_PACKET, PACKET_DROP_MEMBERSHIP, &mr, sizeof mr));
  show("drop membership again", setsockopt(other, SOL_PACKET, PACKET_DROP_MEMBERSHIP, &mr, sizeof mr));
  mr.mr_type = PACKET_MR_PROMISC;
  show("add membership promisc", setsockopt(other, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr));
  show("PACKET_IGNORE_OUTGOING", setsockopt(other, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one));
  send_lo(9999, "in only");
  printf("other, ignoring outgoing: %d frames\n", drain(other, "other", 14));
  char tiny[8];
  show("recv MSG_WAITALL", recv(other, tiny, sizeof tiny, MSG_WAITALL | MSG_DONTWAIT));
  send_lo(9999, "truncated");
  struct iovec iov = {tiny, sizeof tiny};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t n = recvmsg(other, &m, MSG_DONTWAIT);
  printf("8-byte read: %zd truncated %d\n", n, !!(m.msg_flags & MSG_TRUNC));
  n = recv(other, tiny, sizeof tiny, MSG_DONTWAIT | MSG_TRUNC);
  fact("MSG_TRUNC queue was drained", n < 0 && errno == EAGAIN);
  struct ifreq ifr;
  strcpy(ifr.ifr_name, "lo");
  show("SIOCGIFINDEX on a packet socket", ioctl(other, SIOCGIFINDEX, &ifr) < 0 ? -1 : ifr.ifr_ifindex);
  close(other);
  close(dgram);
  close(raw);
  close(tx);
  close(sink);
  close(sink2);
}

// ------------------------------------------------------------------------------------------
// eth: a NIC behind slirp (eth0=slirp,02:00:00:00:00:01): ARP seen by packet sockets, and a
// DHCP exchange done the way udhcpc does it (SOCK_DGRAM, a BPF filter, broadcast sendto).

static void part_eth(void) {
  printf("== eth\n");
  ctl = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr;
  ifr_call(SIOCGIFFLAGS, "eth0", &ifr);
  ifr.ifr_flags |= IFF_UP;
  show("eth0 up", ifr_call(SIOCSIFFLAGS, "eth0", &ifr));
  int raw = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = 2};
  show("bind raw to eth0", bind(raw, (struct sockaddr*)&ll, sizeof ll));
  int arp = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));

  // DHCPDISCOVER from 0.0.0.0:68 to 255.255.255.255:67, by hand.
  int dhcp = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
  ll.sll_protocol = htons(ETH_P_IP);
  bind(dhcp, (struct sockaddr*)&ll, sizeof ll);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 4),
      BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 68, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  show("attach the DHCP filter", attach(dhcp, f, sizeof f / sizeof f[0]));
  unsigned char pkt[28 + 300] = {0};
  unsigned char* ip = pkt;
  unsigned char* b = pkt + 28;  // BOOTP
  b[0] = 1, b[1] = 1, b[2] = 6;
  b[4] = 0x12, b[5] = 0x34, b[6] = 0x56, b[7] = 0x78;  // xid
  b[10] = 0x80;                                       // broadcast flag
  unsigned char mac[6] = {2, 0, 0, 0, 0, 1};
  memcpy(b + 28, mac, 6);
  unsigned char* o = b + 236;
  o[0] = 99, o[1] = 130, o[2] = 83, o[3] = 99;  // magic cookie
  o[4] = 53, o[5] = 1, o[6] = 1;                // DHCPDISCOVER
  o[7] = 255;
  size_t blen = 236 + 8;
  size_t len = 28 + blen;
  ip[0] = 0x45, ip[2] = len >> 8, ip[3] = len & 0xff, ip[8] = 64, ip[9] = 17;
  memset(ip + 16, 0xff, 4);
  unsigned sum = 0;
  for (int i = 0; i < 20; i += 2) sum += ip[i] << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = ~sum >> 8, ip[11] = ~sum & 0xff;
  ip[21] = 68, ip[23] = 67, ip[24] = (8 + blen) >> 8, ip[25] = (8 + blen) & 0xff;
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = 2, .sll_halen = 6};
  memset(to.sll_addr, 0xff, 6);
  show("send DHCPDISCOVER", sendto(dhcp, pkt, len, 0, (struct sockaddr*)&to, sizeof to));
  struct pollfd p = {dhcp, POLLIN, 0};
  show("offer arrives", poll(&p, 1, 5000));
  unsigned char in[1500];
  struct sockaddr_ll from;
  socklen_t fl = sizeof from;
  ssize_t n = recvfrom(dhcp, in, sizeof in, MSG_DONTWAIT, (struct sockaddr*)&from, &fl);
  if (n >= 28 + 240) {
    unsigned char* r = in + (in[0] & 15) * 4 + 8;
    char m[32];
    mac_text(m, from.sll_addr);
    printf("offer: op %d xid ok %d yiaddr %d.%d.%d.%d from %s pkttype %d\n", r[0], memcmp(r + 4, b + 4, 4) == 0,
           r[16], r[17], r[18], r[19], m, from.sll_pkttype);
  } else {
    show("offer", n);
  }
  printf("raw on eth0:\n");
  drain(raw, "raw", 14);

  // ARP: a datagram to the gateway needs its address first.
  show("set addr eth0 10.0.2.15", set_inet(SIOCSIFADDR, "eth0", "10.0.2.15"));
  set_inet(SIOCSIFNETMASK, "eth0", "255.255.255.0");
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in gw = {.sin_family = AF_INET, .sin_port = htons(9)};
  inet_pton(AF_INET, "10.0.2.2", &gw.sin_addr);
  show("udp to 10.0.2.2:9", sendto(u, "discard", 7, 0, (struct sockaddr*)&gw, sizeof gw));
  p.fd = arp;
  show("ARP reply arrives", poll(&p, 1, 5000));
  usleep(200000);
  printf("raw on eth0:\n");
  drain(raw, "raw", 14);
  printf("ETH_P_ARP, all interfaces:\n");
  drain(arp, "arp", 0);
  cat("/proc/net/arp");
  close(u);
  close(dhcp);
  close(arp);
  close(raw);
  close(ctl);
}

// ------------------------------------------------------------------------------------------

static void part_proc(void) {
  printf("== proc\n");
  char target[64] = {0};
  ssize_t n = readlink("/proc/net", target, sizeof target - 1);
  printf("/proc/net -> %s\n", n > 0 ? target : strerrorname_np(errno));
  struct stat a, b;
  fact("/proc/self/net is a directory", stat("/proc/self/net", &a) == 0 && S_ISDIR(a.st_mode));
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/net/dev", getpid());
  fact("/proc/PID/net/dev exists", stat(path, &b) == 0 && S_ISREG(b.st_mode));
  cat("/proc/net/dev");
  cat("/proc/net/route");
  // /proc/net/if_inet6 as it is, but for the tentative flag (0x40), which depends on timing.
  FILE* f6 = fopen("/proc/net/if_inet6", "r");
  char a6[64], dev6[32];
  unsigned idx, plen, scope, flags6;
  printf("--- /proc/net/if_inet6 (flags without 0x40)\n");
  while (f6 && fscanf(f6, "%63s %x %x %x %x %31s", a6, &idx, &plen, &scope, &flags6, dev6) == 6)
    printf("%s %02x %02x %02x %02x %8s\n", a6, idx, plen, scope, flags6 & ~0x40u, dev6);
  if (f6) fclose(f6);
  cat("/proc/net/unix");
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(l, (struct sockaddr*)&sin, sizeof sin);
  listen(l, 5);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  sin.sin_port = htons(5353);
  sin.sin_addr.s_addr = 0;
  bind(u, (struct sockaddr*)&sin, sizeof sin);
  cat("/proc/net/tcp");
  cat("/proc/net/udp");
  close(l);
  close(u);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  mkdir("/proc", 0555);
  mount("proc", "/proc", "proc", 0, NULL);  // as init it is not mounted yet
  const char* parts[] = {"ioctl", "netlink", "packet", "proc", "eth"};
  for (size_t i = 0; i < 5; i++) {
    int run = argc < 2;
    for (int j = 1; j < argc; j++) run |= strcmp(argv[j], parts[i]) == 0;
    if (!run) continue;
    if (i == 0) part_ioctl();
    if (i == 1) part_netlink();
    if (i == 2) part_packet();
    if (i == 3) part_proc();
    if (i == 4) part_eth();
  }
  return 0;
}
