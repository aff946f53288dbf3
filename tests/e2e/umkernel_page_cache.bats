#!/usr/bin/env bats
# The page cache of image files (umkernel/vfs/page_cache.h): tests/guest/page_cache prints the
# same facts natively and under umkernel (read() and mappings across processes, growing,
# shrinking, sparse files, O_APPEND); what a boot wrote is there after a reboot and e2fsck is
# clean after a halt; what was fsync'd survives a SIGKILL of umkernel; /proc/meminfo counts it.
load helpers

PROG="$UM_GUEST_BIN/page_cache"

setup_file() {
  [ -x "$PROG" ] || skip "guest program page_cache not built"
  W=$(mktemp -d /tmp/umpagecache.XXXXXX)
  export W
  "$UMIMAGE" create -s 320M "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$PROG" /bin/page_cache >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

@test "file data through read(), write() and mappings behaves as on Linux" {
  mkdir "$W/native"
  native=$("$PROG" "$W/native" 2>&1)
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/page_cache -- /root
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ] || { diff <(echo "$native") <(echo "$output"); false; }
  run e2fsck -fn "$W/root.img"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "what one boot wrote (no fsync) is there after a reboot; e2fsck clean after the halt" {
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c \
    '/bin/page_cache /root write && echo wrote'
  [ "$status" -eq 0 ]
  [[ "$output" == *wrote* ]]
  run e2fsck -fn "$W/root.img"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/page_cache -- /root verify
  [[ "$output" == *"persist.dat after reboot: yes"* ]]
  [[ "$output" == *"stores through a grown shared mapping after reboot: yes"* ]]
}

@test "a SIGKILL of umkernel loses nothing that was fsync'd" {
  log="$W/kill.log"
  "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/page_cache -- /root fsync >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    grep -q synced "$log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q synced "$log" || { kill -9 "$pid"; cat "$log"; false; }
  kill -9 "$pid"
  wait "$pid" || true
  run "$UMIMAGE" cat "$W/root.img" /root/synced.dat
  [ "$status" -eq 0 ]
  # The file is 5 MiB of the program's pattern: the same bytes a native run writes.
  mkdir -p "$W/native2"
  "$PROG" "$W/native2" fsync >"$W/native2.log" &
  npid=$!
  for _ in $(seq 600); do grep -q synced "$W/native2.log" && break; sleep 0.1; done
  kill "$npid"; wait "$npid" || true
  [ "$("$UMIMAGE" cat "$W/root.img" /root/synced.dat | sha256sum)" = "$(sha256sum <"$W/native2/synced.dat")" ]
}

@test "/proc/meminfo counts the page cache (Cached, Dirty)" {
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c \
    'mount -t proc proc /proc; cat /root/persist.dat >/dev/null; grep -E "^(Cached|Dirty):" /proc/meminfo;
     dd if=/dev/zero of=/root/dirty.dat bs=1M count=3 2>/dev/null; grep -E "^Dirty:" /proc/meminfo;
     sync; grep -E "^Dirty:" /proc/meminfo; rm /root/dirty.dat'
  [ "$status" -eq 0 ]
  cached=$(echo "$output" | awk '/^Cached:/ { print $2; exit }')
  [ "$cached" -ge 5120 ]   # the 5 MiB file, in kB
  dirty=($(echo "$output" | awk '/^Dirty:/ { print $2 }'))
  [ "${dirty[1]}" -ge 3072 ]  # the 3 MiB not yet written back
  [ "${dirty[2]}" -eq 0 ]     # sync wrote it
}

@test "the page cache stays within mem=: a file twice mem= written and read back whole, umkernel's peak within mem= + 32 MiB" {
  # mem=64M; 128 MiB written (sha256 taken on the way in), synced, read back twice.
  run timeout 180 /usr/bin/time -f 'PEAK %M' "$UMKERNEL" quiet mem=64M "ubd0=$W/root.img" init=/bin/sh -- -c \
    'mount -t proc proc /proc; dd if=/dev/urandom bs=1M count=128 2>/dev/null | tee /root/big.dat | sha256sum;
     sync; sha256sum /root/big.dat; sha256sum /root/big.dat;
     grep -E "^Cached:" /proc/meminfo; rm /root/big.dat'
  [ "$status" -eq 0 ]
  sums=($(echo "$output" | awk '/^[0-9a-f]{64}/ { print $1 }'))
  [ "${#sums[@]}" -eq 3 ]
  [ "${sums[0]}" = "${sums[1]}" ] && [ "${sums[1]}" = "${sums[2]}" ]
  cached=$(echo "$output" | awk '/^Cached:/ { print $2 }')
  [ "$cached" -le 65536 ]
  peak=$(echo "$output" | awk '/^PEAK/ { print $2 }')
  echo "umkernel peak RSS: $peak kB"
  [ "$peak" -le $(( (64 + 32) * 1024 )) ] || { echo "umkernel peak RSS $peak kB"; false; }
}
