#include "umkernel/boot/cmdline.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "core/cli.h"
#include "core/nat/nat_router.h"
#include "core/rundir.h"

namespace um::kernel {

namespace {

Result<ChannelSpec> parse_channel(const std::string& key, const std::string& spec) {
  auto one = [&](const std::string& s) -> Result<std::string> {
    if (s == "null" || s == "pty" || s == "socket") return s;
    if (s == "pts") return std::string("pty");
    auto number = [&](const std::string& n, const char* what) -> Status {
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 6)
        return Error::make(EINVAL, key + ": bad channel '" + s + "' (" + what + " expects a number)");
      return {};
    };
    if (s.rfind("fd:", 0) == 0) {
      UM_TRY(number(s.substr(3), "fd:N"));
      return s;
    }
    if (s.rfind("port:", 0) == 0) {
      UM_TRY(number(s.substr(5), "port:N"));
      if (std::stoi(s.substr(5)) > 65535) return Error::make(EINVAL, key + ": port " + s.substr(5) + " is out of range");
      return s;
    }
    if (s.rfind("file:", 0) == 0) {
      if (s.size() == 5) return Error::make(EINVAL, key + ": file: needs a path (file:PATH)");
      return s;
    }
    if (s == "xterm" || s.rfind("tty:", 0) == 0)
      return Error::make(ENOTSUP, key + ": channel '" + s + "' is not supported (use fd:N, pty, port:N, file:PATH, socket or null)");
    return Error::make(EINVAL, key + ": unknown channel '" + s + "' (expected fd:N, pty, port:N, file:PATH, socket or null)");
  };
  ChannelSpec c;
  size_t comma = spec.find(',');
  if (comma == std::string::npos) {
    c.in = c.out = UM_TRY(one(spec));
  } else {
    c.in = UM_TRY(one(spec.substr(0, comma)));
    c.out = UM_TRY(one(spec.substr(comma + 1)));
  }
  return c;
}

Result<DiskSpec> parse_disk(const std::string& key, const std::string& value) {
  DiskSpec d;
  // ubd<N><flags>: N is 0-15 or a-p.
  std::string rest = key.substr(3);
  if (rest.empty()) return Error::make(EINVAL, "'" + key + "': missing disk number (ubd0=...)");
  char n = rest[0];
  if (n >= '0' && n <= '9') {
    d.index = n - '0';
    rest = rest.substr(1);
    if (!rest.empty() && rest[0] >= '0' && rest[0] <= '5' && d.index == 1) {
      d.index = 10 + (rest[0] - '0');
      rest = rest.substr(1);
    }
  } else if (n >= 'a' && n <= 'p') {
    d.index = n - 'a';
    rest = rest.substr(1);
  } else {
    return Error::make(EINVAL, "'" + key + "': disk number must be 0-15 or a-p");
  }
  for (char f : rest) {
    switch (f) {
      case 'r': d.read_only = true; break;
      case 's': d.sync = true; break;
      case 'd': d.no_cow = true; break;
      case 'c': d.shared = true; break;
      case 't': break;
      default: return Error::make(EINVAL, "'" + key + "': unknown disk flag '" + std::string(1, f) + "' (flags: r s d c t)");
    }
  }
  if (value.empty()) return Error::make(EINVAL, "'" + key + "=': missing image file");
  size_t sep = value.find_first_of(",:");
  d.file = value.substr(0, sep);
  if (sep != std::string::npos) {
    std::string more = value.substr(sep + 1);
    size_t sep2 = more.find_first_of(",:");
    d.backing = more.substr(0, sep2);
  }
  if (d.no_cow && !d.backing.empty()) return Error::make(EINVAL, "'" + key + "': the d flag cannot be used with a backing file");
  return d;
}

}  // namespace

