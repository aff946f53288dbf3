#!/usr/bin/env bats
# umconsole and Debian's uml_mconsole managing a running umkernel: run directory, mconsole
# commands, console sockets, um-exec, stop/go, hot-plugged disks, clean halt.
# One VM serves the whole file (booting is the slow part); tests run in order.
load helpers
bats_require_minimum_version 1.5.0

# Polls `$@` until it succeeds or `secs` pass (slow machines: generous, never a fixed sleep
# as the pass condition).
wait_for() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

log_has() { "$UMCONSOLE" log "$UMID" "$1" 2>/dev/null | grep -q -- "$2"; }
vm_gone() { ! kill -0 "$(cat "$BATS_FILE_TMPDIR/vm.pid")" 2>/dev/null; }

setup_file() {
  export UML_DIR="$BATS_FILE_TMPDIR/uml"
  export UMID=vm$$
  export IMG="$BATS_FILE_TMPDIR/root.img"
  export CON0="$BATS_FILE_TMPDIR/con0.log"
  "$UMIMAGE" create "$IMG" --busybox --size 64M
  printf '%s\n' '::sysinit:/bin/mount -t proc proc /proc' \
    'tty1::respawn:/bin/sh' 'tty2::respawn:/bin/sh' 'ttyS0::respawn:/bin/sh' \
    '::ctrlaltdel:/bin/echo cad-ran > /cad' >"$BATS_FILE_TMPDIR/inittab"
  "$UMIMAGE" put "$IMG" "$BATS_FILE_TMPDIR/inittab" /etc/inittab
  "$UMIMAGE" create "$BATS_FILE_TMPDIR/disk1.img" --size 16M
  ( "$UMKERNEL" ubd0="$IMG" umid="$UMID" con0=file:"$CON0" init=/sbin/init \
    </dev/null >"$BATS_FILE_TMPDIR/stdout" 2>"$BATS_FILE_TMPDIR/stderr"
    echo $? >"$BATS_FILE_TMPDIR/vm.rc" ) &
  wait_for 60 test -S "$UML_DIR/$UMID/mconsole"
  cp "$UML_DIR/$UMID/pid" "$BATS_FILE_TMPDIR/vm.pid"
  wait_for 60 test -S "$UML_DIR/$UMID/con2"
}

teardown_file() {
  local pid
  pid=$(cat "$BATS_FILE_TMPDIR/vm.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  wait_for 20 vm_gone || kill -9 "$pid" 2>/dev/null || true
}

@test "the run directory holds pid, mconsole and console sockets; umconsole list shows the VM" {
  [ "$(cat "/proc/$(cat "$UML_DIR/$UMID/pid")/comm")" = umkernel ]
  [ "$(stat -c %a "$UML_DIR/$UMID")" = 700 ]
  run "$UMCONSOLE" list
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$UMID"* ]]
}

@test "a second VM with the same umid is refused while the first runs" {
  run timeout 30 "$UMKERNEL" ubd0="$IMG" umid="$UMID" init=/bin/true </dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"already in use"* ]]
  [ -S "$UML_DIR/$UMID/mconsole" ]
  # Bad names and channels are command-line errors.
  for bad in ssl4=null ssl0=bogus umid=bad/name umid=.hidden con1=bogus con1=port:99999 con1=fd:x con2=xterm con3=file: mconsole=x; do
    run "$UMKERNEL" ubd0="$IMG" "$bad"
    echo "$bad: $output"
    [ "$status" -eq 2 ]
  done
}

@test "umconsole send types into a console socket and log shows its output" {
  run "$UMCONSOLE" send "$UMID" 1 'echo hi > /tmp/x; cat /tmp/x; echo sent-$((40+2))'
  [ "$status" -eq 0 ]
  wait_for 30 log_has 1 'sent-42'
  run "$UMCONSOLE" log "$UMID" 1
  [[ "$output" == *"hi"* ]]
  # Serial lines are sockets too (ssl0 = /dev/ttyS0).
  "$UMCONSOLE" send "$UMID" ssl0 'echo serial-$((6*7)); tty'
  wait_for 30 log_has ssl0 'serial-42'
  run "$UMCONSOLE" log "$UMID" ssl0
  [[ "$output" == *"/dev/ttyS0"* ]]
}

