#!/usr/bin/env bats
# umkernel networking: AF_INET sockets over loopback (tests/guest/inet_sockets, natively and in
# the guest, outputs compared), interface configuration (ip=, ifconfig, route, ip, /proc/net),
# command-line errors, two umkernel VMs on umswitch (ping, 100 MiB over TCP), a umkernel VM and
# Debian's UML kernel on one switch, eth0=slirp (the host's loopback through 10.0.2.2, hostfwd
# into the guest), DHCP from umswitch --nat and from slirp, and a switch that goes away.
load helpers
load net_helpers

PROG="$UM_GUEST_BIN/inet_sockets"

setup_file() {
  # Socket paths must fit in 108 bytes: keep the directory short.
  W=$(mktemp -d /tmp/umnet.XXXXXX)
  chmod 755 "$W"
  export W
  # A udhcpc script that configures the interface and says what it got.
  mkdir -p "$W/files"
  cat > "$W/files/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    for r in $router; do route add default gw "$r" dev "$interface"; done
    echo "DHCP BOUND $ip router $router dns $dns" ;;
  deconfig) ifconfig "$interface" 0.0.0.0 up ;;
esac
SCRIPT
  chmod 755 "$W/files/udhcpc.script"
  "$UMIMAGE" create "$W/root.img" --busybox --size 128M >/dev/null
  "$UMIMAGE" mkdir "$W/root.img" /etc/udhcpc >/dev/null 2>&1 || true
  "$UMIMAGE" put "$W/root.img" "$W/files/udhcpc.script" /etc/udhcpc/default.script >/dev/null
  if [ -x "$PROG" ]; then "$UMIMAGE" put "$W/root.img" "$PROG" /bin/inet_sockets >/dev/null; fi
  if [ -x /usr/bin/linux ]; then make_uml_image; fi
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

teardown() {
  stop_test_processes
  [ -n "${SW_PID:-}" ] && { kill "$SW_PID" 2>/dev/null; wait "$SW_PID" 2>/dev/null; } || true
  [ -n "${USER_DIR:-}" ] && rm -rf "$USER_DIR"
  true
}

need_prog() { [ -x "$PROG" ] || skip "guest program inet_sockets not built (target guest_inet_sockets)"; }
# ---------------------------------------------------------------------------------------
# AF_INET over loopback: no NIC needed.

# Runs one part of the program natively and in the guest and compares the outputs.
same_as_native() {
  expect_native_output "$(cd "$BATS_TEST_TMPDIR" && "$PROG" "$1" 2>&1)" ro "ubd0=$W/root.img" init=/bin/sh -- -c \
    "mount -t proc proc /proc; /bin/inet_sockets $1"
}

@test "inet tcp: bind/listen/connect/accept4, names, send/recv, MSG_PEEK/DONTWAIT/WAITALL, shutdown, refused, resets" {
  need_prog
  same_as_native tcp
}
@test "inet non-blocking connect (EINPROGRESS, POLLOUT, SO_ERROR), a full connection, refused asynchronously" {
  need_prog
  same_as_native nonblock
}
@test "inet readiness: poll, select, epoll (edge and level), woken by another process, EOF and reset" {
  need_prog
  same_as_native readiness
}
@test "inet options: TCP_NODELAY, SO_KEEPALIVE, buffers, SO_LINGER, IP_TTL/TOS, SO_RCVTIMEO, bad options" {
  need_prog
  same_as_native options
}
@test "inet address reuse: EADDRINUSE, SO_REUSEADDR, TIME_WAIT" {
  need_prog
  same_as_native reuse
}
@test "inet transfer: 8 MiB and 1 MiB at once between two processes, checksums equal" {
  need_prog
  same_as_native transfer
}
@test "inet fork and exec: sockets survive exec unless close-on-exec; a child accepts" {
  need_prog
  same_as_native exec
}
@test "inet EPIPE and SIGPIPE" {
  need_prog
  same_as_native sigpipe
}
@test "inet udp: sendto/recvfrom, boundaries, MSG_TRUNC, sizes, connected UDP, ECONNREFUSED" {
  need_prog
  same_as_native udp
}
@test "inet errors: arguments Linux refuses (EINVAL, EFAULT, EAFNOSUPPORT, ...)" {
  need_prog
  same_as_native errors
}

