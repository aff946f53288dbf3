#!/usr/bin/env bats
# umswitch: protocol tests with umswitch-peer, two Debian UML kernels pinging through the
# switch (and hub) with a pcap read by tshark, NAT with DHCP + HTTP, tap bridging, and a
# soak under valgrind.
load helpers

setup_file() {
  export PEER
  PEER=""
  for d in "${UM_BUILD:-}" "$BATS_TEST_DIRNAME"/../../build-switch "$BATS_TEST_DIRNAME"/../../build; do
    if [ -n "$d" ] && [ -x "$d/tests/tools/umswitch-peer" ]; then PEER="$d/tests/tools/umswitch-peer"; break; fi
  done
  # Socket paths must fit in 108 bytes: keep them short.
  export SW_DIR
  SW_DIR=$(mktemp -d /tmp/umsw.XXXXXX)
  chmod 755 "$SW_DIR"
  export SW_IMG="$SW_DIR/root.img"
  if [ -x /usr/bin/linux ]; then make_guest_image; fi
}

teardown_file() {
  rm -rf "$SW_DIR"
}

teardown() {
  [ -n "${SW_PID:-}" ] && kill "$SW_PID" 2>/dev/null || true
  [ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null || true
  [ -n "${DNS_PID:-}" ] && kill "$DNS_PID" 2>/dev/null || true
  [ -s "$SW_DIR/d.pid" ] && kill "$(cat "$SW_DIR/d.pid")" 2>/dev/null || true   # --daemon test
  true
}

# A busybox root whose /init reads its job from the kernel command line:
#   ip=ADDR peer=ADDR   → configure eth0, ping the peer until 3 replies (40 s deadline)
#   ip=dhcp url=URL     → udhcpc on eth0, then wget URL through the NAT gateway
#     big=URL           → also fetch URL and print its size
#     dns=NAME          → also resolve NAME with the DNS server 10.0.2.2 (UDP to the host)
#     serve=TEXT        → instead serve TEXT with busybox httpd on port 80 until halted
make_guest_image() {
  local r="$SW_DIR/root"
  mkdir -p "$r"/{bin,sbin,etc/udhcpc,proc,sys,dev,tmp,root}
  cp /bin/busybox "$r/bin/"
  for a in sh mount mkdir ifconfig route ping poweroff sleep echo cat udhcpc wget httpd nslookup; do ln -s busybox "$r/bin/$a"; done
  cat > "$r/etc/udhcpc/default.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    ifconfig $interface $ip netmask ${subnet:-255.255.255.0} up
    for r in $router; do route add default gw $r dev $interface; done
    echo "DHCP BOUND $ip router $router" ;;
  deconfig) ifconfig $interface 0.0.0.0 up ;;
esac
SCRIPT
  cat > "$r/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /tmp
for w in $(cat /proc/cmdline); do
  case $w in ip=*) IP=${w#ip=};; peer=*) PEER=${w#peer=};; url=*) URL=${w#url=};; serve=*) SERVE=${w#serve=};; big=*) BIG=${w#big=};; dns=*) DNS=${w#dns=};; esac
done
ifconfig lo up
if [ "$IP" = dhcp ]; then
  ifconfig eth0 up
  udhcpc -i eth0 -s /etc/udhcpc/default.script -n -q -t 10 -T 2 || echo "DHCP FAILED"
  if [ -n "$SERVE" ]; then
    mkdir -p /tmp/www && echo "$SERVE" > /tmp/www/index.html
    httpd -p 80 -h /tmp/www && echo "SERVING"
    sleep 60   # until halted through mconsole
  fi
  wget -q -O /tmp/page "$URL" && echo "FETCHED: $(cat /tmp/page)" || echo "FETCH FAILED"
  [ -n "$BIG" ] && echo "BIG BYTES: $(wget -q -O - "$BIG" | wc -c)"
  [ -n "$DNS" ] && nslookup "$DNS" 10.0.2.2
else
  ifconfig eth0 "$IP" netmask 255.255.255.0 up
  echo "GUEST UP $IP"
  ping -c 3 -w 40 "$PEER" && echo "PING OK" || echo "PING FAILED"
  sleep 2   # keep answering the peer's last pings
fi
mount -o remount,ro /
poweroff -f
INIT
  chmod +x "$r/init" "$r/etc/udhcpc/default.script"
  mke2fs -q -t ext4 -d "$r" "$SW_IMG" 64M
}

