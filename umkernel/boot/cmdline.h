// The UML-style kernel command line: ubd0=root.img mem=256M init=/sbin/init umid=NAME
// con0=fd:0,fd:1 strace=FILE quiet ro|rw root=/dev/ubda -- ARGS FOR INIT
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "umkernel/boot/config.h"

namespace um::kernel {

// Parses one NIC's value ("daemon,,unix,/tmp/sw.ctl"); `index` is N of ethN.
Result<NicSpec> parse_nic(int index, const std::string& value);
Result<IpSpec> parse_ip(const std::string& value);
bool parse_mac(const std::string& text, uint8_t out[6]);
Result<HostfsSpec> parse_hostfs(const std::string& value);

// Parses argv (without argv[0]). --help/--version are handled by the caller.
Result<BootConfig> parse_cmdline(const std::vector<std::string>& args);
std::string cmdline_help();

}  // namespace um::kernel