@test "inet icmp: echo to 127.0.0.1 over a raw socket and a ping socket" {
  need_prog
  [ "$(id -u)" = 0 ] || skip "natively this needs root (raw socket; ping_group_range in a private network namespace)"
  command -v unshare >/dev/null && command -v ip >/dev/null || skip "needs unshare and ip"
  # Natively in a private network namespace, so the host's ping_group_range stays as it is.
  native=$(unshare -n sh -c 'ip link set lo up && echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range && exec "$0" icmp' "$PROG" 2>&1) \
    || skip "cannot run natively in a private network namespace: $native"
  run timeout -k 10 120 "$UMKERNEL" quiet ro "ubd0=$W/root.img" init=/bin/sh -- -c '
    mount -t proc proc /proc
    f=/proc/sys/net/ipv4/ping_group_range
    if [ -w $f ]; then echo "0 2147483647" > $f; fi
    /bin/inet_sockets icmp' </dev/null
  if [ "$status" -ne 0 ] || [ "$output" != "$native" ]; then
    echo "status: $status"
    diff <(echo "$native") <(echo "$output") || true
    return 1
  fi
}

@test "inet: the whole program from a busybox shell, twice in parallel" {
  need_prog
  native=$(cd "$BATS_TEST_TMPDIR" && "$PROG" 2>&1)
  run timeout -k 10 300 "$UMKERNEL" quiet ro "ubd0=$W/root.img" init=/bin/sh -- -c '
    mount -t proc proc /proc; mount -t tmpfs tmpfs /tmp
    /bin/inet_sockets > /tmp/a.out 2>&1 & /bin/inet_sockets > /tmp/b.out 2>&1; wait $!; cat /tmp/a.out; cat /tmp/b.out' </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "$native"$'\n'"$native" ] || { diff <(echo "$native"$'\n'"$native") <(echo "$output"); false; }
}

# ---------------------------------------------------------------------------------------
# Interfaces and the command line.

@test "ip= configures eth0 at boot: ifconfig, route, ip addr/route, /proc/net/dev and /proc/net/route; lo is up" {
  start_switch cfg
  vm cfg 60 '
    echo "== ifconfig eth0"; ifconfig eth0
    echo "== ifconfig lo"; ifconfig lo
    echo "== route -n"; route -n
    echo "== ip addr"; ip addr show dev eth0
    echo "== ip route"; ip route
    echo "== ping lo"; ping -c 2 -w 10 127.0.0.1 >/dev/null && echo "LO PING OK"
    ping -c 2 -w 3 10.0.0.99 >/dev/null 2>&1   # nobody there: ARP requests go out of eth0
    echo "== /proc/net/dev"; cat /proc/net/dev
    sed "s/^ *//" /proc/net/dev | awk -F"[: ]+" "\$1 == \"eth0\" { print \"ETH0 TX PACKETS\", \$11 } \$1 == \"lo\" { print \"LO RX PACKETS\", \$3 }"
    echo "== /proc/net/route"; cat /proc/net/route' \
    eth0=daemon,02:00:00:00:01:01,unix,"$SW_CTL" ip=10.0.0.1::10.0.0.254:255.255.255.0::eth0
  run cat "$W/cfg.log"
  echo "$output"
  [ "$(vm_status cfg)" -eq 0 ]
  [[ "$output" == *"HWaddr 02:00:00:00:01:01"* ]]
  [[ "$output" == *"inet addr:10.0.0.1  Bcast:10.0.0.255  Mask:255.255.255.0"* ]]
  sed -n '/^== ifconfig eth0/,/^== ifconfig lo/p' "$W/cfg.log" | grep -q ' UP .*MTU:1500'
  [[ "$output" == *"inet addr:127.0.0.1  Mask:255.0.0.0"* ]]
  sed -n '/^== ifconfig lo/,/^== route/p' "$W/cfg.log" | grep -q 'UP LOOPBACK RUNNING'
  sed -n '/^== route -n/,/^== ip addr/p' "$W/cfg.log" | awk '$1 == "0.0.0.0" && $2 == "10.0.0.254" && $3 == "0.0.0.0" && $4 == "UG" && $NF == "eth0" { f = 1 } END { exit !f }'
  sed -n '/^== route -n/,/^== ip addr/p' "$W/cfg.log" | awk '$1 == "10.0.0.0" && $2 == "0.0.0.0" && $3 == "255.255.255.0" && $4 == "U" && $NF == "eth0" { f = 1 } END { exit !f }'
  [[ "$output" == *"link/ether 02:00:00:00:01:01"* ]]
  [[ "$output" == *"inet 10.0.0.1/24"*"eth0"* ]]
  [[ "$output" == *"default via 10.0.0.254 dev eth0"* ]]
  [[ "$output" == *"LO PING OK"* ]]
  grep -Eq '^ *lo:' "$W/cfg.log"
  grep -Eq '^ *eth0:' "$W/cfg.log"
  [ "$(awk '$1 == "ETH0" { print $4 }' "$W/cfg.log")" -gt 0 ]
  [ "$(awk '$1 == "LO" { print $4 }' "$W/cfg.log")" -gt 0 ]
  grep -q '^Iface' "$W/cfg.log"
  # The default route: destination 0, gateway 10.0.0.254 (little-endian hex), flags UP|GATEWAY.
  grep -Eq '^eth0[[:space:]]+00000000[[:space:]]+FE00000A[[:space:]]+0003' "$W/cfg.log"
  [ "$(stat_of ports_connected)" -eq 1 ]
}

