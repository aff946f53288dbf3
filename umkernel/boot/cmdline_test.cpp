// The command line's network options: UML's ethN syntax, slirp's hostfwd and Linux's ip=.
#include "umkernel/boot/cmdline.h"

#include <gtest/gtest.h>

namespace um::kernel {
namespace {

Result<BootConfig> parse(std::vector<std::string> extra) {
  std::vector<std::string> args{"ubd0=root.img"};
  args.insert(args.end(), extra.begin(), extra.end());
  return parse_cmdline(args);
}

TEST(CmdlineNet, DaemonTransportAsUml) {
  auto c = parse({"eth0=daemon,,unix,/tmp/sw.ctl", "eth3=daemon,02:00:00:00:00:07,unix,/x/ctl"});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->nics.size(), 2u);
  EXPECT_EQ(c->nics[0].transport, "daemon");
  EXPECT_EQ(c->nics[0].ctl_path, "/tmp/sw.ctl");
  EXPECT_EQ(c->nics[0].mac, "");
  EXPECT_EQ(c->nics[1].index, 3);
  EXPECT_EQ(c->nics[1].mac, "02:00:00:00:00:07");
  auto d = parse({"eth0=daemon"});  // UML's default control socket
  ASSERT_TRUE(d);
  EXPECT_EQ(d->nics[0].ctl_path, "/tmp/uml.ctl");
}

TEST(CmdlineNet, SlirpWithForwards) {
  auto c = parse({"eth0=slirp,,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-:53"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->nics[0].transport, "slirp");
  EXPECT_EQ(c->nics[0].hostfwd.size(), 2u);
}

TEST(CmdlineNet, VdeAsUml) {
  auto c = parse({"eth0=vde,/tmp/vde.sw", "eth1=vde,vxvde://239.1.2.3,02:00:00:00:00:09,5,kvm,660,lab vm"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->nics[0].transport, "vde");
  EXPECT_EQ(c->nics[0].vde_socket, "/tmp/vde.sw");
  EXPECT_EQ(c->nics[0].vde_port, 0);
  EXPECT_EQ(c->nics[1].vde_socket, "vxvde://239.1.2.3");
  EXPECT_EQ(c->nics[1].mac, "02:00:00:00:00:09");
  EXPECT_EQ(c->nics[1].vde_port, 5);
  EXPECT_EQ(c->nics[1].vde_group, "kvm");
  EXPECT_EQ(c->nics[1].vde_mode, 0660u);
  EXPECT_EQ(c->nics[1].vde_descr, "lab vm");
}

TEST(CmdlineNet, McastDefaultsAreUmls) {
  auto c = parse({"eth0=mcast", "eth1=mcast,02:00:00:00:00:0a,239.1.1.1,2000,3", "eth2=mcast,,,1234"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->nics[0].mcast_addr, "239.192.168.1");
  EXPECT_EQ(c->nics[0].mcast_port, 1102);
  EXPECT_EQ(c->nics[0].mcast_ttl, 1);
  EXPECT_EQ(c->nics[1].mcast_addr, "239.1.1.1");
  EXPECT_EQ(c->nics[1].mcast_port, 2000);
  EXPECT_EQ(c->nics[1].mcast_ttl, 3);
  EXPECT_EQ(c->nics[2].mcast_addr, "239.192.168.1");
  EXPECT_EQ(c->nics[2].mcast_port, 1234);
}

TEST(CmdlineNet, TuntapNamesAnExistingDevice) {
  auto c = parse({"eth0=tuntap,tap0", "eth1=tuntap,tap1,02:00:00:00:00:0b,192.168.0.254"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->nics[0].tap, "tap0");
  EXPECT_EQ(c->nics[1].mac, "02:00:00:00:00:0b");
}

TEST(CmdlineNet, BadNicsAreOneLineErrors) {
  for (const char* bad : {"eth0=tuntap,,,tap0", "eth0=daemon,zz,unix,/c", "eth0=daemon,01:00:00:00:00:00,unix,/c",
                          "eth0=daemon,,tcp,/c", "eth0=slirp,,/usr/bin/slirp", "eth0=slirp,,hostfwd=tcp::0-:80",
                          "eth16=slirp", "eth0=", "vec0=transport=raw", "eth0=vde", "eth0=vde,/s,,x",
                          "eth0=vde,/s,,70000", "eth0=vde,/s,,,,9", "eth0=vde,/s,,,,,,extra", "eth0=mcast,,10.0.0.1",
                          "eth0=mcast,,239.1.1.1,0", "eth0=mcast,,239.1.1.1,+5", "eth0=mcast,,,,300",
                          "eth0=mcast,,,,,x", "eth0=tuntap", "eth0=tuntap,averyveryverylongname",
                          "eth0=pcap,eth0"}) {
    auto c = parse({bad});
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().message.find('\n'), std::string::npos) << bad;
  }
  EXPECT_FALSE(parse({"eth0=slirp", "eth0=slirp"}));
}

TEST(CmdlineNet, IpIsLinuxSyntax) {
  auto c = parse({"eth0=slirp", "ip=10.0.2.15::10.0.2.2:255.255.255.0:vm1:eth0:off"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->has_ip);
  EXPECT_EQ(c->ip.addr, "10.0.2.15");
  EXPECT_EQ(c->ip.gateway, "10.0.2.2");
  EXPECT_EQ(c->ip.netmask, "255.255.255.0");
  EXPECT_EQ(c->ip.hostname, "vm1");
  EXPECT_EQ(c->ip.device, "eth0");
  EXPECT_FALSE(parse({"eth0=slirp", "ip=dhcp"}));            // the guest runs udhcpc
  EXPECT_FALSE(parse({"eth0=slirp", "ip=10.0.0.1:::255.255.255.0::eth1"}));  // no eth1
  EXPECT_FALSE(parse({"eth0=slirp", "ip=10.0.0.300"}));
  EXPECT_FALSE(parse({"eth0=slirp", "ip=10.0.0.1:::255.255.255.0::eth0:dhcp"}));
  auto off = parse({"ip=off"});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->has_ip);
}

TEST(CmdlineNet, ParseMac) {
  uint8_t m[6];
  EXPECT_TRUE(parse_mac("fe:fd:0a:00:00:01", m));
  EXPECT_EQ(m[0], 0xfe);
  EXPECT_EQ(m[5], 0x01);
  EXPECT_FALSE(parse_mac("fe:fd:0a:00:00", m));
  EXPECT_FALSE(parse_mac("fe:fd:0a:00:00:1", m));
  EXPECT_FALSE(parse_mac("fe-fd-0a-00-00-01", m));
}

TEST(CmdlineNet, SlirpRestrict) {
  auto c = parse({"eth0=slirp,,restrict=on,hostfwd=tcp::8080-:80"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->nics[0].restricted);
  EXPECT_EQ(c->nics[0].hostfwd.size(), 1u);
  auto d = parse({"eth0=slirp,,restrict=off"});
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->nics[0].restricted);
  EXPECT_FALSE(parse({"eth0=slirp"})->nics[0].restricted);  // QEMU's default
  EXPECT_FALSE(parse({"eth0=slirp,,restrict=1"}));
}

TEST(CmdlineLimits, TasksMax) {
  auto c = parse({"tasks_max=100"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->tasks_max, 100);
  auto d = parse({});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tasks_max, 0);  // derived from mem= at boot
  for (const char* bad : {"tasks_max=", "tasks_max=7", "tasks_max=32769", "tasks_max=10x", "tasks_max=-5"}) {
    auto e = parse({bad});
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().message.find('\n'), std::string::npos) << bad;
  }
}

TEST(CmdlineHostfs, SeveralTreesReadOnlyOrNot) {
  auto c = parse({"hostfs=/srv/a", "hostfs=/srv/b,ro", "hostfs=rel/c,ro,rw"});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->hostfs.size(), 3u);
  EXPECT_EQ(c->hostfs[0].dir, "/srv/a");
  EXPECT_FALSE(c->hostfs[0].read_only);
  EXPECT_TRUE(c->hostfs[1].read_only);
  EXPECT_EQ(c->hostfs[2].dir, "rel/c");
  EXPECT_FALSE(c->hostfs[2].read_only);  // the last flag wins
  EXPECT_TRUE(parse({})->hostfs.empty());  // nothing allowed unless asked for
}

TEST(CmdlineHostfs, BadValuesAreOneLineErrors) {
  for (const char* bad : {"hostfs=", "hostfs=,ro", "hostfs=/x,append", "hostfs=/x,rx"}) {
    auto c = parse({bad});
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().message.find('\n'), std::string::npos);
    EXPECT_EQ(c.error().message.rfind(bad, 0), 0u) << c.error().message;
  }
}

TEST(CmdlineDisks, TheCFlagAndOthers) {
  auto c = parse({"ubd1rc=/x.img", "ubd2=/c.cow,/b.img"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->disks[0].shared);
  EXPECT_TRUE(c->disks[1].shared && c->disks[1].read_only);
  EXPECT_EQ(c->disks[2].backing, "/b.img");
}

TEST(CmdlinePlatform, KnownPlatformsOnlyOneLineError) {
  auto c = parse({"platform=ptrace"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->platform, "ptrace");
  auto d = parse({});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->platform, "");  // auto
  auto bad = parse({"platform=kvm"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("platform=kvm: unknown platform"), std::string::npos);
}

}  // namespace
}  // namespace um::kernel

namespace um::kernel {
TEST(CmdlineGuest, DottedParametersAreTheGuestsAndStayInProcCmdline) {
  auto c = parse_cmdline({"ubd0=root.img", "systemd.log_level=debug", "systemd.unit=rescue.target"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->cmdline, "ubd0=root.img systemd.log_level=debug systemd.unit=rescue.target");
  EXPECT_FALSE(parse_cmdline({"ubd0=root.img", "nodot=1"}));
}
}  // namespace um::kernel