# run_vm NAME MAC CTL ARGS... : boots a UML on the switch (daemon transport), console to
# $SW_DIR/NAME.log. run_vm_eth NAME ETHSPEC ARGS... takes the whole eth0= value.
run_vm() {
  local name=$1 mac=$2 ctl=$3
  shift 3
  run_vm_eth "$name" daemon,"$mac",unix,"$ctl" "$@"
}
run_vm_eth() {
  local name=$1 eth=$2
  shift 2
  mkdir -p "$SW_DIR/uml"
  TMPDIR="$SW_DIR" timeout 120 "$UML" ubd0r="$SW_IMG" ro mem=96M umid="$name" \
    uml_dir="$SW_DIR/uml" eth0="$eth" init=/init \
    con=null ssl=null con0=null,fd:1 "$@" </dev/null >"$SW_DIR/$name.log" 2>&1 || true
}

start_switch() {  # start_switch NAME [OPTIONS...]: sets SW_CTL and SW_PID
  SW_CTL="$SW_DIR/$1.ctl"
  local name=$1
  shift
  "$UMSWITCH" --unix "$SW_CTL" "$@" >"$SW_DIR/$name.out" 2>"$SW_DIR/$name.err" 3>&- &
  SW_PID=$!
  for _ in $(seq 50); do [ -S "$SW_CTL" ] && return 0; sleep 0.1; done
  cat "$SW_DIR/$name.err"
  return 1
}

stop_switch() {
  kill -TERM "$SW_PID"
  wait "$SW_PID" || true
  SW_PID=""
}

need_uml() { [ -x /usr/bin/linux ] || skip "no /usr/bin/linux"; }
need_peer() { [ -n "$PEER" ] || skip "umswitch-peer not built (cmake --build BUILD --target umswitch-peer)"; }

stat_of() { "$UMSWITCH" ctl "$SW_CTL" stats | awk -v k="$1" '$1 == k { print $2 }'; }

@test "help and man page list the same options" {
  run "$UMSWITCH" --help
  [ "$status" -eq 0 ]
  opts=$(grep -o -- '--[a-z][a-z-]*' <<<"$output" | sort -u)
  [ -n "$opts" ]
  man_page="$BATS_TEST_DIRNAME/../../man/umswitch.1"
  for o in $opts; do
    grep -q -- "${o//-/\\\\-}" "$man_page" || { echo "man page lacks $o"; return 1; }
  done
}

@test "usage errors exit 2, failures exit 1 with one error line" {
  run "$UMSWITCH" --forward tcp:8080:10.0.2.15:80
  [ "$status" -eq 2 ]
  [[ "$output" == *"--forward needs --nat"* ]]
  run "$UMSWITCH" --nat --forward tcp:nope:10.0.2.15:80
  [ "$status" -eq 2 ]
  run "$UMSWITCH" ctl "$SW_DIR/none.ctl" stats
  [ "$status" -eq 1 ]
  [[ "$output" == "umswitch: error: cannot connect to"* ]]
  run "$UMSWITCH" --unix /nonexistent/dir/x.ctl
  [ "$status" -eq 1 ]
  [[ "$output" == "umswitch: error: "* ]]
}

@test "learning, flooding, no reflection, v0/v1/v3 clients, ctl ports/macs/stats" {
  need_peer
  start_switch learn
  grep -q "umswitch: control socket $SW_CTL" "$SW_DIR/learn.out"
  "$PEER" script "$SW_CTL" <<'SCRIPT'
port a
port b
port c v1
port d v0
# unknown unicast and broadcast are flooded to every other port, never back
send a broadcast
expect b a broadcast
expect c a broadcast
expect d a broadcast
silent a
# b's reply goes only to a: a was learned from its broadcast
send b a
expect a b a
silent c
silent d
# now b is known too: unicast a->b reaches b only
send a b
expect b a b
silent c
silent d
# multicast floods
send c multicast
expect a c
expect b c
expect d c
silent c
# unknown destination floods
send d 02:00:5e:77:77:77
expect a d
expect b d
expect c d
# a MAC seen behind another port moves there
port a2
send a2 b 60
expect b a2
SCRIPT
  # Leave the ports open while asking: keep a client connected in the background.
  "$PEER" script "$SW_CTL" 3>&- <<'SCRIPT' &
port x
port y
send x broadcast
send y x
sleep 1500
SCRIPT
  bg_client=$!
  sleep 0.7
  run "$UMSWITCH" ctl "$SW_CTL" ports
  [ "$status" -eq 0 ]
  [ "$(grep -c ' unix ' <<<"$output")" -eq 2 ]
  [[ "${lines[0]}" == "PORT KIND MACS RX_FRAMES"* ]]
  run "$UMSWITCH" ctl "$SW_CTL" macs
  [[ "$output" == *"02:00:5e:00:00:01 "* ]]
  [[ "$output" == *"02:00:5e:00:00:02 "* ]]
  run "$UMSWITCH" ctl "$SW_CTL" macs --json
  [[ "$output" == '{"max_age":300,"macs":[{"mac":"02:00:5e:00:00:0'* ]]
  run "$UMSWITCH" ctl "$SW_CTL" stats --json
  [[ "$output" == *'"ports":2,'* ]]
  [[ "$output" == *'"ports_connected":7,'* ]]
  wait "$bg_client"
  [ "$(stat_of ports)" -eq 0 ]
  [ "$(stat_of frames_in)" -eq 8 ]
  stop_switch
  [ ! -e "$SW_CTL" ]
  [ ! -e "$SW_DIR/learn.mgmt" ]
}