@test "without ip= eth0 exists but is down; ifconfig and route configure it" {
  start_switch down
  vm down 60 '
    echo "== before"; ifconfig -a
    ifconfig eth0 | grep -q " UP " && echo "UP BEFORE CONFIG"
    ifconfig eth0 10.0.0.5 netmask 255.255.255.0 up || echo "IFCONFIG FAILED"
    route add default gw 10.0.0.254 || echo "ROUTE FAILED"
    echo "== ifconfig"; ifconfig eth0
    echo "== route"; route -n
    echo "== ip addr"; ip addr show dev eth0
    ip link set eth0 down
    ifconfig eth0 | grep -q " UP " && echo "STILL UP AFTER ip link set down"
    ip link set eth0 up
    ifconfig eth0 | grep -q " UP " && echo "UP AGAIN"' \
    eth0=daemon,,unix,"$SW_CTL"
  run cat "$W/down.log"
  echo "$output"
  [ "$(vm_status down)" -eq 0 ]
  sed -n '/^== before/,/^== ifconfig/p' "$W/down.log" | grep -q '^eth0 .*HWaddr'
  sed -n '/^== before/,/^== ifconfig/p' "$W/down.log" | grep -q '^lo '
  [[ "$output" != *"UP BEFORE CONFIG"* ]]
  [[ "$output" != *FAILED* ]]
  [[ "$output" == *"inet addr:10.0.0.5  Bcast:10.0.0.255  Mask:255.255.255.0"* ]]
  sed -n '/^== route/,/^== ip addr/p' "$W/down.log" | awk '$1 == "0.0.0.0" && $2 == "10.0.0.254" && $4 == "UG" && $NF == "eth0" { f = 1 } END { exit !f }'
  [[ "$output" == *"inet 10.0.0.5/24"* ]]
  [[ "$output" != *"STILL UP"* ]]
  [[ "$output" == *"UP AGAIN"* ]]
  # No MAC given: a locally administered unicast one (second hex digit 2, 6, a or e).
  grep -Eq '^eth0 .*HWaddr [0-9A-Fa-f][26AEae](:[0-9A-Fa-f]{2}){5}' "$W/down.log"
}

@test "without ip= busybox ip configures eth0: ip addr add, ip link set up, ip route add" {
  start_switch ipcfg
  vm ipcfg 60 '
    echo "== link before"; ip link show dev eth0
    ip addr add 10.0.1.5/24 dev eth0 || echo "IP ADDR FAILED"
    ip link set eth0 up || echo "IP LINK FAILED"
    ip route add default via 10.0.1.254 || echo "IP ROUTE FAILED"
    echo "== ip addr"; ip addr show dev eth0
    echo "== ip route"; ip route
    echo "== ifconfig"; ifconfig eth0
    echo "== route"; route -n' \
    eth0=daemon,02:00:00:00:01:05,unix,"$SW_CTL"
  run cat "$W/ipcfg.log"
  echo "$output"
  [ "$(vm_status ipcfg)" -eq 0 ]
  [[ "$output" != *FAILED* ]]
  sed -n '/^== link before/,/^== ip addr/p' "$W/ipcfg.log" | grep -q '^2: eth0: <BROADCAST,MULTICAST> '
  sed -n '/^== ip addr/,/^== ip route/p' "$W/ipcfg.log" | grep -q 'eth0: <BROADCAST,MULTICAST,UP,LOWER_UP>'
  [[ "$output" == *"inet 10.0.1.5/24"* ]]
  [[ "$output" == *"default via 10.0.1.254 dev eth0"* ]]
  grep -q 'inet addr:10.0.1.5 .*Mask:255.255.255.0' "$W/ipcfg.log"   # no brd given: Linux shows Bcast:0.0.0.0
  sed -n '/^== route/,$p' "$W/ipcfg.log" | awk '$1 == "0.0.0.0" && $2 == "10.0.1.254" && $4 == "UG" && $NF == "eth0" { f = 1 } END { exit !f }'
}

