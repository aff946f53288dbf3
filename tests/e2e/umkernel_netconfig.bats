#!/usr/bin/env bats
# umkernel network configuration: the interface ioctls (ifconfig, route), rtnetlink (ip),
# AF_PACKET sockets with classic BPF (udhcpc, packet readers) and /proc/net. The guest program
# tests/guest/net_config prints facts only, so its output is compared with what Linux answers
# (written out below); then busybox's ifconfig, route, ip, netstat and udhcpc run on lo and on
# an eth0 behind the built-in slirp router (a fixed MAC, so that outputs are the same).
load helpers

PROG="$UM_GUEST_BIN/net_config"
MAC=02:00:00:00:00:01

setup_file() {
  [ -x "$PROG" ] || skip "guest program net_config not built (target guest_net_config)"
  W=$(mktemp -d /tmp/umnetcfg.XXXXXX)
  export W
  cat > "$W/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
  deconfig) ip link set "$interface" up; ip addr flush dev "$interface" ;;
  bound|renew)
    ip addr add "$ip/$mask" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; done
    echo "bound $interface $ip/$mask router $router" ;;
esac
SCRIPT
  chmod 755 "$W/udhcpc.script"
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$PROG" /bin/net_config >/dev/null
  "$UMIMAGE" put "$W/root.img" "$W/udhcpc.script" /bin/udhcpc.script >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

# Boots a guest with lo and eth0 (slirp) and runs a shell command line as init, /proc mounted.
guest() {
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "eth0=slirp,$MAC" init=/bin/sh -- -c \
    "mount -t proc proc /proc; $1"
}

# Runs one part of net_config and compares its output with the expected one (stdin).
part() {
  local expected
  expected=$(cat)
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "eth0=slirp,$MAC" init=/bin/net_config -- "$1"
  if [ "$status" -ne 0 ] || [ "$output" != "$expected" ]; then
    echo "status: $status"
    diff <(echo "$expected") <(echo "$output") || true
    return 1
  fi
}