@test "learned MACs age out (--mac-age)" {
  need_peer
  start_switch age --mac-age 1
  "$PEER" script "$SW_CTL" <<'SCRIPT'
port a
port b
port c
send b broadcast
expect a b
expect c b
send a b
expect b a
silent c
sleep 2500
# b aged out: unicast to it floods again
send a b
expect b a
expect c a
SCRIPT
  stop_switch
}

@test "--hub repeats unicast to every port; the pcap survives SIGKILL" {
  need_peer
  start_switch hub --hub --pcap "$SW_DIR/hub.pcap"
  "$PEER" script "$SW_CTL" <<'SCRIPT'
port a
port b
port c
send b broadcast
expect a b
expect c b
send a b
expect b a
expect c a
silent a
SCRIPT
  [ "$(stat_of mode)" = hub ]
  # The capture is written as frames pass: it survives a SIGKILL.
  kill -KILL "$SW_PID"
  wait "$SW_PID" || true
  SW_PID=""
  frames=$(tshark -r "$SW_DIR/hub.pcap" -T fields -e eth.src -e eth.dst 2>/dev/null)
  echo "$frames"
  [ "$(wc -l <<<"$frames")" -eq 2 ]
  [[ "$(sed -n 1p <<<"$frames")" == "02:00:5e:00:00:02"*"ff:ff:ff:ff:ff:ff" ]]
  [[ "$(sed -n 2p <<<"$frames")" == "02:00:5e:00:00:01"*"02:00:5e:00:00:02" ]]
}

@test "malformed frames, garbage requests and a flood are dropped and counted" {
  need_peer
  start_switch bad
  name_hex=$(printf 'umswitch-test-nobody-%s' "$$" | od -An -tx1 | tr -d ' \n')
  unreachable=$(printf 'cefaedfe03000000000000000100%s%s' "00$name_hex" "$(printf '0%.0s' $(seq $((2 * (108 - 1 - ${#name_hex} / 2) + 4))))")
  [ "${#unreachable}" -eq 248 ]   # 124 bytes, as UML sends
  "$PEER" script "$SW_CTL" <<SCRIPT
port a
port b
port sink
send sink broadcast
expect a sink
expect b sink
raw a 0
raw a 13
raw a 1519
raw a 1900
silent b
# garbage, a v2 request, an unknown version, a wrong family, a truncated request
garbage 0102030405060708
garbage cefaedfe02000000
garbage cefaedfe09000000
garbage cefaedfe03000000000000000200
# a truncated request is given up after 5 s
garbage 00000000 8000
# a well-formed v3 request for a data socket that does not exist: refused, no reply
garbage $unreachable
# the sink never reads: the flood fills its queue, the rest is dropped, others unaffected
flood a sink 20000
send a b
expect b a
send b a
expect a b
SCRIPT
  [ "$(stat_of drop_too_short)" -eq 2 ]
  [ "$(stat_of drop_too_long)" -eq 2 ]
  [ "$(stat_of bad_requests)" -eq 6 ]
  grep -q "cannot reach the client's data socket @umswitch-test-nobody" "$SW_DIR/bad.err"
  [ "$(stat_of drop_tx_full)" -gt 0 ]
  grep -q "version 2 is not supported" "$SW_DIR/bad.err"
  kill -0 "$SW_PID"
  stop_switch
}

