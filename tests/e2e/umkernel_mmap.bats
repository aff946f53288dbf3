#!/usr/bin/env bats
# Files on the image shared between processes. MAP_SHARED mappings: tests/guest/shared_mmap
# prints the same facts natively and under umkernel, and what went through a mapping is in the
# image after the machine halts (e2fsck clean). Record locks: EDEADLK as Linux.
load helpers

PROG="$UM_GUEST_BIN/shared_mmap"

setup_file() {
  [ -x "$PROG" ] || skip "guest program shared_mmap not built"
  W=$(mktemp -d /tmp/ummmap.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$PROG" /bin/shared_mmap >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

@test "shared file mappings on the image behave as on Linux" {
  mkdir "$W/native"
  native=$("$PROG" "$W/native" 2>&1)
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/shared_mmap -- /root
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ] || { diff <(echo "$native") <(echo "$output"); false; }
}

@test "stores through a mapping reach the image without msync, once the machine halts" {
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c \
    '/bin/shared_mmap /root store && echo ran'
  [ "$status" -eq 0 ]
  [[ "$output" == *ran* ]]
  run "$UMIMAGE" cat "$W/root.img" /root/store.dat
  [ "${output:0:20}" = "stored-without-msync" ]
  run "$UMIMAGE" check "$W/root.img"
  [ "$status" -eq 0 ]
}

@test "POSIX record locks that would wait for each other: EDEADLK, as Linux" {
  [ -x "$UM_GUEST_BIN/lock_deadlock" ] || skip "guest program lock_deadlock not built"
  mkdir -p "$W/locks"
  native=$("$UM_GUEST_BIN/lock_deadlock" "$W/locks" 2>&1)
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/lock_deadlock" /bin/lock_deadlock >/dev/null
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/lock_deadlock -- /root
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ] || { diff <(echo "$native") <(echo "$output"); false; }
}
