#!/usr/bin/env bats
# The VM's limits under attack from inside: signals to init, segment bases, process limits
# and a fork bomb, and umkernel's own memory and fds over thousands of execs, forks, threads
# and sockets. tests/guest/limits.c prints one "ok:" line per asserted attempt.
load helpers

LIMITS="$UM_GUEST_BIN/limits"

setup_file() {
  [ -x "$LIMITS" ] || skip "guest program limits not built (target guest_limits)"
  W=$(mktemp -d /tmp/umkernel-limits.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$LIMITS" /bin/limits >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

# Runs a part of tests/guest/limits.c as init and checks that every attempt held and that
# there were at least $2 of them.
all_held() {
  local part="$1" min="$2"
  shift 2
  local opts=() args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ $# -gt 0 ] && shift && args=("$@")
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "${opts[@]}" init=/bin/limits -- "$part" "${args[@]}"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" != *FAIL* ]]
  [ "$(grep -c '^ok:' <<<"$output")" -ge "$min" ]
}

@test "init never gets a default-action signal from inside: kill(0, SIGSTOP), SIGKILL, tkill, sigqueue" {
  all_held init_signals 42
}

@test "arch_prctl refuses non-canonical FS and GS bases with EPERM, as natively" {
  all_held arch_prctl 13
  [ "$("$LIMITS" arch_prctl)" = "$output" ]
}

@test "RLIMIT_NPROC holds for users (threads count, root exempt)" {
  all_held nproc 9
}

@test "a fork bomb stops at tasks_max with EAGAIN and the VM stays usable" {
  all_held forkbomb 4 tasks_max=100
  [[ "$output" == *"forks: 99"* ]]  # init plus 99 children: the cap counts every task
}

# How many host processes descend from $1 (umkernel under timeout: the guest's tasks).
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      n = 0
      for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q]; if (q == root) n++ }
      print n - 1
    }'
}

@test "a fork bomb that never gives up holds no more host processes than tasks_max; the VM recovers" {
  local d
  d=$(mktemp -d "$W/bomb.XXXXXX")
  mkfifo "$d/in"
  timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" tasks_max=120 init=/bin/limits -- bombtree <"$d/in" >"$d/out" 2>&1 &
  local pid=$! most=0 n i
  exec 8>"$d/in"
  for i in $(seq 600); do grep -q bombing "$d/out" && break; sleep 0.1; done
  # The bombers fork forever: whenever sampled, the guest holds about tasks_max host
  # processes, never more (plus the few dying ones umkernel has not collected yet).
  for i in $(seq 30); do
    n=$(descendants "$pid")
    [ "$n" -gt "$most" ] && most=$n
    [ "$most" -ge 100 ] && [ "$i" -ge 10 ] && break
    sleep 0.1
  done
  echo go >&8
  exec 8>&-
  wait "$pid"
  cat "$d/out"
  echo "most host processes seen (umkernel included): $most"
  # On seccomp each guest process also holds the host thread that changes its address space.
  local limit=125
  [ "$(um_platform)" = seccomp ] && limit=250
  [ "$most" -le "$limit" ]
  [[ "$(cat "$d/out")" != *FAIL* ]]
  grep -q "ok: after the bomb programs run again" "$d/out"
}

@test "mem=64M: one process cannot map or touch more (malloc, mmap, MAP_NORESERVE, brk: ENOMEM)" {
  all_held mem_single 4 mem=64M -- 64
}

@test "mem=64M: tmpfs size= and memfds are bounded by it (ENOSPC), and freed data is given back" {
  all_held mem_files 7 mem=64M -- 64
}

@test "mem=64M: pipe contents and unix socket queues are held to it (ENOMEM, ENOBUFS), and given back" {
  all_held mem_buffers 4 mem=64M -- 64
}

@test "mem=64M: processes that together touch 2x mem= are OOM-killed until the rest fit; init is spared" {
  all_held mem_many 3 mem=64M -- 64
}

@test "tasks_max= is checked on the command line" {
  for bad in tasks_max=7 tasks_max=32769 tasks_max=x tasks_max=; do
    run "$UMKERNEL" "ubd0=$W/root.img" "$bad"
    [ "$status" -ne 0 ]
    [[ "${lines[0]}" == "umkernel: error: $bad"* ]]
  done
}

# umkernel's RSS and fd count after a warm-up and after 1000 more rounds of execs, forks,
# threads, sockets, pipes and /proc reads: a leak of a few hundred bytes per round shows.
# (An execve with /proc mounted leaked ~6.8 kB: /proc/PID directories were reference cycles.)
@test "no leak: umkernel's memory and fds stay flat over 1000 execs, forks, threads and sockets" {
  local d
  d=$(mktemp -d "$W/leak.XXXXXX")
  mkfifo "$d/in"
  timeout 300 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c '
    mount -t proc proc /proc
    work() { /bin/limits churn $1 >/dev/null; i=0; while [ $i -lt $1 ]; do /bin/true; i=$((i+1)); done; }
    work 200; echo phase1; read x
    work 1000; echo phase2; read x' <"$d/in" >"$d/out" 2>&1 &
  local pid=$! i
  exec 8>"$d/in"
  sample() { echo "$(awk '/VmRSS/{print $2}' /proc/$pid/status) $(ls /proc/$pid/fd | wc -l)"; }
  for i in $(seq 3000); do grep -q phase1 "$d/out" && break; sleep 0.1; done
  read -r rss1 fds1 < <(sample)
  echo x >&8
  for i in $(seq 3000); do grep -q phase2 "$d/out" && break; sleep 0.1; done
  read -r rss2 fds2 < <(sample)
  echo x >&8
  exec 8>&-
  wait "$pid"
  echo "RSS ${rss1} kB -> ${rss2} kB, fds ${fds1} -> ${fds2}"
  [ -n "$rss1" ] && [ -n "$rss2" ]
  [ $((rss2 - rss1)) -lt 1024 ]
  [ "$fds2" -le "$fds1" ]
}