@test "port limit: connections beyond --max-ports are refused" {
  need_peer
  start_switch max --max-ports 2
  run "$PEER" script "$SW_CTL" <<'SCRIPT'
port a
port b
port c
SCRIPT
  [ "$status" -ne 0 ]
  [ "$(stat_of ports_refused)" -eq 1 ]
  stop_switch
}

# Two Debian UML kernels on the switch ping each other; the capture shows ARP and ICMP.
uml_pair() {
  local mode=$1
  shift
  start_switch "pair-$mode" --pcap "$SW_DIR/$mode.pcap" "$@"
  run_vm "$mode-b" 02:00:00:00:10:02 "$SW_CTL" ip=10.0.0.2 peer=10.0.0.1 &
  local vm_b=$!
  run_vm "$mode-a" 02:00:00:00:10:01 "$SW_CTL" ip=10.0.0.1 peer=10.0.0.2
  wait "$vm_b"
  grep -q "PING OK" "$SW_DIR/$mode-a.log" || { cat "$SW_DIR/$mode-a.log"; return 1; }
  grep -q "PING OK" "$SW_DIR/$mode-b.log" || { cat "$SW_DIR/$mode-b.log"; return 1; }
  [ "$(stat_of ports_connected)" -eq 2 ]
  [ "$(stat_of ports_disconnected)" -eq 2 ]
  stop_switch
  run tshark -r "$SW_DIR/$mode.pcap" -Y arp
  [ "$status" -eq 0 ]
  [[ "$output" == *"Who has 10.0.0."* ]]
  [[ "$output" == *"is at 02:00:00:00:10:0"* ]]
  run tshark -r "$SW_DIR/$mode.pcap" -Y icmp
  [[ "$output" == *"10.0.0.1 → 10.0.0.2"*"Echo (ping) request"* ]]
  [[ "$output" == *"Echo (ping) reply"* ]]
}

@test "two UML kernels ping each other through umswitch; pcap readable by tshark" {
  need_uml
  uml_pair switch
}

@test "two UML kernels ping each other through umswitch --hub" {
  need_uml
  uml_pair hub --hub
}

@test "a vde2 client (UML eth0=vde) and a daemon-transport UML ping each other" {
  need_uml
  mkdir -p "$SW_DIR/vde"
  # vde2 clients open DIR/ctl: name the control socket that way.
  SW_CTL="$SW_DIR/vde/ctl"
  "$UMSWITCH" --unix "$SW_CTL" >"$SW_DIR/vde.out" 2>"$SW_DIR/vde.err" 3>&- &
  SW_PID=$!
  for _ in $(seq 50); do [ -S "$SW_CTL" ] && break; sleep 0.1; done
  run_vm_eth vde-b vde,"$SW_DIR/vde",02:00:00:00:40:02 ip=10.0.1.2 peer=10.0.1.1 &
  vm_b=$!
  run_vm vde-a 02:00:00:00:40:01 "$SW_CTL" ip=10.0.1.1 peer=10.0.1.2
  wait "$vm_b"
  grep -q "PING OK" "$SW_DIR/vde-a.log" || { cat "$SW_DIR/vde-a.log"; return 1; }
  grep -q "PING OK" "$SW_DIR/vde-b.log" || { cat "$SW_DIR/vde-b.log"; return 1; }
  grep -q "unix $SW_DIR/vde/" "$SW_DIR/vde.err"   # the vde client's pathname data socket
  stop_switch
}