std::string cmdline_help() {
  return R"HELP(Usage: umkernel ubd0=IMAGE [OPTION=VALUE...] [-- ARGS FOR INIT]

Boots a Linux guest from an ext2/3/4 disk image as an ordinary user process. Guest programs run
natively as host processes; every system call they make is served by umkernel.

Options (UML syntax):
  ubd<N>[flags]=FILE[,BACKING]  disk N (0-15): an image or a COW file with its backing file.
                                flags: r read-only, s synchronous, d never COW, c no host
                                lock. Without c, each disk is locked as UML locks it (a write
                                lock on a writable image or COW file, a read lock on a read-
                                only one and on a COW's backing file): a second VM (umkernel
                                or UML) or umimage writing the same image is refused
  root=/dev/ubdX                the root disk (default /dev/ubda = ubd0)
  MODULE.PARAM=VALUE            for the guest (systemd.unit=..., systemd.log_level=...): kept
                                in /proc/cmdline, as Linux does
  ro | rw                       mount the root file system read-only or read-write (default rw)
  init=PATH                     the first program (default: /sbin/init, /etc/init, /bin/init, /bin/sh)
  mem=SIZE                      guest memory size reported to the guest (default 256M)
  tasks_max=N                   the most tasks (processes and threads) the guest may have at
                                once, root included; past it fork and clone fail with EAGAIN
                                (default: one per 128K of mem, 2048 for 256M; 8..32768).
                                init's RLIMIT_NPROC defaults to half of it, as on Linux
  umid=NAME                     the machine's name (default: a random one); its run directory
                                $UML_DIR/NAME (default ~/.uml/NAME) holds pid, the mconsole
                                socket and console sockets while it runs
  uml_dir=DIR                   the root of run directories (overrides $UML_DIR)
  mconsole=notify:PATH          send the mconsole socket path to the datagram socket PATH at boot
  con=CHAN | con<N>=CHAN        console channels: fd:N, fd:IN,fd:OUT, null, pty (a host
                                pseudo-terminal), port:N (telnet on 127.0.0.1:N), file:PATH
                                (output log), socket (for umconsole attach/send/log), or
                                IN,OUT pairs of those. con0 defaults to fd:0,fd:1 (umkernel's
                                own stdin and stdout), con1..con7 to socket
  ssl=CHAN | ssl<N>=CHAN        serial lines ssl0..ssl3 (/dev/ttyS0..3), same channels;
                                default socket
  eth<N>=daemon,MAC,unix,CTL    NIC ethN (0-15) on a uml_switch-compatible switch (umswitch,
                                uml_switch) whose control socket is CTL; MAC may be empty
                                (then it is derived from the umid)
  eth<N>=slirp[,MAC][,restrict=on|off][,hostfwd=tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT]...
                                NIC ethN behind a built-in NAT router (libslirp): gateway
                                10.0.2.2 (the host's 127.0.0.1), DNS 10.0.2.3, DHCP from
                                10.0.2.15; hostfwd forwards a host port into the guest;
                                restrict=on cuts the guest off from the host and the outside
                                (QEMU's meaning): only hostfwd forwards reach it
  eth<N>=vde,SOCKET[,MAC[,PORT[,GROUP[,MODE[,DESCR]]]]]
                                NIC ethN on a VDE switch (vde_switch's socket directory, or any
                                libvdeplug URL such as vxvde://239.1.2.3); PORT 0 = any, GROUP
                                and MODE (octal) set the port's ownership, DESCR its description
  eth<N>=mcast[,MAC[,ADDR[,PORT[,TTL]]]]
                                NIC ethN on a LAN of VMs over host UDP multicast, no switch
                                process (default 239.192.168.1, port 1102, TTL 1); the host
                                needs a multicast route (its default route, or 224.0.0.0/4)
  eth<N>=tuntap,TAP[,MAC]       NIC ethN on the host's existing tap device TAP (created with
                                `ip tuntap add TAP mode tap user USER`, or with CAP_NET_ADMIN)
  hostfs=DIR[,ro]               let the guest mount the host directory tree DIR (mount -t hostfs
                                none /mnt -o DIR, or a directory below it; several hostfs= may
                                be given, nothing on the host is reachable without one); ro
                                makes it read-only. Symlinks, ".." and renames cannot leave DIR:
                                the guest resolves symlinks in its own tree. Files of the user
                                running umkernel belong to root in the guest, others to 65534
  ip=ADDR::GW:MASK:HOST:DEV     static configuration of DEV (default eth0) at boot, as Linux's
                                ip=; without it NICs stay down until the guest configures them
  hostname=NAME                 the guest's host name (default "(none)", set it with hostname too)
  strace=FILE                   log every guest system call to FILE ("-" for stderr)
  platform=ptrace|seccomp|auto  how guest code runs on the host (default auto: the fastest
                                one this host supports; the boot log names it). ptrace: a
                                ptrace stop per system call; seccomp: a seccomp trap handled
                                through memory shared with umkernel (needs FSGSBASE)
  quiet                         print only errors
  -- ARGS...                    arguments passed to init

Global options (anywhere before --):
  -q, --quiet                   print only errors (as quiet)
  -v, --verbose                 print debugging messages
  --help, --version
  --syscalls [--json]           list every x86-64 system call and how umkernel serves it
                                (full, partial with a note, enosys, not served), then counts

umkernel exits with init's exit status (128+N if init was killed by signal N). SIGTERM, SIGINT
or SIGHUP sent to umkernel halt the machine cleanly (exit status 128+N). While it runs,
`umconsole` and `uml_mconsole` manage it through $UML_DIR/UMID/mconsole (halt, reboot, stop/go,
sysrq, config ubdN=FILE, proc FILE, exec...).
)HELP";
}

Result<BootConfig> parse_cmdline(const std::vector<std::string>& args) {
  BootConfig c;
  c.consoles[0] = ChannelSpec{"fd:0", "fd:1"};
  // As UML's "con=pts": every other console gets a host-side endpoint, here a socket in the
  // run directory for umconsole attach/send/log.
  for (int n = 1; n < 8; n++) c.consoles[n] = ChannelSpec{"socket", "socket"};
  for (int n = 0; n < kSerialLines; n++) c.serials[n] = ChannelSpec{"socket", "socket"};
  bool root_set = false;
  for (const std::string& a : args) c.cmdline += (c.cmdline.empty() ? "" : " ") + a;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      c.init_args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "ro") { c.root_ro = true; continue; }
    if (a == "rw") { c.root_ro = false; continue; }
    if (a == "quiet") { c.quiet = true; continue; }
    if (a == "ssl-non-raw") continue;  // our serial lines have no host-side raw mode to skip
    if (a == "noreboot" || a == "nosysemu" || a == "debug" || a == "single") continue;  // UML words we accept
    size_t eq = a.find('=');
    if (eq == std::string::npos)
      return Error::make(EINVAL, "unknown option '" + a + "' (see --help)");
    std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (key.rfind("ubd", 0) == 0) {
      DiskSpec d = UM_TRY(parse_disk(key, value));
      for (auto& o : c.disks)
        if (o.index == d.index) return Error::make(EINVAL, "disk ubd" + std::to_string(d.index) + " given twice");
      c.disks.push_back(d);
    } else if (key == "mem") {
      auto r = cli::parse_size(value);
      if (!r) return Error::make(EINVAL, "mem=" + value + ": " + r.error().message);
      if (*r < (16ull << 20)) return Error::make(EINVAL, "mem=" + value + ": at least 16M is needed");
      c.mem = *r;
    } else if (key == "tasks_max") {
      char* end = nullptr;
      errno = 0;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end || errno || n < 8 || n > 32768)
        return Error::make(EINVAL, "tasks_max=" + value + ": expected a number of tasks from 8 to 32768");
      c.tasks_max = static_cast<int>(n);
    } else if (key == "init") {
      if (value.empty() || value[0] != '/') return Error::make(EINVAL, "init=" + value + ": must be an absolute path");
      c.init = value;
    } else if (key == "root") {
      if (value.rfind("/dev/ubd", 0) != 0 || value.size() != 9 || value[8] < 'a' || value[8] > 'p')
        return Error::make(EINVAL, "root=" + value + ": expected /dev/ubda../dev/ubdp");
      c.root_dev = value;
      root_set = true;
    } else if (key == "umid") {
      if (auto r = rundir::validate_umid(value); !r) return Error::make(EINVAL, "umid=" + value + ": " + r.error().message);
      c.umid = value;
    } else if (key == "con" || key == "ssl") {
      ChannelSpec ch = UM_TRY(parse_channel(key, value));
      auto& lines = key == "con" ? c.consoles : c.serials;
      for (int n = 0; n < (key == "con" ? 8 : kSerialLines); n++) lines[n] = ch;
    } else if ((key.rfind("con", 0) == 0 || key.rfind("ssl", 0) == 0) && key.size() > 3 &&
               key.size() < 6 && key.find_first_not_of("0123456789", 3) == std::string::npos) {
      int n = std::stoi(key.substr(3));
      bool serial = key[0] == 's';
      if (!serial && n > 7) return Error::make(EINVAL, key + ": consoles are con0..con7");
      if (serial && n >= kSerialLines)
        return Error::make(EINVAL, key + ": serial lines are ssl0..ssl" + std::to_string(kSerialLines - 1));
      (serial ? c.serials : c.consoles)[n] = UM_TRY(parse_channel(key, value));
    } else if (key == "strace") {
      if (value.empty()) return Error::make(EINVAL, "strace= needs a file name or -");
      c.strace = value;
    } else if (key == "platform") {
      if (value != "ptrace" && value != "seccomp" && value != "auto")
        return Error::make(EINVAL, "platform=" + value + ": unknown platform (ptrace, seccomp, auto)");
      c.platform = value;
    } else if (key == "hostname") {
      c.hostname = value;
    } else if (key.rfind("eth", 0) == 0 && key.size() > 3 && key.size() < 6 &&
               key.find_first_not_of("0123456789", 3) == std::string::npos) {
      int n = std::stoi(key.substr(3));
      if (n > 15) return Error::make(EINVAL, key + ": NICs are eth0..eth15");
      for (auto& o : c.nics)
        if (o.index == n) return Error::make(EINVAL, key + " given twice");
      auto nic = parse_nic(n, value);
      if (!nic) return Error::make(EINVAL, key + "=" + value + ": " + nic.error().message);
      c.nics.push_back(*nic);
    } else if (key.rfind("vec", 0) == 0) {
      return Error::make(ENOTSUP, key + ": the vector transport is not supported; use ethN=daemon, slirp, vde, mcast or tuntap");
    } else if (key == "ip") {
      auto ip = parse_ip(value);
      if (!ip) return Error::make(EINVAL, "ip=" + value + ": " + ip.error().message);
      c.has_ip = !ip->addr.empty();
      c.ip = *ip;
    } else if (key == "mconsole") {
      if (value.rfind("notify:", 0) != 0 || value.size() == 7)
        return Error::make(EINVAL, "mconsole=" + value + ": expected mconsole=notify:PATH");
      c.mconsole_notify = value.substr(7);
    } else if (key == "hostfs") {
      auto h = parse_hostfs(value);
      if (!h) return Error::make(h.error().code, "hostfs=" + value + ": " + h.error().message);
      c.hostfs.push_back(*h);
    } else if (key == "uml_dir") {
      if (value.empty()) return Error::make(EINVAL, "uml_dir= needs a directory");
      c.uml_dir = value;
    } else if (key == "console" || key == "loglevel" || key == "panic") {
      continue;  // kernel parameters that have no meaning here
    } else if (key.find('.') != std::string::npos) {
      continue;  // module.param= and init's own (systemd.unit=...): /proc/cmdline carries them, as Linux
    } else {
      return Error::make(EINVAL, "unknown option '" + key + "=' (see --help)");
    }
  }
  if (c.disks.empty()) return Error::make(EINVAL, "no root disk: give ubd0=IMAGE");
  if (c.has_ip) {
    bool found_nic = false;
    for (auto& n : c.nics) found_nic |= "eth" + std::to_string(n.index) == c.ip.device;
    if (!found_nic) return Error::make(EINVAL, "ip=: no NIC " + c.ip.device + " was given (ethN=...)");
  }
  int root_index = c.root_dev.back() - 'a';
  bool found = false;
  for (auto& d : c.disks) found |= d.index == root_index;
  if (!found)
    return Error::make(EINVAL, (root_set ? c.root_dev : std::string("ubd0")) + ": no such disk was given");
  return c;
}

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