@test "umconsole exec streams stdout and stderr separately and returns the exit status" {
  run "$UMCONSOLE" exec "$UMID" -- sh -c 'echo out; echo err >&2; exit 3'
  [ "$status" -eq 3 ]
  [ "$("$UMCONSOLE" exec "$UMID" -- sh -c 'echo out; echo err >&2' 2>/dev/null)" = out ]
  [ "$("$UMCONSOLE" exec "$UMID" -- sh -c 'echo out; echo err >&2' 2>&1 >/dev/null)" = err ]
  # What was typed on tty1 earlier is visible to exec'd commands, and stdin is forwarded.
  [ "$("$UMCONSOLE" exec "$UMID" -- cat /tmp/x)" = hi ]
  [ "$(echo piped | "$UMCONSOLE" exec "$UMID" -- tr a-z A-Z)" = PIPED ]
  run -127 "$UMCONSOLE" exec "$UMID" -- /no/such/program
  [[ "$output" == *"No such file"* ]]
  # Bulk data both ways, intact.
  head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
  [ "$("$UMCONSOLE" exec "$UMID" -- md5sum <"$BATS_TEST_TMPDIR/big" | cut -d' ' -f1)" = \
    "$(md5sum <"$BATS_TEST_TMPDIR/big" | cut -d' ' -f1)" ]
  [ "$("$UMCONSOLE" exec "$UMID" -- head -c 10000000 /dev/zero | wc -c)" -eq 10000000 ]
  # A client that goes away hangs its command up (SIGHUP); the kernel does not wait for it.
  run timeout -s KILL 3 "$UMCONSOLE" exec "$UMID" -- sleep 1000
  [ "$status" -eq 137 ]
  wait_for 30 sh -c "! '$UMCONSOLE' sysrq '$UMID' t | grep -q ' sleep$'"
}

@test "proc, version, help, stack and sysrq answer" {
  run "$UMCONSOLE" proc "$UMID" meminfo
  [ "$status" -eq 0 ]
  [[ "$output" == *"MemTotal:"* ]]
  run "$UMCONSOLE" proc "$UMID" uptime
  [ "$status" -eq 0 ]
  run "$UMCONSOLE" version "$UMID"
  [[ "$output" == *"6.1.0-um"* ]]
  run "$UMCONSOLE" stack "$UMID" 1
  [ "$status" -eq 0 ]
  [[ "$output" == *"RIP:"* ]]
  run "$UMCONSOLE" sysrq "$UMID" t
  [[ "$output" == *"init"* ]]
  run "$UMCONSOLE" sysrq "$UMID" m
  [[ "$output" == *"MemTotal"* ]]
}

@test "Debian's uml_mconsole talks to umkernel" {
  run uml_mconsole "$UML_DIR/$UMID/mconsole" version
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"OK"*"Linux"*"6.1.0-um"* ]]
  run uml_mconsole "$UML_DIR/$UMID/mconsole" proc meminfo
  [[ "$output" == *"MemTotal"* ]]
  run uml_mconsole "$UML_DIR/$UMID/mconsole" go
  [[ "$output" == *"ERR"*"Not stopped"* ]]
}

@test "log prints on con0; cad makes init run its ctrlaltdel action" {
  run "$UMCONSOLE" printk "$UMID" hello-from-mconsole
  [ "$status" -eq 0 ]
  wait_for 10 grep -q hello-from-mconsole "$CON0"
  run "$UMCONSOLE" cad "$UMID"
  [ "$status" -eq 0 ]
  wait_for 30 sh -c "'$UMCONSOLE' exec '$UMID' -- cat /cad 2>/dev/null | grep -q cad-ran"
}

last_tick() { "$UMCONSOLE" log "$UMID" 2 | grep -o 'tick[0-9][0-9]*' | tail -1 | tr -dc 0-9; }
ticks_past() { [ "$(last_tick)" -gt "$1" ]; }

@test "stop freezes the guest while mconsole keeps answering; go resumes it" {
  "$UMCONSOLE" send "$UMID" 2 'i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.1; done'
  wait_for 30 ticks_past 2
  run "$UMCONSOLE" stop "$UMID"
  [ "$status" -eq 0 ]
  a=$(last_tick)
  sleep 1
  run "$UMCONSOLE" version "$UMID"  # served while stopped
  [ "$status" -eq 0 ]
  b=$(last_tick)
  [ "$a" = "$b" ]
  run "$UMCONSOLE" go "$UMID"
  [ "$status" -eq 0 ]
  wait_for 30 ticks_past "$b"
}

@test "config hot-adds a disk the guest mounts; remove refuses while it is mounted" {
  run uml_mconsole "$UML_DIR/$UMID/mconsole" config "ubd1=$BATS_FILE_TMPDIR/disk1.img"
  echo "$output"
  [[ "$output" == *"OK"* ]]
  run uml_mconsole "$UML_DIR/$UMID/mconsole" config ubd1
  [[ "$output" == *"disk1.img"* ]]
  run "$UMCONSOLE" exec "$UMID" -- sh -c 'mkdir -p /mnt1 && mount /dev/ubdb /mnt1 && echo data > /mnt1/f && cat /mnt1/f'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = data ]
  run uml_mconsole "$UML_DIR/$UMID/mconsole" remove ubd1
  [[ "$output" == *"ERR"* ]]
  run "$UMCONSOLE" exec "$UMID" -- umount /mnt1
  [ "$status" -eq 0 ]
  run uml_mconsole "$UML_DIR/$UMID/mconsole" remove ubd1
  [[ "$output" == *"OK"* ]]
  run e2fsck -fn "$BATS_FILE_TMPDIR/disk1.img"
  [ "$status" -eq 0 ]
}