@test "default control socket in the run directory; --daemon returns when ready" {
  need_peer
  home="$SW_DIR/home"
  mkdir -p "$home"
  # The daemon keeps stdout/stderr (like uml_switch -daemon): send them to a file.
  env -u UML_DIR HOME="$home" "$UMSWITCH" --daemon --pidfile "$SW_DIR/d.pid" >"$SW_DIR/d.out" 2>&1 3>&-
  grep -q "umswitch: control socket $home/.uml/switch.ctl" "$SW_DIR/d.out"
  grep -q "umswitch: management socket $home/.uml/switch.mgmt" "$SW_DIR/d.out"
  [ -S "$home/.uml/switch.ctl" ]
  pid=$(cat "$SW_DIR/d.pid")
  kill -0 "$pid"
  SW_CTL="$home/.uml/switch.ctl"
  "$PEER" script "$SW_CTL" <<'SCRIPT'
port a
port b
send a broadcast
expect b a
SCRIPT
  [ "$(stat_of frames_in)" -eq 1 ]
  run env -u UML_DIR HOME="$home" "$UMSWITCH" ctl stats   # the default socket
  [ "$status" -eq 0 ]
  [[ "$output" == *"frames_in 1"* ]]
  run "$UMSWITCH" ctl "$SW_CTL" bogus
  [ "$status" -eq 2 ]
  kill -INT "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null
  [ ! -e "$home/.uml/switch.ctl" ]
  [ ! -e "$home/.uml/switch.mgmt" ]
  [ ! -e "$SW_DIR/d.pid" ]
  # A second switch on a live control socket fails; a stale one is replaced.
  start_switch live --pcap "$SW_DIR/live.pcap" --pidfile "$SW_DIR/live.pid"
  "$PEER" script "$SW_CTL" <<'SCRIPT'
port a
send a broadcast
SCRIPT
  # The switch captures the frame when it gets to it (the peer does not wait for that).
  for _ in $(seq 50); do [ "$(stat -c %s "$SW_DIR/live.pcap")" -gt 24 ] && break; sleep 0.1; done
  size=$(stat -c %s "$SW_DIR/live.pcap")
  [ "$size" -gt 24 ]
  run "$UMSWITCH" --unix "$SW_CTL" --pcap "$SW_DIR/live.pcap" --pidfile "$SW_DIR/live.pid"
  [ "$status" -eq 1 ]
  [[ "$output" == *"is in use"* ]]
  # ... and leaves the running switch's socket, capture and pid file alone.
  [ -S "$SW_CTL" ]
  [ "$(stat -c %s "$SW_DIR/live.pcap")" -eq "$size" ]
  [ "$(cat "$SW_DIR/live.pid")" = "$SW_PID" ]
  stop_switch
  # A stale socket file (nobody listening) is replaced.
  python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SW_CTL"
  [ -S "$SW_CTL" ]
  start_switch live
  "$UMSWITCH" ctl "$SW_CTL" stats >/dev/null
}

@test "--nat: a UML guest gets DHCP, fetches pages (12 B, 8 MB) and resolves over UDP via the host's 127.0.0.1" {
  need_uml
  mkdir -p "$SW_DIR/www"
  echo "umswitch-nat-$$" > "$SW_DIR/www/index.html"
  head -c 8000000 /dev/urandom > "$SW_DIR/www/big.bin"
  port=$((20000 + RANDOM % 20000))
  (cd "$SW_DIR/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1 3>&-) &
  HTTP_PID=$!
  # UDP: a tiny DNS server on the host's 127.0.0.1:53 (root only) answers A queries.
  dns_args=()
  if [ "$(id -u)" = 0 ] && ! ss -lun 2>/dev/null | grep -q '127.0.0.1:53 '; then
    python3 - "$SW_DIR/dns.log" >/dev/null 2>&1 3>&- <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    q, peer = s.recvfrom(512)
    i = 12
    while q[i]: i += q[i] + 1
    question, qtype = q[12:i + 5], q[i + 1:i + 3]
    with open(sys.argv[1], "a") as log: log.write(q[13:i].decode(errors="replace") + "\n")
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, 9, 8, 7]) if qtype == b"\x00\x01" else b""
    s.sendto(q[:2] + b"\x81\x80\x00\x01" + (b"\x00\x01" if answer else b"\x00\x00") + b"\x00\x00\x00\x00" + question + answer, peer)
PY
    DNS_PID=$!
    dns_args=(dns=umswitch-udp.test)
  fi
  start_switch nat --nat
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  run_vm nat 02:00:00:00:20:01 "$SW_CTL" ip=dhcp url=http://10.0.2.2:$port/index.html \
    big=http://10.0.2.2:$port/big.bin "${dns_args[@]}"
  grep -q "DHCP BOUND 10.0.2.15 router 10.0.2.2" "$SW_DIR/nat.log" || { cat "$SW_DIR/nat.log"; return 1; }
  grep -q "FETCHED: umswitch-nat-$$" "$SW_DIR/nat.log" || { cat "$SW_DIR/nat.log"; return 1; }
  # 8 MB of TCP into the guest: bursts beyond the UML socket's 10-datagram queue wait in the
  # port's backlog instead of being dropped.
  grep -q "BIG BYTES: 8000000" "$SW_DIR/nat.log" || { cat "$SW_DIR/nat.log"; return 1; }
  if [ -n "${DNS_PID:-}" ]; then
    grep -q "umswitch-udp" "$SW_DIR/dns.log"
    grep -q "10.9.8.7" "$SW_DIR/nat.log" || { cat "$SW_DIR/nat.log"; return 1; }
  fi
  "$UMSWITCH" ctl "$SW_CTL" stats
  run "$UMSWITCH" ctl "$SW_CTL" ports
  [[ "$output" == *" nat "* ]]
  stop_switch
}