bool valid_ipv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

}  // namespace

bool parse_mac(const std::string& text, uint8_t out[6]) {
  auto parts = split(text, ':');
  if (parts.size() != 6) return false;
  for (int i = 0; i < 6; i++) {
    const std::string& p = parts[i];
    if (p.size() != 2 || !isxdigit(static_cast<unsigned char>(p[0])) || !isxdigit(static_cast<unsigned char>(p[1])))
      return false;
    out[i] = static_cast<uint8_t>(std::stoul(p, nullptr, 16));
  }
  return true;
}

Result<NicSpec> parse_nic(int index, const std::string& value) {
  auto f = split(value, ',');
  NicSpec n;
  n.index = index;
  n.transport = f[0];
  auto check_mac = [&](const std::string& m) -> Status {
    uint8_t mac[6];
    if (m.empty()) return {};
    if (!parse_mac(m, mac)) return Error::make(EINVAL, "bad MAC address '" + m + "' (expected aa:bb:cc:dd:ee:ff)");
    if (mac[0] & 1) return Error::make(EINVAL, "MAC address " + m + " is a multicast address");
    n.mac = m;
    return {};
  };
  if (n.transport == "daemon") {
    // UML: daemon,ethernet_address,type,control_socket[,data_socket]; the data socket name is
    // ours to pick (an abstract one), so a fifth field is accepted and not used.
    if (f.size() > 5) return Error::make(EINVAL, "too many fields (expected daemon,MAC,unix,CTLPATH)");
    UM_TRY(check_mac(f.size() > 1 ? f[1] : ""));
    std::string type = f.size() > 2 && !f[2].empty() ? f[2] : "unix";
    if (type != "unix") return Error::make(EINVAL, "daemon socket type '" + type + "' is not supported (only unix)");
    n.ctl_path = f.size() > 3 && !f[3].empty() ? f[3] : "/tmp/uml.ctl";  // UML's default
    return n;
  }
  if (n.transport == "slirp") {
    UM_TRY(check_mac(f.size() > 1 ? f[1] : ""));
    for (size_t i = 2; i < f.size(); i++) {
      if (f[i].rfind("hostfwd=", 0) == 0 && f[i].size() > 8) {
        if (auto fwd = nat::parse_hostfwd(f[i].substr(8)); !fwd) return fwd.error();
        n.hostfwd.push_back(f[i].substr(8));
      } else if (f[i].rfind("restrict=", 0) == 0) {
        std::string v = f[i].substr(9);
        if (v == "on" || v == "yes" || v == "y") n.restricted = true;
        else if (v == "off" || v == "no" || v == "n") n.restricted = false;
        else return Error::make(EINVAL, "restrict=" + v + ": expected on or off");
      } else if (!f[i].empty())
        return Error::make(EINVAL, "unknown slirp option '" + f[i] + "' (slirp is built in; options: hostfwd=..., restrict=on|off)");
    }
    return n;
  }
  auto number = [](const std::string& text, const char* what, int base, long lo, long hi) -> Result<long> {
    char* end = nullptr;
    errno = 0;
    long v = strtol(text.c_str(), &end, base);
    if (text.empty() || !isdigit(static_cast<unsigned char>(text[0])) || *end || errno || v < lo || v > hi)
      return Error::make(EINVAL, std::string("bad ") + what + " '" + text + "'");
    return v;
  };
  if (n.transport == "vde") {
    // UML: vde,SWITCH,MAC,PORT,GROUP,MODE,DESCRIPTION (empty fields take the defaults).
    if (f.size() > 7) return Error::make(EINVAL, "too many fields (expected vde,SOCKET,MAC,PORT,GROUP,MODE,DESCR)");
    f.resize(7);
    if (f[1].empty()) return Error::make(EINVAL, "no VDE switch (expected vde,SOCKET[,MAC...])");
    n.vde_socket = f[1];
    UM_TRY(check_mac(f[2]));
    if (!f[3].empty()) n.vde_port = static_cast<int>(UM_TRY(number(f[3], "VDE port", 10, 0, 65535)));
    n.vde_group = f[4];
    if (!f[5].empty()) n.vde_mode = static_cast<unsigned>(UM_TRY(number(f[5], "VDE mode (octal)", 8, 0, 0777)));
    n.vde_descr = f[6];
    return n;
  }
  if (n.transport == "mcast") {
    // UML: mcast,MAC,ADDRESS,PORT,TTL; defaults 239.192.168.1, 1102, 1.
    if (f.size() > 5) return Error::make(EINVAL, "too many fields (expected mcast,MAC,ADDR,PORT,TTL)");
    f.resize(5);
    UM_TRY(check_mac(f[1]));
    if (!f[2].empty()) {
      in_addr a{};
      if (inet_pton(AF_INET, f[2].c_str(), &a) != 1 || !IN_MULTICAST(ntohl(a.s_addr)))
        return Error::make(EINVAL, "'" + f[2] + "' is not an IPv4 multicast address (224.0.0.0/4)");
      n.mcast_addr = f[2];
    }
    if (!f[3].empty()) n.mcast_port = static_cast<int>(UM_TRY(number(f[3], "port", 10, 1, 65535)));
    if (!f[4].empty()) n.mcast_ttl = static_cast<int>(UM_TRY(number(f[4], "TTL", 10, 0, 255)));
    return n;
  }
  if (n.transport == "tuntap") {
    // UML: tuntap,DEVICE,MAC,GATEWAY; the gateway only matters when UML creates the device
    // (with uml_net), which umkernel never does.
    if (f.size() > 4) return Error::make(EINVAL, "too many fields (expected tuntap,TAP,MAC)");
    f.resize(4);
    if (f[1].empty())
      return Error::make(EINVAL, "no tap device (expected tuntap,TAP[,MAC]: umkernel attaches to an existing tap)");
    if (f[1].size() >= IFNAMSIZ) return Error::make(EINVAL, "tap name '" + f[1] + "' is too long");
    n.tap = f[1];
    UM_TRY(check_mac(f[2]));
    return n;
  }
  if (n.transport.empty()) return Error::make(EINVAL, "no transport (expected daemon, slirp, vde, mcast or tuntap)");
  return Error::make(ENOTSUP, "transport '" + n.transport + "' is not supported (daemon, slirp, vde, mcast or tuntap)");
}