exec_cat() { "$UMCONSOLE" exec "$UMID" -- cat "$1" 2>/dev/null | grep -q "$2"; }

@test "reboot boots again in the same host process under the same umid" {
  # The host name lives in kernel memory only: back to "(none)" once the kernel restarted.
  "$UMCONSOLE" exec "$UMID" -- sh -c 'echo before-reboot > /persist; hostname marker'
  [[ "$("$UMCONSOLE" version "$UMID")" == *marker* ]]
  run "$UMCONSOLE" reboot "$UMID"
  [ "$status" -eq 0 ]
  wait_for 60 sh -c "'$UMCONSOLE' version '$UMID' 2>/dev/null | grep -q '(none)'"
  wait_for 60 exec_cat /persist before-reboot
  [ "$(cat "$UML_DIR/$UMID/pid")" = "$(cat "$BATS_FILE_TMPDIR/vm.pid")" ]
  wait_for 30 test -S "$UML_DIR/$UMID/con1"
}

@test "umconsole halt ends the VM cleanly: run directory removed, image clean" {
  run "$UMCONSOLE" halt "$UMID"
  [ "$status" -eq 0 ]
  wait_for 60 vm_gone
  wait_for 10 test -s "$BATS_FILE_TMPDIR/vm.rc"
  [ "$(cat "$BATS_FILE_TMPDIR/vm.rc")" = 0 ]
  [ ! -e "$UML_DIR/$UMID" ]
  run e2fsck -fn "$IMG"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "pty and port consoles carry data both ways and are listed by um-info; SIGTERM halts cleanly" {
  local umid=ch$$ err="$BATS_TEST_TMPDIR/stderr"
  "$UMKERNEL" ubd0="$IMG" umid=$umid con0=null con3=pty con4=port:0 init=/bin/sh -- -c \
    'echo pty-hello > /dev/tty3; sh </dev/tty4 >/dev/tty4 2>&1 & sleep 1000' </dev/null 2>"$err" &
  local pid=$!
  wait_for 60 test -S "$UML_DIR/$umid/mconsole"
  wait_for 10 grep -q "Virtual console 3 assigned device '/dev/pts/" "$err"
  wait_for 10 grep -q "con4: telnet 127.0.0.1 " "$err"
  local pts port
  pts=$(grep -o "/dev/pts/[0-9]*" "$err" | head -1)
  port=$(grep -o "telnet 127.0.0.1 [0-9]*" "$err" | awk '{print $3}')
  # The guest's output waits in the pty for a host reader.
  run timeout 20 grep -m1 -a pty-hello "$pts"
  [ "$status" -eq 0 ]
  # Typing into the telnet port reaches the shell on tty4.
  exec 5<>/dev/tcp/127.0.0.1/"$port"
  printf 'echo port-ok > /tmp/p\n' >&5
  wait_for 30 sh -c "'$UMCONSOLE' exec $umid -- cat /tmp/p 2>/dev/null | grep -q port-ok"
  exec 5>&-
  run "$UMCONSOLE" list --json
  echo "$output"
  [[ "$output" == *"pty:/dev/pts/"* ]]
  [[ "$output" == *"$UML_DIR/$umid/con1"* ]]
  kill -TERM $pid
  wait_for 30 sh -c "! kill -0 $pid 2>/dev/null"
  [ ! -e "$UML_DIR/$umid" ]
  run e2fsck -fn "$IMG"
  [ "$status" -eq 0 ]
}

@test "mconsole=notify announces the socket; without a usable run directory the VM still boots" {
  local sock="$BATS_TEST_TMPDIR/notify.sock"
  run python3 - "$UMKERNEL" "$IMG" "$sock" <<'PY'
import os, socket, subprocess, sys
umkernel, img, path = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
subprocess.run([umkernel, "ubd0=" + img, "umid=nt", "mconsole=notify:" + path, "init=/bin/true"],
               stdin=subprocess.DEVNULL, check=True, timeout=60)
s.settimeout(5)
print(s.recv(600)[16:].rstrip(b"\0").decode())
PY
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"$UML_DIR/nt/mconsole"* ]]
  run env HOME=/proc/nonexistent UML_DIR= timeout 60 "$UMKERNEL" ubd0="$IMG" init=/bin/sh -- -c 'echo booted' </dev/null
  [ "$status" -eq 0 ]
  [[ "$output" == *"running without mconsole"* ]]
  [[ "$output" == *booted* ]]
}

@test "an IN,OUT channel pair: host stdin in, a log file out" {
  local log="$BATS_TEST_TMPDIR/mix.log"
  run sh -c "echo 'echo from-stdin-\$((2+3))' | timeout 60 '$UMKERNEL' ubd0='$IMG' quiet con0=fd:0,file:'$log' init=/bin/sh"
  [ "$status" -eq 0 ]
  grep -q 'from-stdin-5' "$log"
  ! grep -q 'from-stdin-\$' "$log"  # piped input is not echoed
}