@test "--nat --forward: a host connection reaches a web server in a UML guest" {
  need_uml
  port=$((20000 + RANDOM % 20000))
  start_switch fwd --nat --forward "tcp:$port:10.0.2.15:80"
  run "$UMSWITCH" --unix "$SW_DIR/fwd2.ctl" --nat --forward "tcp:$port:10.0.2.15:80"
  [ "$status" -eq 1 ]
  [[ "$output" == *"cannot forward tcp 127.0.0.1:$port"* ]]
  run_vm fwd 02:00:00:00:20:02 "$SW_CTL" ip=dhcp serve=guest-page-$$ url=http://10.0.2.2:1/ &
  vm=$!
  for _ in $(seq 120); do grep -q SERVING "$SW_DIR/fwd.log" 2>/dev/null && break; sleep 0.5; done
  run curl -s --max-time 10 "http://127.0.0.1:$port/index.html"
  uml_mconsole "$SW_DIR/uml/fwd/mconsole" halt >/dev/null || true
  wait "$vm"
  [ "$output" = "guest-page-$$" ] || { echo "got: $output"; cat "$SW_DIR/fwd.log"; return 1; }
  stop_switch
}

@test "--tap: bridges a host tap device (clear error without the rights)" {
  need_uml
  if [ "$(id -u)" != 0 ] || id "$UM_TEST_USER" >/dev/null 2>&1; then
    mkdir -p "$SW_DIR/user" && chmod 1777 "$SW_DIR/user"
    run as_user "$UMSWITCH" --unix "$SW_DIR/user/tap.ctl" --tap umswt9
    [ "$status" -eq 1 ]
    [[ "$output" == *"cannot attach tap device umswt9"*"CAP_NET_ADMIN"* ]]
    [ ! -e "$SW_DIR/user/tap.ctl" ]   # nothing left behind
  fi
  [ "$(id -u)" = 0 ] || skip "bridging a tap needs root here"
  ip link show umswt9 >/dev/null 2>&1 && skip "umswt9 exists already"
  start_switch tap --tap umswt9
  ip addr add 10.0.99.1/24 dev umswt9
  ip link set umswt9 up
  run_vm tapvm 02:00:00:00:30:01 "$SW_CTL" ip=10.0.99.2 peer=10.0.99.1
  grep -q "PING OK" "$SW_DIR/tapvm.log" || { cat "$SW_DIR/tapvm.log"; stop_switch; return 1; }
  run "$UMSWITCH" ctl "$SW_CTL" ports
  [[ "$output" == *" tap "*"umswt9"* ]]
  stop_switch
  ! ip link show umswt9 2>/dev/null
}

@test "soak: 32 ports joining and leaving (plus NAT) under valgrind, no leaked memory or descriptors" {
  need_peer
  command -v valgrind >/dev/null || skip "valgrind not installed"
  SW_CTL="$SW_DIR/soak.ctl"
  valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --track-fds=yes --log-file="$SW_DIR/valgrind.log" \
    "$UMSWITCH" --unix "$SW_CTL" --max-ports 40 --pcap "$SW_DIR/soak.pcap" --nat -q 3>&- &
  SW_PID=$!
  for _ in $(seq 100); do [ -S "$SW_CTL" ] && break; sleep 0.1; done
  "$PEER" soak "$SW_CTL" --ports 32 --seconds 20
  "$UMSWITCH" ctl "$SW_CTL" stats
  [ "$(stat_of ports)" -eq 1 ]   # only the NAT port is left
  [ "$(stat_of ports_connected)" -gt 40 ]
  [ "$(stat_of drop_too_short)" -gt 0 ]
  kill -TERM "$SW_PID"
  rc=0
  wait "$SW_PID" || rc=$?
  SW_PID=""
  tail -40 "$SW_DIR/valgrind.log"
  [ "$rc" -eq 0 ]
  grep -q "ERROR SUMMARY: 0 errors" "$SW_DIR/valgrind.log"
  # Every descriptor still open at exit must be one inherited from the test harness.
  awk '/Open (file descriptor|AF_UNIX socket|AF_INET)/ { open = 1; next }
       open && /inherited from parent/ { open = 0; next }
       open { leaked++; open = 0 }
       END { exit leaked > 0 }' "$SW_DIR/valgrind.log"
  [ ! -e "$SW_CTL" ]
}