@test "bad eth0= values are one-line errors with a non-zero exit, never a hang" {
  start_switch bad
  bad() {
    run timeout -k 5 20 "$UMKERNEL" quiet "ubd0=$W/root.img" "uml_dir=$W/uml" ro "$@" init=/bin/sh -- -c 'echo BOOTED'
    echo "$* -> status $status: $output"
    [ "$status" -ne 0 ] && [ "$status" -lt 124 ] || return 1
    # One error line (usage errors may add the "Try 'umkernel --help'" hint).
    local errors
    errors=$(grep -v "^Try 'umkernel --help'" <<<"$output")
    [ "$(wc -l <<<"$errors")" -eq 1 ] || return 1
    [[ "$errors" == "umkernel: "* ]] || return 1
    [[ "$errors" == *eth0* ]] || return 1
    [[ "$output" != *BOOTED* ]] || return 1
  }
  bad eth0=bogus,,unix,"$SW_CTL"
  bad eth0=tuntap-nope
  bad eth0=daemon,zz:00:00:00:00:01,unix,"$SW_CTL"
  bad eth0=daemon,02:00:00:00:01,unix,"$SW_CTL"
  bad eth0=daemon,,unix,"$W/no-such-switch.ctl"
  [[ "$output" == *"no-such-switch.ctl"* ]]
  bad eth0=slirp,,hostfwd=tcp:127.0.0.1:notaport-:80
  # A good one next to them boots.
  run timeout -k 5 30 "$UMKERNEL" quiet "ubd0=$W/root.img" "uml_dir=$W/uml" ro eth0=daemon,,unix,"$SW_CTL" init=/bin/sh -- -c 'echo BOOTED'
  [ "$status" -eq 0 ]
  [ "$output" = BOOTED ]
}

# ---------------------------------------------------------------------------------------
# Two machines on a switch.

