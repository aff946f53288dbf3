#!/usr/bin/env bats
# Guest-chosen timeouts: tests/guest/time_limits gives every blocking call a timeout of about
# LONG_MAX seconds and interrupts it with SIGALRM; under umkernel the output must equal the
# native one (a deadline that overflowed would return at once instead of waiting).
load helpers

setup_file() {
  [ -x "$UM_GUEST_BIN/time_limits" ] || skip "guest program time_limits not built (target guest_time_limits)"
  W=$(mktemp -d /tmp/umkernel-time.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/time_limits" /bin/time_limits >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

@test "timeouts of ~LONG_MAX seconds wait (nanosleep, clock_nanosleep, ppoll, select, futex, sigtimedwait, SO_RCVTIMEO, setitimer)" {
  native=$("$UM_GUEST_BIN/time_limits" 2>&1)
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/time_limits
  if [ "$status" -ne 0 ] || [ "$output" != "$native" ]; then
    echo "status: $status"
    diff <(echo "$native") <(echo "$output") || true
    return 1
  fi
}