Result<HostfsSpec> parse_hostfs(const std::string& value) {
  // UML: hostfs=DIR[,FLAG...]. Its one flag, append (host writes always at the end), would
  // break every program that seeks; ro and rw are ours.
  auto f = split(value, ',');
  HostfsSpec h;
  h.dir = f[0];
  if (h.dir.empty()) return Error::make(EINVAL, "a host directory is needed (hostfs=DIR[,ro])");
  for (size_t i = 1; i < f.size(); i++) {
    if (f[i] == "ro") h.read_only = true;
    else if (f[i] == "rw") h.read_only = false;
    else if (f[i] == "append") return Error::make(ENOTSUP, "the append flag is not supported (flags: ro, rw)");
    else return Error::make(EINVAL, "unknown flag '" + f[i] + "' (flags: ro, rw)");
  }
  return h;
}

Result<IpSpec> parse_ip(const std::string& value) {
  IpSpec ip;
  if (value == "off" || value == "none") return ip;
  auto f = split(value, ':');
  if (f.size() == 1 && !valid_ipv4(f[0]))
    return Error::make(ENOTSUP, "only static configuration (ip=ADDR::GW:MASK::DEV); run udhcpc in the guest for DHCP");
  if (f.size() > 9) return Error::make(EINVAL, "too many fields (ip=ADDR:SERVER:GW:MASK:HOST:DEV:AUTOCONF)");
  f.resize(9);
  ip.addr = f[0];
  ip.gateway = f[2];
  ip.netmask = f[3];
  ip.hostname = f[4];
  if (!f[5].empty()) ip.device = f[5];
  if (!valid_ipv4(ip.addr)) return Error::make(EINVAL, "bad address '" + ip.addr + "'");
  if (!ip.gateway.empty() && !valid_ipv4(ip.gateway)) return Error::make(EINVAL, "bad gateway '" + ip.gateway + "'");
  if (!ip.netmask.empty() && !valid_ipv4(ip.netmask)) return Error::make(EINVAL, "bad netmask '" + ip.netmask + "'");
  const std::string& autoconf = f[6];
  if (!autoconf.empty() && autoconf != "off" && autoconf != "none")
    return Error::make(ENOTSUP, "autoconf '" + autoconf + "' is not supported; run udhcpc in the guest for DHCP");
  if (ip.device.rfind("eth", 0) != 0) return Error::make(EINVAL, "device '" + ip.device + "' is not an ethN");
  return ip;
}

}  // namespace um::kernel
