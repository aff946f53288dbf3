#!/usr/bin/env bats
# umswitch --vxlan: a switch's segment stretched over VXLAN (RFC 7348). Two network namespaces
# joined by a veth pair stand for two hosts (their addresses exist only there: nothing leaves
# the machine). A umswitch with a umkernel VM in one joins a Linux vxlan device in the other,
# by unicast and by a multicast group; two umswitches, one in each, carry a VM-to-VM TCP
# transfer. Plus the command line's errors.
load helpers
load net_helpers

setup_file() {
  W=$(mktemp -d /tmp/umvx.XXXXXX)   # socket paths must fit in 108 bytes
  chmod 755 "$W"
  export W
  "$UMIMAGE" create "$W/root.img" --busybox --size 128M >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

teardown() {
  stop_test_processes
  [ -n "${NSA:-}" ] && ip netns del "$NSA" 2>/dev/null || true
  [ -n "${NSB:-}" ] && ip netns del "$NSB" 2>/dev/null || true
  true
}

# Two "hosts": namespaces NSA (10.99.1.1) and NSB (10.99.1.2) on one veth link.
make_hosts() {
  need_root_netns
  NSA="umvxa$$-$BATS_TEST_NUMBER"
  NSB="umvxb$$-$BATS_TEST_NUMBER"
  ip netns add "$NSA"
  ip netns add "$NSB"
  ip link add umvxa netns "$NSA" type veth peer name umvxb netns "$NSB"
  ip -n "$NSA" link set lo up
  ip -n "$NSB" link set lo up
  ip -n "$NSA" addr add 10.99.1.1/24 dev umvxa
  ip -n "$NSB" addr add 10.99.1.2/24 dev umvxb
  ip -n "$NSA" link set umvxa up
  ip -n "$NSB" link set umvxb up
}

@test "umswitch --vxlan: bad values are one-line errors with a non-zero exit" {
  bad() {
    run timeout 10 "$UMSWITCH" --unix "$W/bad.ctl" "$@"
    echo "$* -> status $status: $output"
    [ "$status" -ne 0 ] && [ "$status" -lt 124 ] || return 1
    [ "$(grep -vc "^Try 'umswitch --help'" <<<"$output")" -eq 1 ] || return 1
    [ ! -e "$W/bad.ctl" ] || return 1
  }
  bad --vxlan 127.0.0.1
  bad --vni 5
  bad --vxlan 127.0.0.1 --vni 16777216
  bad --vxlan 127.0.0.1 --vni -1
  bad --vxlan host.example --vni 5
  bad --vxlan 127.0.0.1:0 --vni 5
  bad --vxlan 127.0.0.1:70000 --vni 5
  bad --vxlan ::1 --vni 5
  bad --vxlan :4789 --vni 5
  bad --vxlan-local 127.0.0.1:4790
  bad --vxlan 127.0.0.1 --vni 5 --vxlan-local 127.0.0.1:x
  bad --vxlan 127.0.0.1 --vni 5 --vxlan-ttl 0
  # The local port taken: refused at start, naming it.
  python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$W/taken" &
  KILL_PIDS="$!"
  for _ in $(seq 50); do [ -s "$W/taken" ] && break; sleep 0.1; done
  taken=$(cat "$W/taken")
  bad --vxlan 127.0.0.2 --vni 5 --vxlan-local "127.0.0.1:$taken"
  [[ "$output" == *"127.0.0.1:$taken"* ]]
}

@test "umswitch --vxlan joins a Linux vxlan device in another namespace: the guest and the namespace ping each other" {
  make_hosts
  ip -n "$NSB" link add vx42 type vxlan id 42 remote 10.99.1.1 local 10.99.1.2 dstport 4789 dev umvxb
  ip -n "$NSB" link set vx42 address 02:00:00:00:0b:02
  ip -n "$NSB" addr add 10.0.11.2/24 dev vx42
  ip -n "$NSB" link set vx42 up
  VM_NETNS=$NSA start_switch vxl --vxlan 10.99.1.2 --vni 42
  KILL_PIDS="$SW_PID"
  wait_for_text "$W/vxl.sw.out" "vxlan vni 42" 10   # printed once the switch is ready
  VM_NETNS=$NSA vm vxl 90 '
    wait_peer 10.0.11.2; ping -c 3 -w 10 10.0.11.2 >/dev/null && echo "PING OK" || echo "PING FAILED"
    echo READY
    sleep 8' \
    eth0=daemon,02:00:00:00:0b:01,unix,"$SW_CTL" ip=10.0.11.1:::255.255.255.0::eth0 &
  VMPID=$!
  KILL_PIDS="$KILL_PIDS $VMPID"
  wait_for_text "$W/vxl.log" READY 60
  run ip netns exec "$NSB" busybox ping -c 3 -w 10 10.0.11.1
  echo "$output"
  back=$status
  "$UMSWITCH" ctl "$SW_CTL" ports | tee "$W/ports"
  "$UMSWITCH" ctl "$SW_CTL" macs | tee "$W/macs"
  ip -n "$NSB" neigh show dev vx42 | tee "$W/neigh"
  wait "$VMPID"
  show_vm vxl
  [ "$(vm_status vxl)" -eq 0 ]
  grep -q "PING OK" "$W/vxl.log"
  [ "$back" -eq 0 ]
  grep -q "vxlan.*10.99.1.2:4789" "$W/ports"
  # The switch learned the namespace's MAC behind the VXLAN port, Linux the guest's behind its device.
  grep -q "02:00:00:00:0b:02" "$W/macs"
  grep -q "02:00:00:00:0b:01" "$W/neigh"
}

@test "umswitch --vxlan GROUP: a multicast group joins it to a Linux vxlan device in another namespace" {
  make_hosts
  ip -n "$NSA" route add 224.0.0.0/4 dev umvxa
  ip -n "$NSB" route add 224.0.0.0/4 dev umvxb
  ip -n "$NSB" link add vx43 type vxlan id 43 group 239.1.1.43 dstport 4789 dev umvxb
  ip -n "$NSB" addr add 10.0.12.2/24 dev vx43
  ip -n "$NSB" link set vx43 up
  VM_NETNS=$NSA start_switch vxg --vxlan 239.1.1.43 --vni 43
  KILL_PIDS="$SW_PID"
  VM_NETNS=$NSA vm vxg 90 '
    wait_peer 10.0.12.2; ping -c 3 -w 10 10.0.12.2 >/dev/null && echo "PING OK" || echo "PING FAILED"
    echo READY
    sleep 8' \
    eth0=daemon,02:00:00:00:0c:01,unix,"$SW_CTL" ip=10.0.12.1:::255.255.255.0::eth0 &
  VMPID=$!
  KILL_PIDS="$KILL_PIDS $VMPID"
  wait_for_text "$W/vxg.log" READY 60
  run ip netns exec "$NSB" busybox ping -c 3 -w 10 10.0.12.1
  echo "$output"
  back=$status
  wait "$VMPID"
  show_vm vxg
  [ "$(vm_status vxg)" -eq 0 ]
  grep -q "PING OK" "$W/vxg.log"
  [ "$back" -eq 0 ]
}

@test "two umswitches in two namespaces joined by VXLAN carry a VM-to-VM TCP transfer (32 MiB, sha256 equal)" {
  make_hosts
  VM_NETNS=$NSA start_switch vx-a --vxlan 10.99.1.2 --vni 4242
  CTL_A=$SW_CTL
  KILL_PIDS="$SW_PID"
  VM_NETNS=$NSB start_switch vx-b --vxlan 10.99.1.1 --vni 4242
  CTL_B=$SW_CTL
  KILL_PIDS="$KILL_PIDS $SW_PID"
  VM_NETNS=$NSA vm vx-a 200 "$(receiver_script 10.0.13.2)" \
    eth0=daemon,02:00:00:00:0d:01,unix,"$CTL_A" ip=10.0.13.1:::255.255.255.0::eth0 &
  VMPID=$!
  KILL_PIDS="$KILL_PIDS $VMPID"
  VM_NETNS=$NSB vm vx-b 200 "$(sender_script 10.0.13.1 32)" \
    eth0=daemon,02:00:00:00:0d:02,unix,"$CTL_B" ip=10.0.13.2:::255.255.255.0::eth0 mem=512M
  wait "$VMPID"
  "$UMSWITCH" ctl "$CTL_A" macs | tee "$W/macs-a"
  show_vm vx-a vx-b
  [ "$(vm_status vx-a)" -eq 0 ]
  [ "$(vm_status vx-b)" -eq 0 ]
  grep -q "PING OK" "$W/vx-a.log"
  grep -q "PING OK" "$W/vx-b.log"
  sent=$(sed -n 's/^SENT SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/vx-b.log")
  got=$(sed -n 's/^RECV SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/vx-a.log")
  echoed=$(sed -n 's/^ECHOED SHA \([0-9a-f]\{64\}\) .*/\1/p' "$W/vx-b.log")
  [ -n "$sent" ]
  [ "$sent" = "$got" ]
  [ "$sent" = "$echoed" ]
  # Switch A knows the remote VM's MAC, behind its VXLAN port.
  grep -q "02:00:00:00:0d:02" "$W/macs-a"
}
