#!/usr/bin/env bats
# Host locks on disk images, as UML's ubd driver takes them (a whole-file fcntl write lock on a
# writable image or COW file, a read lock on a read-only one and on a COW's backing file): two
# VMs never write one image, umkernel and Debian's UML kernel respect each other's locks, the
# `c` flag skips them, and umimage refuses to write an image a VM holds.
load helpers

setup_file() {
  W=$(mktemp -d /tmp/umlocks.XXXXXX)
  export W
  "$UMIMAGE" create "$W/base.img" --busybox --size 32M >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

setup() {
  cp --sparse=always "$W/base.img" "$W/root.img"
  HOLDERS=()
}

teardown() {
  for name in "${HOLDERS[@]}"; do release "$name" || true; done
  rm -f "$W"/*.in "$W"/*.log "$W"/*.cow "$W/root.img"
}

# hold NAME CMD...: runs CMD (a VM whose console is fd 0/1) in the background with its input
# from a FIFO we keep open, and waits until the guest printed READY (or the VM ended).
hold() {
  local name=$1 fd
  shift
  mkfifo "$W/$name.in"
  "$@" <"$W/$name.in" >"$W/$name.log" 2>&1 &
  printf -v "pid_$name" %s $!
  exec {fd}>"$W/$name.in"
  printf -v "fd_$name" %s "$fd"
  HOLDERS+=("$name")
  local pid_var="pid_$name"
  for _ in $(seq 1 900); do
    grep -qE 'READY|HELD' "$W/$name.log" && return 0
    kill -0 "${!pid_var}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$W/$name.log"
  return 1
}

# The umkernel (or linux) process a holder started (its pid is timeout's).
vm_pid() {
  local pid_var="pid_$1"
  pgrep -P "${!pid_var}" | head -1
}

# release NAME: lets the guest go on (it reads a line, then halts) and waits for the VM.
release() {
  local fd_var="fd_$1" pid_var="pid_$1"
  [ -n "${!fd_var:-}" ] || return 0
  (echo go >&"${!fd_var}") 2>/dev/null || true   # a subshell: a VM already gone means SIGPIPE
  eval "exec ${!fd_var}>&-"
  printf -v "fd_$1" %s ""
  wait "${!pid_var}"
}

# A guest that says READY, holds the machine until a line arrives on its console, then halts.
HOLD_SCRIPT='echo READY; read x; echo BYE'

umkernel_holder() {  # NAME DISK-ARGS...
  local name=$1
  shift
  hold "$name" timeout 120 "$UMKERNEL" quiet "$@" init=/bin/busybox -- sh -c "$HOLD_SCRIPT"
}

@test "a second VM on an image in use is refused, naming the holder; it boots once the first is gone" {
  umkernel_holder first "ubd0=$W/root.img"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c 'echo SECOND-RAN'
  [ "$status" -eq 1 ]
  [ "$(echo "$output" | wc -l)" -eq 1 ]
  [[ "$output" == "umkernel: error: ubd0: $W/root.img is locked by pid $(vm_pid first) (umkernel): in use by a VM or another tool" ]]
  [[ "$output" != *SECOND-RAN* ]]
  release first
  grep -q BYE "$W/first.log"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c 'echo SECOND-RAN'
  [ "$status" -eq 0 ]
  [[ "$output" == *SECOND-RAN* ]]
}

@test "read-only VMs share an image; a writer is refused while they run" {
  umkernel_holder ro1 "ubd0r=$W/root.img"
  umkernel_holder ro2 "ubd0=$W/root.img" ro
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c 'echo WRITER-RAN'
  [ "$status" -eq 1 ]
  [[ "$output" == *"root.img is locked by pid "* ]]
  release ro1
  release ro2
}

@test "the c flag skips the lock: a VM with ubd0c= boots beside one holding the image" {
  umkernel_holder first "ubd0=$W/root.img"
  run timeout 60 "$UMKERNEL" quiet "ubd0c=$W/root.img" ro init=/bin/sh -- -c 'echo SHARED-RAN'
  [ "$status" -eq 0 ]
  [[ "$output" == *SHARED-RAN* ]]
  # and a VM holding its image with c takes no lock that others would see
  release first
  umkernel_holder nolock "ubd0c=$W/root.img"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" ro init=/bin/sh -- -c 'echo OTHER-RAN'
  [ "$status" -eq 0 ]
  [[ "$output" == *OTHER-RAN* ]]
}

@test "COW files over one backing file: VMs share the backing, each COW has one user, the backing is not writable" {
  umkernel_holder a "ubd0=$W/a.cow,$W/root.img"
  umkernel_holder b "ubd0=$W/b.cow,$W/root.img"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/a.cow,$W/root.img" init=/bin/sh -- -c 'echo RAN'
  [ "$status" -eq 1 ]
  [[ "$output" == *"a.cow is locked by pid $(vm_pid a) (umkernel)"* ]]
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c 'echo RAN'
  [ "$status" -eq 1 ]
  [[ "$output" == *"root.img is locked by pid "* ]]
  run "$UMIMAGE" put "$W/root.img" /etc/hostname /from-host
  [ "$status" -ne 0 ]
  [[ "$output" == *"root.img is locked by pid "* ]]
  release a
  release b
}

@test "umimage refuses to write an image a VM holds, and leaves it untouched" {
  umkernel_holder vm "ubd0=$W/root.img"
  before=$(md5sum < "$W/root.img")
  for cmd in "put $W/root.img /etc/hostname /x" "mkdir $W/root.img /newdir" "rm $W/root.img /bin/sh" \
             "chmod $W/root.img 700 /bin" "resize $W/root.img 64M"; do
    run "$UMIMAGE" $cmd
    [ "$status" -ne 0 ]
    [[ "$output" == *"root.img is locked by pid $(vm_pid vm) (umkernel)"* ]]
  done
  [ "$(md5sum < "$W/root.img")" = "$before" ]
  release vm
  "$UMIMAGE" put "$W/root.img" /etc/hostname /x
  [ "$("$UMIMAGE" cat "$W/root.img" /x)" = "$(cat /etc/hostname)" ]
}

@test "umimage holding an image (FUSE mount) keeps a VM out" {
  [ -c /dev/fuse ] && command -v fusermount3 >/dev/null || skip "no FUSE here"
  mkdir -p "$W/mnt"
  "$UMIMAGE" mount "$W/root.img" "$W/mnt"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c 'echo RAN'
  "$UMIMAGE" umount "$W/mnt"
  [ "$status" -eq 1 ]
  [[ "$output" == *"root.img is locked by pid "*"(umimage)"* ]]
}

@test "a process-associated F_SETLK write lock, the kind UML's ubd driver takes, keeps umkernel out and is named" {
  PROBE="$UM_GUEST_BIN/lock_probe"
  [ -x "$PROBE" ] || skip "guest program lock_probe not built"
  hold probe "$PROBE" posix hold "$W/root.img"     # prints HELD (hold waits for READY or HELD)
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" ro init=/bin/sh -- -c 'echo RAN'
  [ "$status" -eq 1 ]
  [[ "$output" == *"root.img is locked by pid $pid_probe (lock_probe): in use by a VM or another tool" ]]
  release probe
}

# A root file system both kernels boot: busybox, and an /init that says READY, waits for a
# line on the console and powers off.
make_shared_root() {
  [ -x /bin/busybox ] || skip "busybox-static not installed"
  rm -rf "$W/seed"
  mkdir -p "$W/seed/bin" "$W/seed/proc" "$W/seed/dev"
  cp /bin/busybox "$W/seed/bin/busybox"
  # UML's init waits for $W/sync/go, which it sees through UML's own hostfs (its console
  # input from a FIFO is not reliable); under umkernel the same image is only booted briefly.
  mkdir -p "$W/sync" && rm -f "$W/sync/go"
  cat > "$W/seed/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mkdir -p /host && /bin/busybox mount -t hostfs none /host -o $W/sync
echo READY
while [ ! -e /host/go ]; do /bin/busybox sleep 0.1; done
/bin/busybox umount /host
/bin/busybox mount -o remount,ro /
echo BYE
/bin/busybox poweroff -f
INIT
  chmod 755 "$W/seed/init"
  rm -f "$W/uml.img"
  mke2fs -q -t ext4 -d "$W/seed" "$W/uml.img" 32M
}

# UML runs in a session of its own: on a panic it SIGTERMs its whole process group.
uml() { setsid -w env TMPDIR="$W" timeout 120 "$UML" mem=64M "$@"; }

uml_holder() {  # NAME EXTRA-ARGS...
  local name=$1
  shift
  hold "$name" uml "ubd0=$W/uml.img" rw init=/init "umid=umlocks-$name-$$" con=null ssl=null con0=null,fd:1 "$@"
}

# Debian's UML 6.1 cannot start user space on some hosts ("ptrace set fp regs failed": its
# x86 FP state size does not match the CPU's); it then panics right after mounting its root.
uml_runs_user_space() {
  touch "$W/sync/go"   # the probe's init goes straight through
  uml "ubd0=$W/uml.img" rw init=/init "umid=umlocks-probe-$$" con=null ssl=null con0=null,fd:1 \
    </dev/null >"$W/probe.log" 2>&1 || true
  rm -f "$W/sync/go"
  ! grep -q "ptrace set fp regs failed" "$W/probe.log"
}

@test "the Debian UML kernel holds an image: umkernel and umimage are refused" {
  [ -x /usr/bin/linux ] || skip "user-mode-linux not installed"
  make_shared_root
  uml_runs_user_space || skip "Debian's UML kernel cannot run user space on this host (ptrace set fp regs failed)"
  uml_holder uml
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/uml.img" init=/init
  [ "$status" -eq 1 ]
  [[ "$output" =~ uml.img\ is\ locked\ by\ pid\ [0-9]+ ]]
  run "$UMIMAGE" put "$W/uml.img" /etc/hostname /x
  [ "$status" -ne 0 ]
  [[ "$output" == *"uml.img is locked by pid "* ]]
  touch "$W/sync/go"
  release uml
  grep -q BYE "$W/uml.log"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/uml.img" init=/bin/busybox -- sh -c 'echo UMKERNEL-RAN'
  [ "$status" -eq 0 ]
  [[ "$output" == *UMKERNEL-RAN* ]]
}

@test "umkernel holds an image: the Debian UML kernel cannot lock it and does not mount it" {
  [ -x /usr/bin/linux ] || skip "user-mode-linux not installed"
  make_shared_root
  before=$(md5sum < "$W/uml.img")
  umkernel_holder vm "ubd0=$W/uml.img" ro
  run uml "ubd0=$W/uml.img" rw init=/init "umid=umlocks-refused-$$" con=null ssl=null con0=null,fd:1 </dev/null
  echo "$output" | tail -20
  [[ "$output" == *"F_SETLK failed, file already locked by pid"* ]]
  [[ "$output" == *"Failed to lock '$W/uml.img', err = 11"* ]]
  [[ "$output" != *READY* ]] && [[ "$output" != *"Mounted root"* ]]
  release vm
  [ "$(md5sum < "$W/uml.img")" = "$before" ]
}

@test "a bad disk flag is one clear line" {
  run "$UMKERNEL" "ubd0x=$W/root.img"
  [ "$status" -ne 0 ]
  [[ "$output" == *"unknown disk flag 'x' (flags: r s d c t)"* ]]
}
