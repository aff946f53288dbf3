// What a VM is started with: disks, NICs, consoles, memory, init (boot/cmdline.* parses it from
// the UML-style command line).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace um::kernel {

struct DiskSpec {
  int index = 0;             // ubdN
  std::string file;          // image or COW file
  std::string backing;       // backing file for a COW ("ubd0=cow,backing")
  bool read_only = false;    // 'r' flag
  bool sync = false;         // 's' flag
  bool no_cow = false;       // 'd' flag
  bool shared = false;       // 'c' flag: no host locking
};

// One NIC of the command line, in UML's syntax:
//   ethN=daemon,MAC,unix,CTLPATH            a uml_switch-compatible switch
//   ethN=slirp[,MAC][,hostfwd=...]           the built-in NAT router
//   ethN=vde,SOCKET[,MAC[,PORT[,GROUP[,MODE[,DESCR]]]]]   a VDE switch (libvdeplug)
//   ethN=mcast[,MAC[,ADDR[,PORT[,TTL]]]]     a LAN over host UDP multicast
//   ethN=tuntap,TAP[,MAC[,GATE]]             an existing host tap device
struct NicSpec {
  int index = 0;                     // ethN
  std::string transport;             // "daemon", "slirp", "vde", "mcast" or "tuntap"
  std::string mac;                   // "aa:bb:cc:dd:ee:ff" or empty: derived from the umid
  std::string ctl_path;              // daemon: the switch's control socket
  std::vector<std::string> hostfwd;  // slirp: tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
  bool restricted = false;            // slirp restrict=on: no way out but the hostfwd forwards
  std::string vde_socket;            // vde: a vde_switch socket or a libvdeplug URL (vxvde://...)
  int vde_port = 0;                  // vde: the switch port to take (0: any)
  std::string vde_group;             // vde: the group to give the port to
  unsigned vde_mode = 0;             // vde: the port's permissions (octal; 0: the switch's)
  std::string vde_descr;             // vde: shown in the switch's port list
  std::string mcast_addr = "239.192.168.1";  // mcast: UML's defaults
  int mcast_port = 1102;
  int mcast_ttl = 1;
  std::string tap;                   // tuntap: the host's tap device
};

// ip=CLIENT:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF (Linux's nfsroot syntax; the
// server is not used). Static configuration only: DHCP is the guest's job (udhcpc).
struct IpSpec {
  std::string addr, gateway, netmask, hostname, device = "eth0";
};

struct ChannelSpec {
  std::string in = "null", out = "null";  // fd:N, null, pty, port:N, file:PATH, socket
};

// hostfs=DIR[,ro|,rw]: a host directory tree the guest may mount (mount -t hostfs); several
// may be given, nothing is reachable without one.
struct HostfsSpec {
  std::string dir;
  bool read_only = false;
};

constexpr int kSerialLines = 4;  // ssl0..ssl3

struct BootConfig {
  std::string cmdline;              // the command line as given (/proc/cmdline)
  std::vector<DiskSpec> disks;
  bool root_ro = false;
  std::string root_dev = "/dev/ubda";
  std::string init;                 // empty: try /sbin/init, /etc/init, /bin/init, /bin/sh
  std::vector<std::string> init_args;
  std::vector<std::string> init_env;
  uint64_t mem = 256ull << 20;
  int tasks_max = 0;                // tasks_max=N: VM-wide cap on tasks; 0 = derived from mem
  std::string umid;
  std::string uml_dir;              // uml_dir=DIR: the run directory root (else $UML_DIR, ~/.uml)
  std::string mconsole_notify;      // mconsole=notify:PATH: where to announce the mconsole socket
  std::map<int, ChannelSpec> consoles;
  std::map<int, ChannelSpec> serials;  // sslN: /dev/ttySN
  bool quiet = false;
  std::string strace;               // "" off, "-" stderr, else a path
  std::string platform;             // platform=ptrace|seccomp|auto ("" = auto: the fastest the host has)
  std::string hostname;
  std::vector<NicSpec> nics;
  bool has_ip = false;
  IpSpec ip;
  std::vector<HostfsSpec> hostfs;
};

}  // namespace um::kernel
