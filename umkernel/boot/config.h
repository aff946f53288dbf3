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

// ethN=daemon,MAC,unix,CTLPATH (a uml_switch-compatible switch) or ethN=slirp[,MAC][,hostfwd=...].
struct NicSpec {
  int index = 0;                     // ethN
  std::string transport;             // "daemon" or "slirp"
  std::string mac;                   // "aa:bb:cc:dd:ee:ff" or empty: derived from the umid
  std::string ctl_path;              // daemon: the switch's control socket
  std::vector<std::string> hostfwd;  // slirp: tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
  bool restricted = false;            // slirp restrict=on: no way out but the hostfwd forwards
};

// ip=CLIENT:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF (Linux's nfsroot syntax; the
// server is not used). Static configuration only: DHCP is the guest's job (udhcpc).
struct IpSpec {
  std::string addr, gateway, netmask, hostname, device = "eth0";
};

struct ChannelSpec {
  std::string in = "null", out = "null";  // fd:N, null, pty, port:N, file:PATH, socket
};

constexpr int kSerialLines = 4;  // ssl0..ssl3

struct BootConfig {
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
  std::string hostname;
  std::vector<NicSpec> nics;
  bool has_ip = false;
  IpSpec ip;
};

}  // namespace um::kernel
