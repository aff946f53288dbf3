#!/usr/bin/env bats
# umkernel's other NIC transports against real peers: ethN=vde on Debian's vde_switch with
# Debian's UML kernel as the other machine; ethN=mcast between two umkernel VMs (ping and a
# TCP transfer checked with sha256) inside a network namespace whose only interface is lo, so
# no multicast leaves the machine; ethN=tuntap on a tap device in a network namespace; and the
# one-line errors for bad values.
load helpers
load net_helpers

setup_file() {
  W=$(mktemp -d /tmp/umnic.XXXXXX)   # socket paths must fit in 108 bytes
  chmod 755 "$W"
  export W
  "$UMIMAGE" create "$W/root.img" --busybox --size 128M >/dev/null
  if [ -x /usr/bin/linux ]; then make_uml_image; fi
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

teardown() {
  stop_test_processes
  [ -n "${VDE_PID:-}" ] && kill "$VDE_PID" 2>/dev/null || true
  [ -n "${VM_NETNS:-}" ] && ip netns del "$VM_NETNS" 2>/dev/null || true
  true
}

need_vde() { command -v vde_switch >/dev/null || skip "no vde_switch (Debian vde2)"; }

# A network namespace for this test (removed by teardown); sets VM_NETNS.
make_netns() {
  VM_NETNS="umnic$$-$BATS_TEST_NUMBER"
  ip netns add "$VM_NETNS"
  ip -n "$VM_NETNS" link set lo up
}

start_vde() {  # start_vde NAME: a vde_switch on $W/NAME.vde; sets VDE_SOCK and VDE_PID
  VDE_SOCK="$W/$1.vde"
  vde_switch -s "$VDE_SOCK" -d -p "$W/$1.vdepid" >/dev/null 2>&1
  for _ in $(seq 50); do [ -s "$W/$1.vdepid" ] && [ -S "$VDE_SOCK/ctl" ] && break; sleep 0.1; done
  VDE_PID=$(cat "$W/$1.vdepid")
  [ -S "$VDE_SOCK/ctl" ]
}

@test "bad vde, mcast and tuntap values are one-line errors with a non-zero exit" {
  bad() {
    run timeout -k 5 20 "$UMKERNEL" quiet "ubd0=$W/root.img" "uml_dir=$W/uml" ro "$@" init=/bin/sh -- -c 'echo BOOTED'
    echo "$* -> status $status: $output"
    [ "$status" -ne 0 ] && [ "$status" -lt 124 ] || return 1
    local errors
    errors=$(grep -v "^Try 'umkernel --help'" <<<"$output")
    [ "$(wc -l <<<"$errors")" -eq 1 ] || return 1
    [[ "$errors" == "umkernel: "*eth0* ]] || return 1
    [[ "$output" != *BOOTED* ]] || return 1
  }
  bad eth0=vde
  bad eth0=vde,"$W/no-such.vde"
  [[ "$output" == *"no-such.vde"* ]]
  bad eth0=vde,"$W/x.vde",02:00:00:00:00:01,99999
  bad eth0=vde,"$W/x.vde",,,,999
  bad eth0=vde,"$W/x.vde",01:00:00:00:00:01
  bad eth0=mcast,,10.1.2.3
  [[ "$output" == *multicast* ]]
  bad eth0=mcast,,239.1.2.3,0
  bad eth0=mcast,,239.1.2.3,1102,256
  bad eth0=mcast,,239.1.2.3,1102,1,extra
  bad eth0=tuntap
  bad eth0=tuntap,umnosuchtap0
  [[ "$output" == *"no such device"* ]]
  bad eth0=tuntap,thisnameistoolongforlinux
}

@test "ethN=vde: a umkernel VM and Debian's UML kernel on one vde_switch ping each other" {
  need_vde
  need_uml
  start_vde mixed
  mkdir -p "$W/umlrun"
  TMPDIR="$W" timeout -k 5 120 "$UML" ubd0r="$W/uml.img" ro mem=96M umid=vde-uml \
    uml_dir="$W/umlrun" eth0=vde,"$VDE_SOCK",02:00:00:00:04:02 ip=10.0.4.2 peer=10.0.4.1 \
    init=/init con=null ssl=null con0=null,fd:1 </dev/null >"$W/vde-uml.log" 2>&1 &
  KILL_PIDS="$!"
  vm vde 120 '
    wait_peer 10.0.4.2; ping -c 3 -w 10 10.0.4.2 >/dev/null && echo "PING OK" || echo "PING FAILED"
    cat /proc/net/dev | grep eth0
    sleep 6   # keep answering the pings of the UML guest' \
    eth0=vde,"$VDE_SOCK",02:00:00:00:04:01,,,,umkernel-test ip=10.0.4.1:::255.255.255.0::eth0
  [ "$(vm_status vde)" -eq 0 ] || kill "$KILL_PIDS" 2>/dev/null || true
  wait "$KILL_PIDS" || true
  show_vm vde
  echo "--- UML:"
  cat "$W/vde-uml.log"
  [ "$(vm_status vde)" -eq 0 ]
  grep -q "PING OK" "$W/vde.log"
  grep -q "PING OK" "$W/vde-uml.log"
}

@test "ethN=vde: the switch goes away; the guest keeps running with eth0's link down" {
  need_vde
  start_vde gone
  vm vdegone 60 '
    ifconfig eth0 | grep -q RUNNING && echo "LINK UP"
    i=0; while [ ! -e /tmp/never ] && [ $i -lt 100 ]; do ifconfig eth0 | grep -q RUNNING || break; sleep 0.2; i=$((i + 1)); done
    ifconfig eth0 | grep -q RUNNING || echo "LINK DOWN"
    echo "STILL HERE"' \
    eth0=vde,"$VDE_SOCK" ip=10.0.5.1:::255.255.255.0::eth0 &
  KILL_PIDS="$!"
  wait_for_text "$W/vdegone.log" "LINK UP" 30
  kill "$VDE_PID"
  wait "$KILL_PIDS"
  show_vm vdegone
  [ "$(vm_status vdegone)" -eq 0 ]
  grep -q "LINK DOWN" "$W/vdegone.log"
  grep -q "STILL HERE" "$W/vdegone.log"
}

@test "ethN=mcast: two umkernel VMs on UML's default group ping each other and move 32 MiB over TCP (sha256 equal)" {
  need_root_netns
  make_netns
  # Only lo in the namespace: the group's datagrams never leave the machine.
  ip -n "$VM_NETNS" link set lo multicast on
  ip -n "$VM_NETNS" route add 224.0.0.0/4 dev lo
  vm mc-a 200 "$(receiver_script 10.0.8.2)" \
    eth0=mcast,02:00:00:00:08:01 ip=10.0.8.1:::255.255.255.0::eth0 &
  KILL_PIDS="$!"
  vm mc-b 200 "$(sender_script 10.0.8.1 32)" \
    eth0=mcast,02:00:00:00:08:02,239.192.168.1,1102,1 ip=10.0.8.2:::255.255.255.0::eth0
  wait "$KILL_PIDS"
  show_vm mc-a mc-b
  [ "$(vm_status mc-a)" -eq 0 ]
  [ "$(vm_status mc-b)" -eq 0 ]
  grep -q "PING OK" "$W/mc-a.log"
  grep -q "PING OK" "$W/mc-b.log"
  sent=$(sed -n 's/^SENT SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/mc-b.log")
  got=$(sed -n 's/^RECV SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/mc-a.log")
  echoed=$(sed -n 's/^ECHOED SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/mc-b.log")
  [ -n "$sent" ]
  [ "$sent" = "$got" ]
  [ "$sent" = "$echoed" ]
}

@test "ethN=mcast: a umkernel VM and Debian's UML kernel on one group ping each other" {
  need_root_netns
  need_uml
  make_netns
  ip -n "$VM_NETNS" link set lo multicast on
  ip -n "$VM_NETNS" route add 224.0.0.0/4 dev lo
  mkdir -p "$W/umlrun"
  TMPDIR="$W" timeout -k 5 120 ip netns exec "$VM_NETNS" "$UML" ubd0r="$W/uml.img" ro mem=96M \
    umid=mc-uml uml_dir="$W/umlrun" eth0=mcast,02:00:00:00:09:02,239.192.9.9,2009 ip=10.0.9.2 peer=10.0.9.1 \
    init=/init con=null ssl=null con0=null,fd:1 </dev/null >"$W/mc-uml.log" 2>&1 &
  KILL_PIDS="$!"
  vm mcuml 120 '
    wait_peer 10.0.9.2; ping -c 3 -w 10 10.0.9.2 >/dev/null && echo "PING OK" || echo "PING FAILED"
    sleep 6' \
    eth0=mcast,,239.192.9.9,2009 ip=10.0.9.1:::255.255.255.0::eth0
  [ "$(vm_status mcuml)" -eq 0 ] || kill "$KILL_PIDS" 2>/dev/null || true
  wait "$KILL_PIDS" || true
  show_vm mcuml
  echo "--- UML:"
  cat "$W/mc-uml.log"
  [ "$(vm_status mcuml)" -eq 0 ]
  grep -q "PING OK" "$W/mcuml.log"
  grep -q "PING OK" "$W/mc-uml.log"
}

@test "ethN=tuntap: a VM on a tap device in a network namespace pings the namespace and is pinged back" {
  need_root_netns
  [ -c /dev/net/tun ] || skip "no /dev/net/tun"
  make_netns
  ip -n "$VM_NETNS" tuntap add umtap0 mode tap
  ip -n "$VM_NETNS" addr add 10.0.10.1/24 dev umtap0
  ip -n "$VM_NETNS" link set umtap0 up
  vm tap 90 '
    wait_peer 10.0.10.1; ping -c 3 -w 10 10.0.10.1 >/dev/null && echo "PING OK" || echo "PING FAILED"
    echo READY
    sleep 8' \
    eth0=tuntap,umtap0,02:00:00:00:0a:02 ip=10.0.10.2:::255.255.255.0::eth0 &
  KILL_PIDS="$!"
  wait_for_text "$W/tap.log" READY 60 "$KILL_PIDS"
  run ip netns exec "$VM_NETNS" busybox ping -c 3 -w 10 10.0.10.2
  echo "$output"
  back=$status
  # The guest's MAC, as the namespace learned it.
  ip -n "$VM_NETNS" neigh show 10.0.10.2 | tee "$W/neigh"
  wait "$KILL_PIDS"
  show_vm tap
  [ "$(vm_status tap)" -eq 0 ]
  grep -q "PING OK" "$W/tap.log"
  [ "$back" -eq 0 ]
  grep -q "02:00:00:00:0a:02" "$W/neigh"
}
