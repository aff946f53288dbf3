#!/usr/bin/env bats
# /dev/kmsg (tests/guest/kmsg.c): records written from user space, read back one per read(2)
# with their syslog prefix and sequence number, as Linux's devkmsg. Guest only: natively the
# program would write into the host's kernel log, so the expected lines are Linux's answers.
load helpers

setup_file() {
  [ -x "$UM_GUEST_BIN/kmsg" ] || skip "guest program kmsg not built (target guest_kmsg)"
  W=$(mktemp -d /tmp/umkernel-kmsg.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/kmsg" /bin/kmsg >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

@test "/dev/kmsg: writes become records (LOG_USER unless named), reads give one record each, seeks, waits" {
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/kmsg
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "open for writing: 0 
write plain: 12 
write <3>: 14 
write <30>: 17 
write with a tab and a backslash: 12 
write 2000 bytes: -1 EINVAL
record: prefix 12 flag - text um kmsg one
record: prefix 11 flag - text um kmsg two
record: prefix 30 flag - text um kmsg three
record: prefix 12 flag - text um\x09kmsg\x5cfour
sequence numbers follow: yes
read at the end (non-blocking): -1 EAGAIN
lseek(1, SEEK_SET): -1 ESPIPE
lseek(0, SEEK_SET): 0 
read into 8 bytes: -1 EINVAL
lseek(0, SEEK_END): 0 
poll at the end: 0 
record: prefix 12 flag - text um kmsg later
poll after a write: 1 
revents: POLLIN" ]
}