# Host services on 127.0.0.1 (TCP and UDP) that note whatever reaches them.
start_listeners() {  # DIR: sets TCP_PORT UDP_PORT, hits go to DIR/hits
  python3 - "$1" >"$1/ports" 2>/dev/null 3>&- <<'PY' &
import os, socket, sys, threading
d = sys.argv[1]
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
print(t.getsockname()[1], u.getsockname()[1], os.getpid(), flush=True)
def note(what):
    with open(d + "/hits", "a") as f: f.write(what + "\n")
def tcp():
    while True:
        c, _ = t.accept(); note("tcp"); c.close()
threading.Thread(target=tcp, daemon=True).start()
while True:
    u.recvfrom(2048); note("udp")
PY
  local i
  for i in $(seq 100); do [ -s "$1/ports" ] && break; sleep 0.1; done
  # The listener's own pid (python may run under a wrapper that $! would name instead).
  read -r TCP_PORT UDP_PORT LISTENER <"$1/ports"
}

teardown() {
  [ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null || true
}

# Runs a guest on slirp with restrict=$2 that tries the host's loopback through 10.0.2.2 and
# the DNS proxy 10.0.2.3, and serves httpd on a hostfwd forward the host fetches from.
slirp_guest() {  # DIR RESTRICT: output in DIR/out, the host's fetch in DIR/fetched
  local d=$1 fwd
  fwd=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkfifo "$d/in"
  timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "eth0=slirp,,restrict=$2,hostfwd=tcp:127.0.0.1:$fwd-:80" \
    ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0 init=/bin/sh -- -c "
    /bin/limits reach 10.0.2.2 $TCP_PORT $UDP_PORT
    /bin/limits reach 10.0.2.3 53 53
    mkdir -p /www && echo guest-page > /www/index.html && httpd -p 80 -h /www && echo SERVING
    read x" <"$d/in" >"$d/out" 2>&1 &
  local vm=$! i
  exec 8>"$d/in"
  for i in $(seq 600); do grep -q SERVING "$d/out" && break; sleep 0.1; done
  python3 - "$fwd" >"$d/fetched" 2>&1 <<'PY' || true
import sys, time, urllib.request
for _ in range(20):
    try:
        print(urllib.request.urlopen("http://127.0.0.1:%s/index.html" % sys.argv[1], timeout=5).read().decode().strip()); break
    except Exception as e:
        time.sleep(0.3)
PY
  echo done >&8
  exec 8>&-
  wait "$vm"
  cat "$d/out"
  echo "host fetched: $(cat "$d/fetched")"
}

@test "eth0=slirp,restrict=on: the guest reaches neither the host's loopback nor DNS; hostfwd still works" {
  local d
  d=$(mktemp -d "$W/restrict.XXXXXX")
  start_listeners "$d"
  slirp_guest "$d" on
  echo "hits: $(cat "$d/hits" 2>/dev/null)"
  grep -q "tcp 10.0.2.2:$TCP_PORT: failed" "$d/out"
  [ ! -e "$d/hits" ]                                  # neither TCP nor UDP reached the host
  [ "$(cat "$d/fetched")" = guest-page ]              # hostfwd is the way in
}

@test "eth0=slirp without restrict: the same attempts reach the host (the test above can fail)" {
  local d
  d=$(mktemp -d "$W/norestrict.XXXXXX")
  start_listeners "$d"
  slirp_guest "$d" off
  grep -q "tcp 10.0.2.2:$TCP_PORT: connected" "$d/out"
  grep -q tcp "$d/hits"
  grep -q udp "$d/hits"
  [ "$(cat "$d/fetched")" = guest-page ]
}

@test "restrict= takes on or off" {
  run "$UMKERNEL" "ubd0=$W/root.img" eth0=slirp,,restrict=maybe
  [ "$status" -ne 0 ]
  [[ "${lines[0]}" == *"restrict=maybe: expected on or off"* ]]
}

# A guest on umswitch --nat [--restrict] tries the host's loopback through 10.0.2.2.
switch_guest() {  # DIR SWITCH-OPTIONS...: output in DIR/out
  local d=$1
  shift
  "$UMSWITCH" --unix "$d/sw.ctl" --nat "$@" >"$d/sw.out" 2>&1 3>&- &
  local sw=$! i
  for i in $(seq 50); do [ -S "$d/sw.ctl" ] && break; sleep 0.1; done
  timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "eth0=daemon,,unix,$d/sw.ctl" \
    ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0 init=/bin/limits -- reach 10.0.2.2 "$TCP_PORT" "$UDP_PORT" \
    >"$d/out" 2>&1 </dev/null || true
  kill "$sw" 2>/dev/null || true
  wait "$sw" 2>/dev/null || true
  cat "$d/out"
}

@test "umswitch --nat --restrict: the guests do not reach the host's loopback; without it they do" {
  local d
  d=$(mktemp -d "$W/swrestrict.XXXXXX")
  start_listeners "$d"
  switch_guest "$d" --restrict
  grep -q "tcp 10.0.2.2:$TCP_PORT: failed" "$d/out"
  [ ! -e "$d/hits" ]
  switch_guest "$d"
  grep -q "tcp 10.0.2.2:$TCP_PORT: connected" "$d/out"
  grep -q tcp "$d/hits"
  grep -q udp "$d/hits"
  run "$UMSWITCH" --unix "$d/x.ctl" --restrict
  [ "$status" -ne 0 ]
  [[ "$output" == *"--restrict needs --nat"* ]]
}
