#!/usr/bin/env bats
# umconsole against Debian's User Mode Linux kernel (/usr/bin/linux) booted from a tiny busybox
# image, with uml_mconsole as the reference client. One VM serves the whole file.
load helpers

boot_timeout=60

setup_file() {
  export VMDIR="$BATS_FILE_TMPDIR"
  export UML_DIR="$VMDIR/uml"
  export UMID=umctest
  mkdir -p "$VMDIR/root/bin" "$VMDIR/root/proc" "$VMDIR/root/dev" "$VMDIR/root/tmp" "$UML_DIR"
  cp /bin/busybox "$VMDIR/root/bin/busybox"
  for a in sh mount echo sleep cat; do ln -s busybox "$VMDIR/root/bin/$a"; done
  cat >"$VMDIR/root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
echo "GUEST READY"
while true; do sleep 1; done
INIT
  chmod +x "$VMDIR/root/init"
  mke2fs -q -t ext4 -d "$VMDIR/root" "$VMDIR/root.img" 64M
  # Guest RAM lives in $TMPDIR, which must allow PROT_EXEC mappings.
  TMPDIR=/dev/shm /usr/bin/linux ubd0="$VMDIR/root.img" umid=$UMID uml_dir="$UML_DIR/" mem=64M \
    init=/init con=null ssl=null con0=null,fd:1 </dev/null >"$VMDIR/console.log" 2>&1 &
  echo $! >"$VMDIR/vm.pid"
  for _ in $(seq 1 $((boot_timeout * 4))); do
    grep -q "GUEST READY" "$VMDIR/console.log" && return 0
    sleep 0.25
  done
  echo "the UML guest did not boot; console:" >&3
  tail -20 "$VMDIR/console.log" >&3
  return 1
}

teardown_file() {
  local pid
  pid=$(cat "$VMDIR/vm.pid" 2>/dev/null) || return 0
  kill -0 "$pid" 2>/dev/null && uml_mconsole "$UML_DIR/$UMID/mconsole" halt >/dev/null 2>&1
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  # UML runs helper processes in its process group; kill whatever is left of it.
  kill -9 -- "-$pid" "$pid" 2>/dev/null || true
}

mconsole_sock() { echo "$UML_DIR/$UMID/mconsole"; }

@test "version matches uml_mconsole's answer" {
  run "$UMCONSOLE" version $UMID
  [ "$status" -eq 0 ]
  [[ "$output" == Linux* ]]
  ref=$(timeout 10 uml_mconsole "$(mconsole_sock)" version)
  [ "$ref" = "OK $output" ]
}

@test "the UMID may also be the VM directory or the socket path" {
  run "$UMCONSOLE" version "$UML_DIR/$UMID"
  [ "$status" -eq 0 ]
  run "$UMCONSOLE" version "$(mconsole_sock)"
  [ "$status" -eq 0 ]
  [[ "$output" == Linux* ]]
}

@test "proc meminfo comes back whole" {
  run "$UMCONSOLE" proc $UMID meminfo
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == MemTotal:* ]]
  echo "$output" | grep -q '^Committed_AS:'
  echo "$output" | grep -q '^DirectMap\|^VmallocChunk:\|^Percpu:'
}

@test "sysrq m output is complete every time (multi-packet reply)" {
  for i in 1 2 3 4 5; do
    run "$UMCONSOLE" sysrq $UMID m
    [ "$status" -eq 0 ]
    echo "$output" | grep -q 'Mem-Info'
    [[ "${lines[-1]}" == *"pages reserved" ]]
    [ "${#output}" -gt 1000 ]
  done
}

@test "config queries a disk, remove of a missing device is an error reply (exit 1)" {
  run "$UMCONSOLE" config $UMID ubd0
  [ "$status" -eq 0 ]
  [ "$output" = "$VMDIR/root.img" ]
  run "$UMCONSOLE" remove $UMID ubd5
  [ "$status" -eq 1 ]
  [[ "$output" == "umconsole: error: $UMID: "* ]]
}

@test "an unknown mconsole command is an error reply: exit 1" {
  run "$UMCONSOLE" cmd $UMID frobnicate
  [ "$status" -eq 1 ]
  [ "$output" = "umconsole: error: $UMID: Unknown command" ]
}

@test "go without stop is an error; stop then go works" {
  run "$UMCONSOLE" go $UMID
  [ "$status" -eq 1 ]
  [[ "$output" == *"Not stopped"* ]]
  run "$UMCONSOLE" stop $UMID
  [ "$status" -eq 0 ]
  run "$UMCONSOLE" version $UMID   # mconsole still works while stopped
  [ "$status" -eq 0 ]
  run "$UMCONSOLE" go $UMID
  [ "$status" -eq 0 ]
}

@test "printk text reaches the guest kernel log (console)" {
  run "$UMCONSOLE" printk $UMID "hello-from-umconsole-$$"
  [ "$status" -eq 0 ]
  for _ in $(seq 1 20); do grep -q "hello-from-umconsole-$$" "$VMDIR/console.log" && break; sleep 0.25; done
  grep -q "hello-from-umconsole-$$" "$VMDIR/console.log"
}

@test "help lists the VM's commands" {
  run "$UMCONSOLE" help $UMID
  [ "$status" -eq 0 ]
  echo "$output" | grep -q 'sysrq'
}

@test "list shows the VM with its pid and disk, also as JSON" {
  run "$UMCONSOLE" list
  [ "$status" -eq 0 ]
  echo "$output" | grep -q "^$UMID .* $(cat "$UML_DIR/$UMID/pid") .*ubd0=$VMDIR/root.img"
  run "$UMCONSOLE" list --json
  [ "$status" -eq 0 ]
  echo "$output" | python3 -c '
import json, sys
vms = json.load(sys.stdin)
vm = [v for v in vms if v["umid"] == sys.argv[1]][0]
assert vm["responding"] and vm["uptime_seconds"] >= 0, vm
assert vm["info"]["disks"][0]["file"].endswith("root.img"), vm
' $UMID
}

@test "a wrong umid fails quickly with a clear message" {
  start=$(date +%s%N)
  run "$UMCONSOLE" version no-such-vm
  end=$(date +%s%N)
  [ "$status" -eq 1 ]
  [[ "$output" == "umconsole: error: no VM named 'no-such-vm'"* ]]
  [ $(( (end - start) / 1000000 )) -lt 1000 ]
}

@test "a stale socket (VM gone) is reported, not waited on" {
  mkdir -p "$UML_DIR/ghost"
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])' "$UML_DIR/ghost/mconsole"
  run timeout 10 "$UMCONSOLE" version ghost
  rm -rf "$UML_DIR/ghost"
  [ "$status" -eq 1 ]
  [[ "$output" == *"nobody is listening"* ]]
}

@test "malformed command lines exit 2" {
  run "$UMCONSOLE"
  [ "$status" -eq 2 ]
  run "$UMCONSOLE" sysrq $UMID
  [ "$status" -eq 2 ]
  run "$UMCONSOLE" no-such-subcommand
  [ "$status" -eq 2 ]
  run "$UMCONSOLE" --timeout -3 version $UMID
  [ "$status" -eq 2 ]
  run "$UMCONSOLE" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"attach"* ]]
}

@test "halt stops the VM (last test)" {
  pid=$(cat "$VMDIR/vm.pid")
  run "$UMCONSOLE" halt $UMID
  [ "$status" -eq 0 ]
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  ! kill -0 "$pid" 2>/dev/null
  run "$UMCONSOLE" version $UMID
  [ "$status" -eq 1 ]
}
