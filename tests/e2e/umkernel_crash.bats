#!/usr/bin/env bats
# Crash consistency: umkernel is killed with SIGKILL at random moments of a write-heavy guest
# workload (tests/guest/limits.c "writer": files written, fsync'd, renamed into place, the
# directory fsync'd, a log appended and fsync'd, unsynced scratch files churned). After each
# kill the image must pass e2fsck -fn and every file the guest reported durable (it prints
# after fsync returns) must be intact. Run it on demand:
#   CRASH_KILLS=100 bats tests/e2e/umkernel_crash.bats
# CI runs a short campaign (5 kills), and fills the host's disk under an image (a small tmpfs). Images with a journal are written through it (see
# umkernel/ARCHITECTURE.md, "Disk images and crashes"): after a kill `umimage check`
# replays the journal on a copy with e2fsck, as the next mount would, then runs e2fsck -fn;
# `umimage get` reads the image as ExtFs::open replays it (in memory, read-only).
load helpers

LIMITS="$UM_GUEST_BIN/limits"

setup_file() {
  [ -x "$LIMITS" ] || skip "guest program limits not built (target guest_limits)"
  W=$(mktemp -d /tmp/umkernel-crash.XXXXXX)
  export W
  "$UMIMAGE" create "$W/base.img" --busybox --size 64M >/dev/null
  "$UMIMAGE" put "$W/base.img" "$LIMITS" /bin/limits >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && { umount "$W/small" 2>/dev/null || true; rm -rf "$W"; }
}

# Checks the files a run reported durable: OUT is the console log, DIR the image's /data
# copied out. Prints problems; exits non-zero if any.
check_durable() {
  python3 - "$1" "$2" <<'PY'
import os, sys
out, d = sys.argv[1], sys.argv[2]
def content(i, size):
    return bytes(((i * 31 + k * 7 + (k >> 8)) & 0xff) for k in range(size))
bad = 0
files = 0
log_size = 0
log_lines = []
for line in open(out, errors="replace"):
    f = line.split()
    if len(f) == 3 and f[0] == "SYNCED" and f[2].isdigit():
        name, size = f[1], int(f[2])
        i = int(name.split(".")[1])
        files += 1
        p = os.path.join(d, name)
        if not os.path.exists(p):
            print("lost: %s" % name); bad += 1; continue
        if open(p, "rb").read() != content(i, size):
            print("damaged: %s" % name); bad += 1
        log_lines.append("entry %d size %d\n" % (i, size))
    elif len(f) == 2 and f[0] == "LOG" and f[1].isdigit():
        log_size = int(f[1])
want = "".join(log_lines).encode()[:log_size]
have = open(os.path.join(d, "log"), "rb").read() if os.path.exists(os.path.join(d, "log")) else b""
if have[:log_size] != want:
    print("log: first %d bytes differ" % log_size); bad += 1
print("durable files checked: %d, log bytes: %d, problems: %d" % (files, log_size, bad))
sys.exit(1 if bad else 0)
PY
}

@test "SIGKILL at random moments of a write-heavy workload: e2fsck -fn clean, every fsync'd file intact" {
  local kills=${CRASH_KILLS:-5} n inconsistent=0 lost=0 total_files=0 replayed=0
  for n in $(seq "$kills"); do
    cp --sparse=always "$W/base.img" "$W/run.img"
    "$UMKERNEL" quiet "ubd0=$W/run.img" init=/bin/limits -- writer /data "$n" >"$W/out" 2>&1 </dev/null &
    local vm=$! i
    for i in $(seq 300); do grep -q START "$W/out" && break; sleep 0.05; done
    # A random moment 0.1 to 2 s into the workload.
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.1 + (r % 190) / 100 }')"
    kill -KILL "$vm"
    wait "$vm" 2>/dev/null || true
    # Its guest processes die with it (PR_SET_PDEATHSIG); none may write on.
    for i in $(seq 100); do pgrep -f "writer /data" >/dev/null || break; sleep 0.05; done
    if ! "$UMIMAGE" check "$W/run.img" >"$W/fsck" 2>&1; then
      echo "kill $n: e2fsck -fn found problems:"; cat "$W/fsck"
      inconsistent=$((inconsistent + 1))
    fi
    grep -q "journal replayed" "$W/fsck" && replayed=$((replayed + 1))
    rm -rf "$W/data"
    "$UMIMAGE" get "$W/run.img" /data "$W/data" >/dev/null 2>&1 || mkdir -p "$W/data"
    if ! check_durable "$W/out" "$W/data" >"$W/check"; then
      echo "kill $n:"; cat "$W/check"
      lost=$((lost + 1))
    fi
    total_files=$((total_files + $(grep -c '^SYNCED' "$W/out")))
  done
  echo "kills: $kills, inconsistent images: $inconsistent, runs with lost or damaged fsync'd data: $lost, fsync'd files checked: $total_files, journals replayed: $replayed" >&3
  [ "$inconsistent" -eq 0 ]
  [ "$lost" -eq 0 ]
  [ "$total_files" -gt "$kills" ]  # the workload did run
}

@test "the host's disk fills under the image: the guest gets ENOSPC/EIO, umkernel stays up, the image stays consistent" {
  [ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
  mkdir -p "$W/small"
  mount -t tmpfs -o size=24m tmpfs "$W/small" || skip "cannot mount a tmpfs here"
  cp --sparse=always "$W/base.img" "$W/small/full.img"
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/small/full.img" init=/bin/limits -- diskfull /big
  echo "$output"
  cp --sparse=always "$W/small/full.img" "$W/full.img"
  umount "$W/small"
  [[ "$output" == *"ok: writing past the host's free space fails"* ]]
  [[ "$output" == *"alive after the failure"* ]]
  [[ "$output" != *FAIL* ]]
  # e2fsck -fn after the journal's replay (the check replays on a copy).
  run "$UMIMAGE" check "$W/full.img"
  echo "$output"
  [ "$status" -eq 0 ]
}
