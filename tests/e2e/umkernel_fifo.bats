#!/usr/bin/env bats
# FIFO open semantics and pipes reopened through /proc/self/fd and /dev/fd: the guest program
# tests/guest/fifo_open prints facts only, so its output under umkernel must equal its native
# output, part by part.
load helpers

setup_file() {
  [ -x "$UM_GUEST_BIN/fifo_open" ] || skip "guest program fifo_open not built (target guest_fifo_open)"
  W=$(mktemp -d /tmp/umkernel-fifo.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/fifo_open" /bin/fifo_open >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

same_as_native() {
  expect_native_output "$("$UM_GUEST_BIN/fifo_open" "$1" 2>&1)" "ubd0=$W/root.img" init=/bin/fifo_open -- "$1"
}

@test "a FIFO's reader waits for a writer and gets its data" { same_as_native reader_first; }
@test "a FIFO's writer waits for a reader" { same_as_native writer_first; }
@test "non-blocking FIFO opens: ENXIO for a writer without a reader, readers never wait" { same_as_native nonblock; }
@test "a FIFO opened read-write never waits" { same_as_native rdwr; }
@test "/proc/self/fd and /dev/fd reopen pipes and files (bash's <(...))" { same_as_native proc_fd; }
