// Ethernet NICs (ethN): an lwIP netif whose frames travel over a transport (nic_transport.h),
// one frame per message: a uml_switch-compatible switch (daemon), the built-in libslirp NAT
// router (slirp), a VDE switch (vde), host UDP multicast (mcast) or a host tap (tuntap). The
// kernel's loop reads arriving frames; lwIP sends from either thread. When the switch goes
// away the link goes down and the guest keeps running.
#pragma once
#include <string>

#include "umkernel/boot/config.h"

namespace um::kernel::net {

// Creates the NICs of the command line and applies ip=; false with *error (one line) when a
// NIC cannot be attached (no switch there, a host port for hostfwd taken...).
bool boot_network(const BootConfig& cfg, const std::string& umid, std::string* error);

}  // namespace um::kernel::net