@test "two umkernel VMs on umswitch ping each other and move 100 MiB over TCP with nc (sha256 equal)" {
  start_switch pair
  # The receiver hashes what arrives and sends its hash back over the same connection.
  vm pair-a 200 "$(receiver_script 10.0.0.2)" \
    eth0=daemon,02:00:00:00:02:01,unix,"$SW_CTL" ip=10.0.0.1:::255.255.255.0::eth0 &
  KILL_PIDS="$!"
  vm pair-b 200 "$(sender_script 10.0.0.1 100)" \
    eth0=daemon,02:00:00:00:02:02,unix,"$SW_CTL" ip=10.0.0.2:::255.255.255.0::eth0 mem=512M
  wait "$KILL_PIDS"
  show_vm pair-a pair-b
  [ "$(vm_status pair-a)" -eq 0 ]
  [ "$(vm_status pair-b)" -eq 0 ]
  grep -q "PING OK" "$W/pair-a.log"
  grep -q "PING OK" "$W/pair-b.log"
  sent=$(sed -n 's/^SENT SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/pair-b.log")
  got=$(sed -n 's/^RECV SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/pair-a.log")
  echoed=$(sed -n 's/^ECHOED SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/pair-b.log")
  [ -n "$sent" ]
  [ "$sent" = "$got" ]
  [ "$sent" = "$echoed" ]
  [ "$(stat_of ports_connected)" -eq 2 ]
  # More than 100 MiB went through the switch, in frames of at most 1514 bytes.
  [ "$(stat_of frames_in)" -gt 70000 ]
}

@test "a umkernel VM and Debian's UML kernel on one umswitch ping each other" {
  need_uml
  start_switch mixed
  mkdir -p "$W/umlrun"
  TMPDIR="$W" timeout -k 5 120 "$UML" ubd0r="$W/uml.img" ro mem=96M umid=mixed-uml \
    uml_dir="$W/umlrun" eth0=daemon,02:00:00:00:03:02,unix,"$SW_CTL" ip=10.0.3.2 peer=10.0.3.1 \
    init=/init con=null ssl=null con0=null,fd:1 </dev/null >"$W/mixed-uml.log" 2>&1 &
  KILL_PIDS="$!"
  vm mixed 120 '
    wait_peer 10.0.3.2; ping -c 3 -w 10 10.0.3.2 >/dev/null && echo "PING OK" || echo "PING FAILED"
    sleep 6   # keep answering the pings of the UML guest' \
    eth0=daemon,,unix,"$SW_CTL" ip=10.0.3.1:::255.255.255.0::eth0
  # If umkernel failed the UML guest would ping for a minute: stop it now.
  [ "$(vm_status mixed)" -eq 0 ] || kill "$KILL_PIDS" 2>/dev/null || true
  wait "$KILL_PIDS" || true
  show_vm mixed
  echo "--- UML:"
  cat "$W/mixed-uml.log"
  [ "$(vm_status mixed)" -eq 0 ]
  grep -q "PING OK" "$W/mixed.log"
  grep -q "PING OK" "$W/mixed-uml.log"
}

# ---------------------------------------------------------------------------------------
# NAT: slirp inside umkernel, and umswitch --nat.

start_http() {  # start_http DIR: python3's web server on the host's 127.0.0.1; sets HTTP_PORT
  HTTP_PORT=$(free_port)
  (cd "$1" && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 >/dev/null 2>&1 3>&-) &
  KILL_PIDS="${KILL_PIDS:-} $!"
  wait_for_port "$HTTP_PORT" 20
}

@test "eth0=slirp (as an unprivileged user): wget from the host's loopback via 10.0.2.2; hostfwd reaches the guest's httpd" {
  USER_DIR=$(user_dir)
  as_user test -x "$UMKERNEL" || skip "$UMKERNEL is not executable by $UM_TEST_USER"
  mkdir -p "$W/www-slirp"
  echo "host-page-$$" > "$W/www-slirp/page.txt"
  head -c 3000000 /dev/urandom > "$W/www-slirp/big.bin"
  want_big=$(sha256sum < "$W/www-slirp/big.bin" | cut -d' ' -f1)
  start_http "$W/www-slirp"
  fwd=$(free_port)
  ctl=$(free_port)
  cp --sparse=always "$W/root.img" "$USER_DIR/slirp.img"
  chmod 666 "$USER_DIR/slirp.img"
  as_user env UML_DIR="$USER_DIR/uml" timeout -k 5 120 "$UMKERNEL" quiet "ubd0=$USER_DIR/slirp.img" \
    "eth0=slirp,,hostfwd=tcp:127.0.0.1:$fwd-:80,hostfwd=tcp:127.0.0.1:$ctl-:81" \
    ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0 init=/bin/sh -- -c "
    mount -t proc proc /proc; mount -t tmpfs tmpfs /tmp
    echo \"FETCHED: \$(wget -q -O - http://10.0.2.2:$HTTP_PORT/page.txt)\"
    echo \"BIG: \$(wget -q -O - http://10.0.2.2:$HTTP_PORT/big.bin | sha256sum)\"
    mkdir -p /tmp/www && echo guest-page-$$ > /tmp/www/index.html
    httpd -p 80 -h /tmp/www && echo SERVING
    timeout 60 nc -l -p 81 -e sh -c 'cat > /tmp/said'
    echo \"HOST SAID: \$(cat /tmp/said)\"
    echo DONE" </dev/null >"$USER_DIR/slirp.log" 2>&1 &
  vm=$!
  KILL_PIDS="${KILL_PIDS:-} $vm"
  wait_for_text "$USER_DIR/slirp.log" SERVING 60 "$vm" || true
  run python3 - "$fwd" "$ctl" <<'PY'
import socket, sys, time, urllib.request
fwd, ctl = int(sys.argv[1]), int(sys.argv[2])
page = "none"
for _ in range(20):
    try:
        page = urllib.request.urlopen("http://127.0.0.1:%d/index.html" % fwd, timeout=10).read().decode().strip()
        break
    except Exception as e:
        page = "error: %s" % e
        time.sleep(0.5)
print(page)
with socket.create_connection(("127.0.0.1", ctl), timeout=10) as s:
    s.sendall(b"bye\n")
PY
  page_output=$output
  rc=0
  wait "$vm" || rc=$?
  cat "$USER_DIR/slirp.log"
  echo "host got: $page_output"
  [ "$rc" -eq 0 ]
  grep -q "FETCHED: host-page-$$" "$USER_DIR/slirp.log"
  grep -q "BIG: $want_big" "$USER_DIR/slirp.log"
  [ "${page_output%%$'\n'*}" = "guest-page-$$" ]
  grep -q "HOST SAID: bye" "$USER_DIR/slirp.log"
  grep -q "^DONE" "$USER_DIR/slirp.log"
}

@test "eth0=slirp: udhcpc gets 10.0.2.15, router 10.0.2.2, DNS 10.0.2.3" {
  vm slirp-dhcp 60 '
    ifconfig eth0 up
    udhcpc -i eth0 -n -q -t 10 -T 2 || echo "DHCP FAILED"
    echo "== ifconfig"; ifconfig eth0
    echo "== route"; route -n' \
    eth0=slirp
  show_vm slirp-dhcp
  [ "$(vm_status slirp-dhcp)" -eq 0 ]
  grep -q "DHCP BOUND 10.0.2.15 router 10.0.2.2 dns 10.0.2.3" "$W/slirp-dhcp.log"
  grep -q "inet addr:10.0.2.15 " "$W/slirp-dhcp.log"
  sed -n '/^== route/,$p' "$W/slirp-dhcp.log" | awk '$1 == "0.0.0.0" && $2 == "10.0.2.2" && $4 == "UG" && $NF == "eth0" { f = 1 } END { exit !f }'
}

@test "udhcpc on a umswitch --nat switch: lease 10.0.2.15, then a page from the host through the NAT" {
  mkdir -p "$W/www-nat"
  echo "nat-page-$$" > "$W/www-nat/page.txt"
  start_http "$W/www-nat"
  start_switch nat --nat
  vm nat 90 "
    ifconfig eth0 up
    udhcpc -i eth0 -n -q -t 10 -T 2 || echo 'DHCP FAILED'
    echo '== ifconfig'; ifconfig eth0
    echo '== route'; route -n
    echo \"FETCHED: \$(wget -q -O - http://10.0.2.2:$HTTP_PORT/page.txt)\"" \
    eth0=daemon,02:00:00:00:04:01,unix,"$SW_CTL"
  show_vm nat
  [ "$(vm_status nat)" -eq 0 ]
  grep -q "DHCP BOUND 10.0.2.15 router 10.0.2.2" "$W/nat.log"
  grep -q "inet addr:10.0.2.15 " "$W/nat.log"
  sed -n '/^== route/,$p' "$W/nat.log" | awk '$1 == "0.0.0.0" && $2 == "10.0.2.2" && $4 == "UG" && $NF == "eth0" { f = 1 } END { exit !f }'
  grep -q "FETCHED: nat-page-$$" "$W/nat.log"
}

@test "the switch goes away while the guest runs: the guest keeps running and finishes its command" {
  start_switch gone
  vm gone 60 '
    ping -c 1 -w 2 10.0.5.2 >/dev/null 2>&1   # nobody there: an ARP request reaches the switch
    echo READY
    sleep 4
    ping -c 2 -w 3 10.0.5.2 >/dev/null 2>&1; echo "ping without a switch: $?"
    ifconfig eth0 >/dev/null && echo "eth0 still there"
    echo written > /tmp/f && cat /tmp/f
    echo FINISHED' \
    eth0=daemon,02:00:00:00:05:01,unix,"$SW_CTL" ip=10.0.5.1:::255.255.255.0::eth0 &
  KILL_PIDS="$!"
  wait_for_text "$W/gone.log" READY 45 "$KILL_PIDS" || { show_vm gone; false; }
  [ "$(stat_of ports)" -eq 1 ]
  [ "$(stat_of frames_in)" -gt 0 ]
  kill -KILL "$SW_PID"
  wait "$SW_PID" || true
  SW_PID=""
  rm -f "$SW_CTL"
  wait "$KILL_PIDS"
  show_vm gone
  [ "$(vm_status gone)" -eq 0 ]
  grep -q "ping without a switch: 1" "$W/gone.log"
  grep -q "eth0 still there" "$W/gone.log"
  grep -q "^written" "$W/gone.log"
  grep -q "^FINISHED" "$W/gone.log"
}
