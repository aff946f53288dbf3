#!/usr/bin/env bats
# umconsole against Debian's User Mode Linux kernel (/usr/bin/linux) booted from a tiny busybox
# image, with uml_mconsole as the reference client; and, for what a UML kernel cannot serve
# (shared console sockets, um-info, um-exec), against umconsole-testhost: a stand-in VM built
# from the same core/ server classes umkernel embeds, with a real shell on its console and host
# processes for exec. One UML VM and one test host serve the whole file.
load helpers
bats_require_minimum_version 1.5.0

boot_timeout=60
: "${UM_BUILD:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
TESTHOST="$UM_BUILD/tests/umconsole-testhost"
ATTACH_DRIVER="$BATS_TEST_DIRNAME/../../umconsole/testhost/attach_drive.py"

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
  [ -x "$TESTHOST" ] || { echo "missing $TESTHOST (build target umconsole-testhost; set UM_BUILD)" >&3; return 1; }
  "$TESTHOST" umcth --shell /bin/sh </dev/null >"$VMDIR/testhost.log" 2>&1 &
  echo $! >"$VMDIR/testhost.pid"
  # Guest RAM lives in $TMPDIR, which must allow PROT_EXEC mappings.
  TMPDIR=/dev/shm "$UML" ubd0="$VMDIR/root.img" umid=$UMID uml_dir="$UML_DIR/" mem=64M \
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
  for f in testhost solo; do
    pid=$(cat "$VMDIR/$f.pid" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
  done
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
  # UML sends each captured console line as its own packet: ~15 here, more than the
  # max_dgram_qlen (10) that makes uml_mconsole lose the tail (and hang) most of the time.
  for i in 1 2 3 4 5; do
    run "$UMCONSOLE" sysrq $UMID m
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -gt 11 ]
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

@test "the man page documents every subcommand --help lists" {
  man_page="$BATS_TEST_DIRNAME/../../man/umconsole.1"
  subs=$("$UMCONSOLE" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NF && !/Subcommands:/ {print $1}')
  [ -n "$subs" ]
  for s in $subs; do
    grep -qE "^\.BR? .*\b$s\b" "$man_page" || { echo "man page lacks $s"; return 1; }
  done
}

# ---- shared consoles, um-info and um-exec, against the test host ----------------------------------

wait_for_text() {  # FILE TEXT: up to 5 s
  for _ in $(seq 1 50); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "'$2' not in $1:"; cat "$1"; return 1
}

@test "list shows both VMs; the test host through um-info, with its console socket" {
  run "$UMCONSOLE" list --json
  [ "$status" -eq 0 ]
  echo "$output" | python3 -c '
import json, sys
vms = {v["umid"]: v for v in json.load(sys.stdin)}
th, uml = vms["umcth"], vms[sys.argv[1]]
assert th["source"] == "um-info" and th["info"]["consoles"][0]["name"] == "con1", th
assert th["info"]["consoles"][0]["socket"].endswith("/umcth/con1"), th
assert uml["source"] == "config", uml
' $UMID
}

@test "send types into the console; log prints its scrollback" {
  run "$UMCONSOLE" send umcth 1 "echo sent-\$((40+2))"
  [ "$status" -eq 0 ]
  for _ in $(seq 1 50); do "$UMCONSOLE" log umcth 1 | grep -q '^sent-42' && break; sleep 0.1; done
  run "$UMCONSOLE" log umcth con1
  [ "$status" -eq 0 ]
  echo "$output" | grep -q '^sent-42'
}

@test "send - passes stdin as is; every follower sees the output" {
  "$UMCONSOLE" log -f umcth 1 >"$BATS_TEST_TMPDIR/f1" &
  f1=$!
  "$UMCONSOLE" log -f umcth 1 >"$BATS_TEST_TMPDIR/f2" &
  f2=$!
  sleep 0.3
  printf 'echo piped-$((5*5))\n' | "$UMCONSOLE" send umcth 1 -
  wait_for_text "$BATS_TEST_TMPDIR/f1" piped-25
  wait_for_text "$BATS_TEST_TMPDIR/f2" piped-25
  kill -INT $f1 $f2
  wait $f1
  wait $f2
}

@test "attach: raw mode, typing, window size, Ctrl-] detach restores the terminal" {
  run python3 "$ATTACH_DRIVER" "$UMCONSOLE" umcth detach
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"raw=True io=True winch=True restored=True exit=0"* ]]
}

@test "attach: SIGTERM also restores the terminal" {
  run python3 "$ATTACH_DRIVER" "$UMCONSOLE" umcth term
  echo "$output"
  [[ "$output" == *"raw=True io=True winch=True restored=True exit=1"* ]]
}

@test "attach with piped input shows the answer and ends once output is quiet" {
  run timeout 20 bash -c "printf 'echo piped-attach-\$((3*3))\\n' | '$UMCONSOLE' attach umcth 1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"piped-attach-9"* ]]
}

@test "attach without UMID: picks the only VM, refuses to guess among several" {
  run "$UMCONSOLE" attach 1 </dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"several VMs are running"* ]]
  mkdir -p "$VMDIR/solo"
  UML_DIR="$VMDIR/solo" "$TESTHOST" solo1 </dev/null >"$VMDIR/solo.log" 2>&1 &
  echo $! >"$VMDIR/solo.pid"
  wait_for_text "$VMDIR/solo.log" ready
  UML_DIR="$VMDIR/solo" run python3 "$ATTACH_DRIVER" "$UMCONSOLE" - detach
  echo "$output"
  [[ "$output" == *"io=True"*"exit=0"* ]]
  UML_DIR="$VMDIR/solo" "$UMCONSOLE" halt solo1
}