@test "interface ioctls: SIOCGIFCONF, flags, addresses, MTU, MAC, routes, errors and privileges as Linux" {
  part ioctl <<'EXPECTED'
== ioctl
SIOCGIFCONF size: 40
SIOCGIFCONF: lo=127.0.0.1
SIOCGIFCONF room for one: 40
index: lo 1 eth0 2
index nope0: -1 ENODEV
index of alias eth0:1 (device's): 2
name 1: lo
name 2: eth0
name 3: ENODEV
flags lo: UP,LOOPBACK,RUNNING
flags eth0: BROADCAST,MULTICAST
flags nope0: -1 ENODEV
mtu lo: 65535
mtu eth0: 1500
hwaddr lo: family 772 00:00:00:00:00:00
hwaddr eth0: family 1 02:00:00:00:00:01
txqlen eth0: 1000
metric eth0: 0
map eth0: mem 0 base 0 irq 0
lo: addr 127.0.0.1 mask 255.0.0.0 brd 0.0.0.0 dst 127.0.0.1
eth0: addr EADDRNOTAVAIL mask EADDRNOTAVAIL brd EADDRNOTAVAIL dst EADDRNOTAVAIL
set addr eth0 10.0.0.1: 0
eth0: addr 10.0.0.1 mask 255.0.0.0 brd 10.255.255.255 dst 10.0.0.1
set netmask eth0 255.255.255.0: 0
set netmask eth0 255.0.255.0: -1 EINVAL
set brd eth0 10.0.0.255: 0
set brd eth0 10.0.0.127: -1 EOPNOTSUPP
set addr eth0 224.0.0.1: -1 EINVAL
set addr eth0:1 10.0.0.9: -1 EOPNOTSUPP
set addr eth0 family AF_INET6: -1 EINVAL
eth0: addr 10.0.0.1 mask 255.255.255.0 brd 10.0.0.255 dst 10.0.0.1
eth0:1: addr EADDRNOTAVAIL mask EADDRNOTAVAIL brd EADDRNOTAVAIL dst EADDRNOTAVAIL
set flags eth0 up: 0
flags eth0: UP,BROADCAST,RUNNING,MULTICAST
set flags eth0 promisc: -1 EOPNOTSUPP
set flags eth0 allmulti debug: 0
flags eth0: UP,BROADCAST,RUNNING,ALLMULTI,MULTICAST,DEBUG
set hwaddr eth0 while up: -1 EBUSY
set mtu eth0 1400: 0
mtu eth0: 1400
set mtu eth0 10: -1 EINVAL
set metric eth0: -1 EOPNOTSUPP
SIOCGIFCONF size: 80
SIOCGIFCONF: lo=127.0.0.1 eth0=10.0.0.1
SIOCGIFCONF room for one: 40
route add default gw 192.168.9.1 (unreachable): -1 ENETUNREACH
route add default gw 10.0.0.254: 0
route add default gw 10.0.0.254 again: -1 EEXIST
route add -net 10.0.0.0/24 dev eth0 (connected): 0
route add -net 10.1.0.0/16 gw 10.0.0.254: -1 EOPNOTSUPP
route add -net 10.0.0.1/24 (bad mask): -1 EINVAL
route add dev nope0: -1 ENODEV
--- /proc/net/route
Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	FE00000A	0003	0	0	0	00000000	0	0	0
eth0	0000000A	00000000	0001	0	0	0	00FFFFFF	0	0	0
route del default gw 10.0.0.99: -1 ESRCH
route del default: 0
route del default again: -1 ESRCH
route del -net 10.0.0.0/24 (connected): -1 EOPNOTSUPP
TCGETS on a socket: -1 ENOTTY
SIOCGARP: -1 EOPNOTSUPP
user: set addr lo: -1 EPERM
user: get flags lo: 0
user: set flags nope0: -1 EPERM
user: route add: -1 EPERM
set flags eth0 down: 0
flags eth0: BROADCAST,MULTICAST
set addr eth0 0.0.0.0: 0
eth0: addr EADDRNOTAVAIL mask EADDRNOTAVAIL brd EADDRNOTAVAIL dst EADDRNOTAVAIL
EXPECTED
}

@test "rtnetlink: bind, dumps, single requests, truncation, errors and acks, address/link/route changes, groups, user ports" {
  part netlink <<'EXPECTED'
== netlink
socket NETLINK_ROUTE SOCK_DGRAM: 0
socket SOCK_STREAM: -1 ESOCKTNOSUPPORT
socket NETLINK_GENERIC: -1 EPROTONOSUPPORT
socket protocol 40: -1 EPROTONOSUPPORT
unbound: family 16 pid 0 len 12
bind short: -1 EINVAL
bind pid 0: 0
bound to our pid: yes
rebind to another pid: -1 EINVAL
bind a second socket to our pid: -1 EADDRINUSE
second socket's pid: -4096
poll before a request: 0
  link 1 lo type 772 <UP,LOOPBACK,RUNNING,LOWER_UP> mtu 65535 txqlen 1000 oper 0 carrier 1 addr 00:00:00:00:00:00
  link 2 eth0 type 1 <BROADCAST,MULTICAST> mtu 1500 txqlen 1000 oper 2 carrier 1 addr 02:00:00:00:00:01
links: done
poll after a request: 1
MSG_PEEK|MSG_TRUNC gives the full length twice: yes
a 16-byte read is cut with MSG_TRUNC: yes
and the rest is gone: yes
  link 1 lo type 772 <UP,LOOPBACK,RUNNING,LOWER_UP> mtu 65535 txqlen 1000 oper 0 carrier 1 addr 00:00:00:00:00:00
getlink lo: reply
  then: 0
getlink 9: ENODEV
getlink without index or name: EINVAL
error message: len 52 type 2 error ENODEV seq ok 1 echo len 32
NETLINK_CAP_ACK: 0
capped error message: len 36 flags 0x100
  link 1 lo type 772 <UP,LOOPBACK,RUNNING,LOWER_UP> mtu 65535 txqlen 1000 oper 0 carrier 1 addr 00:00:00:00:00:00
two in one, first: reply
  link 2 eth0 type 1 <BROADCAST,MULTICAST> mtu 1500 txqlen 1000 oper 2 carrier 1 addr 02:00:00:00:00:01
two in one, second: reply
no NLM_F_REQUEST: nothing comes back: 0
qdisc dump: EOPNOTSUPP
type 200: EOPNOTSUPP
NLMSG_NOOP with NLM_F_ACK: 0
newaddr 10.0.0.2/24: 0
newaddr again: EEXIST
newaddr 10.0.0.3/24 (a second one): EOPNOTSUPP
newaddr on index 9: ENODEV
setlink eth0 up mtu 1400: 0
newlink dummy0: EOPNOTSUPP
links:
  link 1 lo type 772 <UP,LOOPBACK,RUNNING,LOWER_UP> mtu 65535 txqlen 1000 oper 0 carrier 1 addr 00:00:00:00:00:00
  link 2 eth0 type 1 <UP,BROADCAST,RUNNING,MULTICAST,LOWER_UP> mtu 1400 txqlen 1000 oper 6 carrier 1 addr 02:00:00:00:00:01
  addr if 1 127.0.0.1/8 brd - scope 254 flags 0x80 label lo
  addr if 2 10.0.0.2/24 brd 10.0.0.255 scope 0 flags 0x80 label eth0
  addr if 1 ::1/128 brd - scope 254 flags 0x80 label -
  addr if 2 fe80::ff:fe00:1/64 brd - scope 253 flags 0x80 label -
addresses: done
  addr if 1 127.0.0.1/8 brd - scope 254 flags 0x80 label lo
  addr if 2 10.0.0.2/24 brd 10.0.0.255 scope 0 flags 0x80 label eth0
IPv4 addresses: done
newroute default via 10.0.0.1: 0
newroute default again: EEXIST
newroute 10.0.0.0/24 dev eth0 (connected): EEXIST
newroute 10.5.0.0/16 via 10.0.0.1: EOPNOTSUPP
newroute 10.0.0.1/24 (bad prefix): EINVAL
  route default/0 via 10.0.0.1 dev 2 src - table 254 proto 3 scope 0 type 1
  route 10.0.0.0/24 via - dev 2 src 10.0.0.2 table 254 proto 2 scope 253 type 1
  route 127.0.0.0/8 via - dev 1 src 127.0.0.1 table 255 proto 2 scope 254 type 2
  route 127.0.0.1/32 via - dev 1 src 127.0.0.1 table 255 proto 2 scope 254 type 2
  route 10.0.0.2/32 via - dev 2 src 10.0.0.2 table 255 proto 2 scope 254 type 2
  route 10.0.0.255/32 via - dev 2 src 10.0.0.2 table 255 proto 2 scope 253 type 3
routes: done
  route 192.0.2.7/32 via 10.0.0.1 dev 2 src 10.0.0.2 table 254 proto 0 scope 0 type 1
route get 192.0.2.7: reply
--- /proc/net/route
Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	0100000A	0003	0	0	0	00000000	0	0	0
eth0	0000000A	00000000	0001	0	0	0	00FFFFFF	0	0	0
user: link dump: done
user: newaddr: EPERM
user: sendto a user port: -1 EPERM
delroute default: 0
delroute default again: ESRCH
deladdr 10.0.0.2/24: 0
deladdr again: EADDRNOTAVAIL
setlink eth0 down mtu 1500: 0
add membership RTNLGRP_LINK: 0
add membership 0: -1 EINVAL
memberships: 0x1
sendto the second socket: 5
second got: 5 "hello" from ours: 1
sendto group RTNLGRP_LINK: 32
member got: 32 groups 0x1
and the kernel answered: reply
sendto an unbound port: -1 ECONNREFUSED
shutdown: -1 EOPNOTSUPP
EXPECTED
}

@test "AF_PACKET on lo: frames in and out with sockaddr_ll, SOCK_DGRAM, BPF filters checked and run, sends, options" {
  part packet <<'EXPECTED'
== packet
user: socket AF_PACKET: -1 EPERM
socket SOCK_STREAM: -1 ESOCKTNOSUPPORT
bind ifindex 99: -1 ENODEV
bind short: -1 EINVAL
bind lo: 0
attach an IPv4-only filter: 0
sockname: len 18 proto 0x0003 if 1 hatype 772 halen 6
getpeername: -1 EOPNOTSUPP
connect: -1 EOPNOTSUPP
poll before: 0
frame to 127.0.0.1:9999: 47
poll after: 1
FIONREAD: 47
  raw: len 47 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 4 halen 6 udp dport 9999 "hello" to 00:00:00:00:00:00
  raw: len 47 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "hello" to 00:00:00:00:00:00
raw ETH_P_ALL on lo: 2 frames
  dgram: len 33 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "hello"
dgram ETH_P_IP (all interfaces): 1 frames
attach filter: 0
  dgram: len 30 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "he"
filtered dgram: 1 frames
attach filter (raw): 0
  raw: len 52 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 4 halen 6 udp dport 9998 "other port" to 00:00:00:00:00:00
  raw: len 52 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9998 "other port" to 00:00:00:00:00:00
  raw: len 53 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 4 halen 6 udp dport 9999 "hello again" to 00:00:00:00:00:00
  raw: len 53 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "hello again" to 00:00:00:00:00:00
  raw: len 47 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "third" to 00:00:00:00:00:00
filtered raw: 5 frames
detach: 0
detach again: -1 ENOENT
attach: jump past the end: -1 EINVAL
attach: no RET: -1 EINVAL
attach: memory read before write: -1 EINVAL
attach: division by constant 0: -1 EINVAL
attach: unknown ancillary load: -1 EINVAL
attach: unknown opcode: -1 EINVAL
attach: empty: -1 EINVAL
attach: NULL program: -1 EINVAL
attach: bad pointer: -1 EFAULT
attach: short option: -1 EINVAL
attach ok: 0
lock filter: 0
attach while locked: -1 EPERM
detach while locked: -1 EPERM
send a raw frame on lo: 46
  raw: len 46 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "raw!" to 00:00:00:00:00:00
sender: 1 frames
  other: len 46 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 4 halen 6 udp dport 9999 "raw!" to 00:00:00:00:00:00
  other: len 46 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "raw!" to 00:00:00:00:00:00
other: 2 frames
send 10 bytes (shorter than a header): -1 EINVAL
SOCK_DGRAM sendto lo: 32
  other: len 46 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 4 halen 6 udp dport 9999 "raw!" to 00:00:00:00:00:00
  other: len 46 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "raw!" to 00:00:00:00:00:00
other: 2 frames
SOCK_DGRAM send without an address: -1 ENXIO
SOCK_DGRAM sendto eth0 (down): -1 ENETDOWN
SOCK_DGRAM sendto ifindex 99: -1 ENXIO
send 70000 bytes on lo: -1 EMSGSIZE
  raw: len 46 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 4 halen 6 udp dport 9999 "raw!" to 00:00:00:00:00:00
  raw: len 46 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "raw!" to 00:00:00:00:00:00
statistics: packets 4 drops 0
statistics again: packets 0 drops 0
PACKET_AUXDATA: -1 ENOPROTOOPT
add membership allmulti: 0
drop membership allmulti: 0
drop membership again: -1 EADDRNOTAVAIL
add membership promisc: -1 EOPNOTSUPP
PACKET_IGNORE_OUTGOING: 0
  other: len 49 namelen 18 proto 0x0800 if 1 hatype 772 pkttype 0 halen 6 udp dport 9999 "in only" to 00:00:00:00:00:00
other, ignoring outgoing: 1 frames
recv MSG_WAITALL: -1 EINVAL
8-byte read: 8 truncated 1
MSG_TRUNC queue was drained: yes
SIOCGIFINDEX on a packet socket: 1
EXPECTED
}

@test "AF_PACKET on eth0 behind slirp: a DHCP offer through a filtered SOCK_DGRAM socket, ARP seen both ways" {
  part eth <<'EXPECTED'
== eth
eth0 up: 0
bind raw to eth0: 0
attach the DHCP filter: 0
send DHCPDISCOVER: 272
offer arrives: 1
offer: op 2 xid ok 1 yiaddr 10.0.2.15 from 52:55:0a:00:02:02 pkttype 1
raw on eth0:
  raw: len 286 namelen 18 proto 0x0800 if 2 hatype 1 pkttype 4 halen 6 udp dport 67 to ff:ff:ff:ff:ff:ff
  raw: len 590 namelen 18 proto 0x0800 if 2 hatype 1 pkttype 1 halen 6 udp dport 68 to ff:ff:ff:ff:ff:ff
set addr eth0 10.0.2.15: 0
udp to 10.0.2.2:9: 7
ARP reply arrives: 1
raw on eth0:
  raw: len 42 namelen 18 proto 0x0806 if 2 hatype 1 pkttype 4 halen 6 arp op 1 target 10.0.2.15 to ff:ff:ff:ff:ff:ff
  raw: len 42 namelen 18 proto 0x0806 if 2 hatype 1 pkttype 4 halen 6 arp op 1 target 10.0.2.2 to ff:ff:ff:ff:ff:ff
  raw: len 64 namelen 18 proto 0x0806 if 2 hatype 1 pkttype 0 halen 6 arp op 2 target 10.0.2.15 to 02:00:00:00:00:01
  raw: len 49 namelen 18 proto 0x0800 if 2 hatype 1 pkttype 4 halen 6 udp dport 9 "discard" to 52:55:0a:00:02:02
ETH_P_ARP, all interfaces:
  arp: len 50 namelen 18 proto 0x0806 if 2 hatype 1 pkttype 0 halen 6 arp op 2 target 10.0.2.15
--- /proc/net/arp
IP address       HW type     Flags       HW address            Mask     Device
10.0.2.2         0x1         0x2         52:55:0a:00:02:02     *        eth0
EXPECTED
}

@test "/proc/net: Linux's formats and line widths, /proc/net -> self/net, netstat reads them" {
  part proc <<'EXPECTED'
== proc
/proc/net -> self/net
/proc/self/net is a directory: yes
/proc/PID/net/dev exists: yes
--- /proc/net/dev
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
--- /proc/net/route
Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
--- /proc/net/if_inet6 (flags without 0x40)
00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000000000fffe000001 02 40 20 80     eth0
--- /proc/net/unix
Num       RefCount Protocol Flags    Type St Inode Path
--- /proc/net/tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 100 0 0 10 0
--- /proc/net/udp
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  233: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 0 2 0000000000000000 0
EXPECTED
  guest 'nc -l -p 8080 </dev/null >/dev/null & sleep 0.5; ifconfig eth0 10.0.0.1 up; route add default gw 10.0.0.254
awk "{ print FILENAME, length(\$0) }" /proc/net/route /proc/net/tcp /proc/net/udp; netstat -tln'
  [ "$status" -eq 0 ]
  [ "$output" = "/proc/net/route 127
/proc/net/route 127
/proc/net/route 127
/proc/net/tcp 149
/proc/net/udp 127
Active Internet connections (only servers)
Proto Recv-Q Send-Q Local Address           Foreign Address         State       
tcp        0      0 :::8080                 :::*                    LISTEN      " ] || { echo "$output"; false; }
}

@test "busybox ifconfig and route: list, configure eth0, default route, errors" {
  guest 'ifconfig -a | grep -v -e packets -e bytes -e collisions
ifconfig eth0 10.0.0.1 netmask 255.255.255.0 up && route add default gw 10.0.0.254 && route -n &&
  ifconfig eth0 | grep -e "inet addr" -e MTU
route add default gw 10.0.0.254; route del default; route -n; ifconfig nope0; echo "ifconfig: $?"'
  [ "$status" -eq 0 ]
  [ "$output" = "eth0      Link encap:Ethernet  HWaddr 02:00:00:00:00:01  
          inet6 addr: fe80::ff:fe00:1/64 Scope:Link
          BROADCAST MULTICAST  MTU:1500  Metric:1

lo        Link encap:Local Loopback  
          inet addr:127.0.0.1  Mask:255.0.0.0
          inet6 addr: ::1/128 Scope:Host
          UP LOOPBACK RUNNING  MTU:65535  Metric:1

Kernel IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface
0.0.0.0         10.0.0.254      0.0.0.0         UG    0      0        0 eth0
10.0.0.0        0.0.0.0         255.255.255.0   U     0      0        0 eth0
          inet addr:10.0.0.1  Bcast:10.0.0.255  Mask:255.255.255.0
          UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1
route: SIOCADDRT: File exists
Kernel IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface
10.0.0.0        0.0.0.0         255.255.255.0   U     0      0        0 eth0
ifconfig: nope0: error fetching interface information: Device not found
ifconfig: 1" ] || { echo "$output"; false; }
}

@test "busybox ip: link, addr add, link set up, route add/get/del, flush" {
  guest 'ip link
ip addr add 10.0.0.2/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.0.1 &&
  ip -4 addr show dev eth0 && ip route && ip route get 192.0.2.1
ip route add default via 10.0.0.1; ip addr add 10.0.0.3/24 dev eth0; ip link set eth0 mtu 1400; ip link show eth0
ip route del default; ip addr flush dev eth0; ip link set eth0 down; ip addr; ip route'
  [ "$status" -eq 0 ]
  [ "$output" = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65535 qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0: <BROADCAST,MULTICAST> mtu 1500 qlen 1000
    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qlen 1000
    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0
       valid_lft forever preferred_lft forever
default via 10.0.0.1 dev eth0 
10.0.0.0/24 dev eth0 scope link  src 10.0.0.2 
192.0.2.1 via 10.0.0.1 dev eth0  src 10.0.0.2 
ip: RTNETLINK answers: File exists
ip: RTNETLINK answers: Operation not supported
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qlen 1000
    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65535 qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host 
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST> mtu 1400 qlen 1000
    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff" ] || { echo "$output"; false; }
}

@test "busybox udhcpc gets a lease from slirp through its AF_PACKET socket and configures eth0 with ip" {
  guest 'udhcpc -i eth0 -n -q -f -s /bin/udhcpc.script 2>&1; echo "udhcpc: $?"
ip -4 addr show dev eth0; route -n; ping -c 1 10.0.2.2 | grep -c "bytes from"; grep -c 52:55:0a:00:02:02 /proc/net/arp'
  [ "$status" -eq 0 ]
  [[ "$output" == *"udhcpc: lease of 10.0.2.15 obtained from 10.0.2.2"* ]] || { echo "$output"; false; }
  [[ "$output" == *"bound eth0 10.0.2.15/24 router 10.0.2.2
udhcpc: 0
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qlen 1000
    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0
       valid_lft forever preferred_lft forever
Kernel IP routing table
Destination     Gateway         Genmask         Flags Metric Ref    Use Iface
0.0.0.0         10.0.2.2        0.0.0.0         UG    0      0        0 eth0
10.0.2.0        0.0.0.0         255.255.255.0   U     0      0        0 eth0
1
1" ]] || { echo "$output"; false; }
}

@test "an unprivileged user may look but not change: ifconfig, ip, route, udhcpc" {
  guest 'su -s /bin/sh nobody -c "ifconfig lo down; ifconfig lo | head -1; ip addr add 10.9.9.9/24 dev eth0
ip link | head -1; route add default gw 127.0.0.2; route del default; udhcpc -i eth0 -n -q 2>&1 | tail -1"'
  [ "$status" -eq 0 ]
  [ "$output" = "ifconfig: SIOCSIFFLAGS: Operation not permitted
lo        Link encap:Local Loopback  
ip: RTNETLINK answers: Operation not permitted
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65535 qlen 1000
route: SIOCADDRT: Operation not permitted
route: SIOCDELRT: Operation not permitted
udhcpc: socket: Operation not permitted" ] || { echo "$output"; false; }
}
