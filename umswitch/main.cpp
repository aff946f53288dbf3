// umswitch: a virtual Ethernet switch for UML's daemon transport (uml_switch compatible).
#include <sys/stat.h>

#include <string>
#include <vector>

#include "core/cli.h"
#include "core/rundir.h"
#include "umswitch/daemon.h"
#include "umswitch/mgmt.h"

namespace {

// uml_switch spells its options with one dash (-unix, -hub, -tap, -daemon); accept those too
// so umswitch is a drop-in replacement.
std::vector<std::string> translate_legacy_options(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "-unix" || args[i] == "-hub" || args[i] == "-tap" || args[i] == "-daemon")
      args[i] = "-" + args[i];
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace um;
  CLI::App app{"umswitch - virtual Ethernet switch for User Mode Linux (uml_switch compatible)"};
  cli::setup(app, "umswitch");
  app.footer(
      "Connect a UML kernel with eth0=daemon,MAC,unix,CTLPATH. The default control socket is\n"
      "$UML_DIR/switch.ctl (UML_DIR defaults to ~/.uml), the management socket defaults to\n"
      "the control socket path with .ctl replaced by .mgmt. See umswitch(1).");

  sw::DaemonOptions opt;
  std::vector<std::string> forwards;
  app.add_option("--unix", opt.ctl_path, "control socket path (default $UML_DIR/switch.ctl)")
      ->type_name("PATH");
  app.add_flag("--hub", opt.hub, "repeat every frame to every port instead of switching");
  app.add_option("--max-ports", opt.max_ports, "maximum number of ports, tap and NAT included")
      ->type_name("N")->default_val(32)->check(CLI::Range(1, 4096));
  app.add_option("--mac-age", opt.mac_age_seconds, "seconds before a learned MAC is forgotten")
      ->type_name("SECONDS")->default_val(300)->check(CLI::Range(1, 86400));
  app.add_option("--tap", opt.tap, "also attach host tap device IFNAME as a port")
      ->type_name("IFNAME");
  app.add_option("--pcap", opt.pcap, "write every frame to FILE in pcap format")
      ->type_name("FILE");
  app.add_flag("--nat", opt.nat, "attach a NAT router (10.0.2.2, DHCP, DNS; libslirp)");
  app.add_flag("--restrict", opt.nat_restricted,
               "with --nat: cut the guests off from the host and the outside (QEMU's "
               "restrict=on); only --forward reaches them");
  app.add_option("--forward", forwards,
                 "with --nat: forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT inbound")
      ->type_name("SPEC");
  std::vector<std::string> vxlan_remotes;
  std::string vxlan_local;
  int64_t vni = -1;
  app.add_option("--vxlan", vxlan_remotes,
                 "stretch the switch over VXLAN (RFC 7348) to a remote VTEP or a multicast "
                 "group (UDP port default 4789); repeat for several remotes")
      ->type_name("REMOTE[:PORT]");
  app.add_option("--vni", vni, "with --vxlan: the VXLAN network identifier (0-16777215)")
      ->type_name("N")->check(CLI::Range(int64_t{0}, int64_t{16777215}));
  app.add_option("--vxlan-local", vxlan_local,
                 "with --vxlan: the local address and UDP port to listen on (default 0.0.0.0:4789)")
      ->type_name("[ADDR][:PORT]");
  app.add_option("--vxlan-ttl", opt.vxlan_options.ttl,
                 "with --vxlan: IP TTL of VXLAN packets (default 1 to a multicast group, else the host's)")
      ->type_name("N")->check(CLI::Range(1, 255));
  app.add_flag("--daemon", opt.daemonize, "go to the background once the sockets are ready");
  app.add_option("--pidfile", opt.pidfile, "write the daemon's pid to FILE")->type_name("FILE");
  app.add_option("--mgmt", opt.mgmt_path, "management socket path (default: next to --unix)")
      ->type_name("PATH");

  std::string ctl_path, ctl_command;
  bool ctl_json = false;
  CLI::App* ctl = app.add_subcommand("ctl", "query a running umswitch: ports, macs or stats");
  ctl->add_option("CTLPATH", ctl_path,
                  "control (or management) socket of the switch (default $UML_DIR/switch.ctl)");
  ctl->add_option("COMMAND", ctl_command, "ports | macs | stats");
  ctl->add_flag("--json", ctl_json, "answer in JSON");

  std::vector<std::string> args = translate_legacy_options(argc, argv);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  if (int rc = cli::parse(app, static_cast<int>(cargs.size()), cargs.data()); rc >= 0) return rc;

  if (ctl->parsed()) {
    if (ctl_command.empty()) std::swap(ctl_path, ctl_command);  // `ctl stats`: default socket
    if (ctl_command != "ports" && ctl_command != "macs" && ctl_command != "stats") {
      fprintf(stderr, "umswitch: error: ctl needs a command: ports, macs or stats\n");
      return kExitUsage;
    }
    if (ctl_path.empty()) ctl_path = rundir::root() + "/switch.ctl";
    return sw::run_ctl(ctl_path, ctl_command, ctl_json);
  }

  if (opt.nat_restricted && !opt.nat) {
    fprintf(stderr, "umswitch: error: --restrict needs --nat\n");
    return kExitUsage;
  }
  if (!forwards.empty() && !opt.nat) {
    fprintf(stderr, "umswitch: error: --forward needs --nat\n");
    return kExitUsage;
  }
  for (const auto& f : forwards) {
    auto parsed = nat::parse_forward(f);
    if (!parsed) {
      fprintf(stderr, "umswitch: error: %s\n", parsed.error().message.c_str());
      return kExitUsage;
    }
    opt.forwards.push_back(parsed.value());
  }
  if (vxlan_remotes.empty() != (vni < 0) || (vxlan_remotes.empty() && (!vxlan_local.empty() || opt.vxlan_options.ttl))) {
    fprintf(stderr, "umswitch: error: %s\n", vxlan_remotes.empty() && vni < 0 ? "--vxlan-local and --vxlan-ttl need --vxlan"
                                             : vni < 0 ? "--vxlan needs --vni N" : "--vni needs --vxlan REMOTE");
    return kExitUsage;
  }
  if (!vxlan_remotes.empty()) {
    opt.vxlan = true;
    opt.vxlan_options.vni = static_cast<uint32_t>(vni);
    auto local = sw::parse_vxlan_endpoint(vxlan_local.empty() ? ":" + std::to_string(sw::kVxlanPort) : vxlan_local,
                                          sw::kVxlanPort);
    if (!local) {
      fprintf(stderr, "umswitch: error: --vxlan-local %s\n", local.error().message.c_str());
      return kExitUsage;
    }
    opt.vxlan_options.local = *local;
    for (const auto& r : vxlan_remotes) {
      auto remote = sw::parse_vxlan_endpoint(r, sw::kVxlanPort);
      if (!remote || remote->sin_addr.s_addr == 0) {
        fprintf(stderr, "umswitch: error: --vxlan %s\n",
                remote ? ("'" + r + "': the remote needs an address").c_str() : remote.error().message.c_str());
        return kExitUsage;
      }
      opt.vxlan_options.remotes.push_back(*remote);
    }
  }
  if (opt.ctl_path.empty()) {
    std::string root = rundir::root();
    if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST)
      return cli::fail(Error::from_errno("cannot create run directory " + root));
    opt.ctl_path = root + "/switch.ctl";
  }
  if (opt.mgmt_path.empty()) opt.mgmt_path = sw::default_mgmt_path(opt.ctl_path);
  return sw::run_daemon(std::move(opt));
}
