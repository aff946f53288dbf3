// The umswitch daemon: control socket (uml_switch protocol), management socket, signals and
// the epoll loop around the forwarding engine.
#pragma once
#include <string>
#include <vector>

#include "umswitch/nat.h"
#include "umswitch/vxlan.h"

namespace um::sw {

struct DaemonOptions {
  std::string ctl_path;
  std::string mgmt_path;
  bool hub = false;
  int max_ports = 32;
  uint32_t mac_age_seconds = 300;
  std::string tap;
  std::string pcap;
  bool nat = false;
  bool nat_restricted = false;  // --restrict
  std::vector<nat::Forward> forwards;
  bool vxlan = false;          // --vxlan: a VXLAN port to the remotes (vxlan.h)
  VxlanOptions vxlan_options;
  bool daemonize = false;
  std::string pidfile;
};

// Runs until SIGTERM/SIGINT/SIGHUP; returns the process exit code.
int run_daemon(DaemonOptions options);

}  // namespace um::sw
