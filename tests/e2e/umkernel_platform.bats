#!/usr/bin/env bats
# The platforms (issue 12): the command line's platform= (and UM_PLATFORM), and attacks on
# both from inside the guest (tests/guest/platform_escape): 32-bit system calls (int 0x80, far
# return into 32-bit code) are never served as 64-bit calls and never hang umkernel, jumps
# into the stub's syscall instructions make the guest's own calls, scribbling on seccomp's
# thread slots harms only the guest, and the platform's pages tell the guest nothing of the host.
load helpers

PROG="$UM_GUEST_BIN/platform_escape"

setup_file() {
  [ -x "$PROG" ] || skip "guest program platform_escape not built"
  W=$(mktemp -d /tmp/umplat.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$PROG" /bin/platform_escape >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

check_escape() {
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "platform=$1" init=/bin/platform_escape -- /root/shared
  [ "$status" -eq 0 ]
  expected="int80: SIGSEGV
compat brk: SIGSEGV
compat mmap2: SIGSEGV
child int80 without handler: SIGSEGV
stub jumps: every syscall instruction serves the guest's own call
slot tampering: the VM goes on
stub pages: clean
shared mapping reads back: x
mprotect of a shared mapping of a read-only file: refused
done"
  [ "$output" = "$expected" ] || { diff <(echo "$expected") <(echo "$output"); false; }
}

@test "ptrace: 32-bit calls get SIGSEGV, stub jumps serve the guest, the stub pages leak nothing" {
  check_escape ptrace
}

@test "seccomp: 32-bit calls get SIGSEGV, stub jumps and slot tampering never reach the host" {
  check_escape seccomp
}

@test "the boot log names the platform; an unknown one is refused" {
  run timeout 60 "$UMKERNEL" "ubd0=$W/root.img" init=/bin/true
  [ "$status" -eq 0 ]
  [[ "$output" == *"platform: "* ]]
  run timeout 60 "$UMKERNEL" platform=ptrace "ubd0=$W/root.img" init=/bin/true
  [ "$status" -eq 0 ]
  [[ "$output" == *"platform: ptrace"* ]]
  run timeout 60 "$UMKERNEL" platform=seccomp "ubd0=$W/root.img" init=/bin/true
  [ "$status" -eq 0 ]
  [[ "$output" == *"platform: seccomp"* ]]
  UM_PLATFORM=seccomp run timeout 60 "$UMKERNEL" "ubd0=$W/root.img" init=/bin/true
  [ "$status" -eq 0 ]
  [[ "$output" == *"platform: seccomp"* ]]
  run "$UMKERNEL" platform=bogus "ubd0=$W/root.img" init=/bin/true
  [ "$status" -eq 2 ]
  [[ "$output" == *"platform=bogus: unknown platform"* ]]
}