@test "console errors: a UML has no console sockets; bad console names are usage errors" {
  run "$UMCONSOLE" attach $UMID 1 </dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"no console is served at $UML_DIR/$UMID/con1"* ]]
  run "$UMCONSOLE" log umcth 7
  [ "$status" -eq 1 ]
  run "$UMCONSOLE" log umcth tty1
  [ "$status" -eq 2 ]
  run "$UMCONSOLE" send umcth 1
  [ "$status" -eq 2 ]
}

@test "exec streams stdin, stdout, stderr and the exit status" {
  run bash -c "echo abc | '$UMCONSOLE' exec umcth -- sh -c 'tr a-z A-Z; echo to-stderr >&2; exit 7' 2>'$BATS_TEST_TMPDIR/err'"
  [ "$status" -eq 7 ]
  [ "$output" = "ABC" ]
  [ "$(cat "$BATS_TEST_TMPDIR/err")" = "to-stderr" ]
  run "$UMCONSOLE" exec -e GREETING=hi -C / umcth sh -c 'echo $GREETING $(pwd)'
  [ "$status" -eq 0 ]
  [ "$output" = "hi /" ]
  run "$UMCONSOLE" exec umcth ls -d /
  [ "$output" = "/" ]
}

@test "exec: a missing command exits 127; signals reach the command" {
  run -127 "$UMCONSOLE" exec umcth /no/such/program
  [[ "$output" == *"No such file or directory"* ]]
  "$UMCONSOLE" exec -n umcth sleep 30 &
  pid=$!
  sleep 0.5
  # (a background job of a non-interactive shell ignores SIGINT, so TERM stands in for Ctrl-C)
  kill -TERM $pid
  rc=0
  wait $pid || rc=$?
  [ "$rc" -eq 143 ]
}

@test "exec against a UML kernel says it is not supported" {
  run "$UMCONSOLE" exec $UMID true
  [ "$status" -eq 1 ]
  [[ "$output" == *"does not support exec"* ]]
}

@test "a telnet (port:) console: negotiation, scrollback, typing, window size" {
  tdir="$BATS_TEST_TMPDIR/tcp"
  mkdir -p "$tdir"
  UML_DIR="$tdir" "$TESTHOST" tcp1 --port 0 </dev/null >"$tdir/host.log" 2>&1 &
  hostpid=$!
  wait_for_text "$tdir/host.log" ready
  port=$(awk '/^port/ {print $2}' "$tdir/host.log")
  UML_DIR="$tdir" "$UMCONSOLE" send tcp1 1 "echo before-telnet"
  run python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
def read_until(needle):
    buf = b""
    end = time.time() + 5
    while needle not in buf and time.time() < end:
        try: buf += s.recv(4096)
        except socket.timeout: break
    return buf
IAC, SB, SE, WILL, DO, NAWS = 255, 250, 240, 251, 253, 31
first = read_until(b"before-telnet")
assert first.startswith(bytes([IAC, WILL, 1, IAC, WILL, 3, IAC, DO, 3, IAC, DO, NAWS])), first[:12]
# Window size 30 rows x 100 cols (NAWS sends width first), then a command ending in CR NUL.
s.sendall(bytes([IAC, WILL, NAWS, IAC, SB, NAWS, 0, 100, 0, 30, IAC, SE]))
time.sleep(0.2)
s.sendall(b"echo tel-$((2+3)) $(stty size)" + bytes([13, 0]))  # Enter as telnet's CR NUL
out = read_until(b"tel-5 30 100")
print("ok" if b"tel-5 30 100" in out else "missing: %r" % out[-200:])
PY
  echo "$output"
  [ "$output" = "ok" ]
  UML_DIR="$tdir" "$UMCONSOLE" halt tcp1
  wait $hostpid
}

@test "an unprivileged user runs the test host and uses every kind of command" {
  udir=$(mktemp -d /tmp/umconsole-user.XXXXXX)
  chmod 755 "$udir"
  [ "$(id -u)" = 0 ] && chown "$UM_TEST_USER" "$udir"
  as_user env UML_DIR="$udir/uml" "$TESTHOST" umuser </dev/null >"$udir/host.log" 2>&1 &
  hostpid=$!
  wait_for_text "$udir/host.log" ready
  run as_user env UML_DIR="$udir/uml" "$UMCONSOLE" exec umuser id -u
  [ "$status" -eq 0 ]
  [ "$output" = "$(as_user id -u)" ]
  run as_user env UML_DIR="$udir/uml" "$UMCONSOLE" send umuser 1 "echo user-console-ok"
  [ "$status" -eq 0 ]
  for _ in $(seq 1 50); do as_user env UML_DIR="$udir/uml" "$UMCONSOLE" log umuser 1 | grep -q '^user-console-ok' && break; sleep 0.1; done
  run as_user env UML_DIR="$udir/uml" "$UMCONSOLE" log umuser 1
  echo "$output" | grep -q '^user-console-ok'
  run as_user env UML_DIR="$udir/uml" "$UMCONSOLE" halt umuser
  [ "$status" -eq 0 ]
  wait $hostpid
  rm -rf "$udir"
}

@test "halt stops the VM (last test)" {
  pid=$(cat "$VMDIR/vm.pid")
  run "$UMCONSOLE" halt $UMID
  [ "$status" -eq 0 ]
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  ! kill -0 "$pid" 2>/dev/null
  run "$UMCONSOLE" version $UMID
  [ "$status" -eq 1 ]
  run "$UMCONSOLE" halt umcth
  [ "$status" -eq 0 ]
  for _ in $(seq 1 20); do [ -e "$UML_DIR/umcth" ] || break; sleep 0.1; done
  [ ! -e "$UML_DIR/umcth" ]
}
