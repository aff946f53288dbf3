# Machines and switches for the networking suites (load helpers first). A suite sets $W, a
# short working directory holding root.img (a busybox image); VM_NETNS, when set, names the
# network namespace (ip netns) that vm and start_switch run in.

netns_prefix() {  # sets NS_PRE: the words that run a command in $VM_NETNS (none if unset)
  NS_PRE=()
  if [ -n "${VM_NETNS:-}" ]; then NS_PRE=(ip netns exec "$VM_NETNS"); fi
}

need_root_netns() {  # tests that make network namespaces (and devices in them) need root
  [ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
  ip netns add "umck$$" 2>/dev/null || skip "cannot create network namespaces here"
  ip netns del "umck$$"
}

need_uml() { [ -x /usr/bin/linux ] || skip "no /usr/bin/linux (Debian user-mode-linux)"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_text() {  # FILE TEXT SECONDS [PID]: gives up early when process PID has ended
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
      grep -q -- "$2" "$1" 2>/dev/null
      return
    fi
    sleep 0.1
  done
  return 1
}

wait_for_port() {  # PORT SECONDS: until something listens on 127.0.0.1:PORT
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_switch() {  # start_switch NAME [OPTIONS...]: sets SW_CTL and SW_PID
  SW_CTL="$W/$1.ctl"
  local name=$1
  shift
  netns_prefix
  "${NS_PRE[@]}" "$UMSWITCH" --unix "$SW_CTL" "$@" >"$W/$name.sw.out" 2>"$W/$name.sw.err" 3>&- &
  SW_PID=$!
  for _ in $(seq 50); do [ -S "$SW_CTL" ] && return 0; sleep 0.1; done
  cat "$W/$name.sw.err"
  return 1
}

stat_of() { "$UMSWITCH" ctl "$SW_CTL" stats | awk -v k="$1" '$1 == k { print $2 }'; }

# vm NAME SECONDS SCRIPT [UMKERNEL ARGS...]: boots a fresh copy of the image with the busybox
# shell SCRIPT as init (after /proc and a tmpfs /tmp are mounted); console in $W/NAME.log,
# umkernel's exit status in $W/NAME.status. Runs in the foreground: add & for background.
# SCRIPT can call wait_peer ADDR: pings ADDR until it answers, 60 s at most (busybox ping -c N
# sends N pings only, so it cannot wait for a machine that is still booting).
vm() {
  local name=$1 secs=$2 script=$3
  shift 3
  cp --sparse=always "$W/root.img" "$W/$name.img"
  netns_prefix
  "${NS_PRE[@]}" timeout -k 5 "$secs" "$UMKERNEL" quiet "ubd0=$W/$name.img" "uml_dir=$W/uml" "umid=$name" "$@" \
    init=/bin/sh -- -c "mount -t proc proc /proc; mount -t tmpfs tmpfs /tmp
      wait_peer() { i=0; until ping -c 1 -w 1 \$1 >/dev/null 2>&1; do i=\$((i + 1)); [ \$i -ge 60 ] && return 1; done; }
      $script" </dev/null >"$W/$name.log" 2>&1 &
  local pid=$! rc=0
  echo "$pid" > "$W/$name.pid"   # for teardown, while it runs
  wait "$pid" || rc=$?
  rm -f "$W/$name.pid"
  echo "$rc" > "$W/$name.status"
  return 0
}

vm_status() { cat "$W/$1.status" 2>/dev/null || echo none; }

show_vm() {  # for failure output
  local n
  for n in "$@"; do
    echo "--- $n (status $(vm_status "$n")):"
    cat "$W/$n.log" 2>/dev/null || true
  done
}

# A root for Debian's UML kernel: /init reads ip=ADDR peer=ADDR from the kernel command line,
# configures eth0, waits until the peer answers (60 s at most), then wants 3 of 3 pings answered.
make_uml_image() {
  local r="$W/umlroot"
  mkdir -p "$r"/{bin,proc,sys,dev,tmp}
  cp /bin/busybox "$r/bin/"
  for a in sh mount ifconfig ping poweroff sleep echo cat; do ln -s busybox "$r/bin/$a"; done
  cat > "$r/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t tmpfs tmpfs /tmp
for w in $(cat /proc/cmdline); do
  case $w in ip=*) IP=${w#ip=};; peer=*) PEER=${w#peer=};; esac
done
ifconfig lo up
ifconfig eth0 "$IP" netmask 255.255.255.0 up
echo "UML UP $IP"
# busybox ping -c N sends N pings and stops: first wait (60 s at most) until the peer answers.
i=0; until ping -c 1 -w 1 "$PEER" >/dev/null 2>&1; do i=$((i + 1)); [ $i -ge 60 ] && break; done
ping -c 3 -w 10 "$PEER" && echo "PING OK" || echo "PING FAILED"
sleep 3   # keep answering the peer's last pings
poweroff -f
INIT
  chmod +x "$r/init"
  mke2fs -q -t ext4 -d "$r" "$W/uml.img" 32M
}

# Guest scripts for the sha256-checked TCP transfer between two VMs (port 5001):
#   receiver_script PEER        pings PEER, hashes what arrives and sends the hash back;
#   sender_script PEER MIB      makes MIB MiB of random data, pings PEER and sends it,
#                               retrying while the receiver is not listening yet (refused),
#                               never after a failed transfer.
# The logs then hold "SENT SHA", "RECV SHA", "ECHOED SHA" and "PING OK" lines.
receiver_script() {
  printf '%s\n' "wait_peer $1; ping -c 3 -w 10 $1 >/dev/null && echo \"PING OK\" || echo \"PING FAILED\"" \
    'timeout 150 nc -l -p 5001 -e sh -c "sha256sum | tee /tmp/sha"' \
    'echo "RECV SHA $(cat /tmp/sha)"'
}
sender_script() {
  printf '%s\n' "dd if=/dev/urandom of=/tmp/big bs=1M count=$2 2>/dev/null" \
    'echo "SENT SHA $(sha256sum < /tmp/big)"' \
    "wait_peer $1; ping -c 3 -w 10 $1 >/dev/null && echo \"PING OK\" || echo \"PING FAILED\"" \
    't0=$(date +%s); i=0' \
    'while :; do' \
    "  timeout 150 nc -w 5 $1 5001 < /tmp/big > /tmp/back; rc=\$?" \
    '  [ $rc -eq 0 ] && break' \
    '  i=$((i + 1))' \
    "  if [ \$rc -ge 124 ] || [ \$i -ge 20 ] || ! ping -c 1 -w 2 $1 >/dev/null; then echo \"SEND FAILED (\$rc)\"; break; fi" \
    '  sleep 0.5' \
    'done' \
    'echo "TRANSFER SECONDS $(( $(date +%s) - t0 ))"' \
    'echo "ECHOED SHA $(cat /tmp/back)"'
}

# For teardown(): stops the VMs a failed test left running ($W/*.pid) and the processes named
# in $KILL_PIDS, and waits for the latter.
stop_test_processes() {
  local p f
  for f in "$W"/*.pid; do
    if [ -s "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
    rm -f "$f"
  done
  for p in ${KILL_PIDS:-}; do kill "$p" 2>/dev/null || true; done
  for p in ${KILL_PIDS:-}; do wait "$p" 2>/dev/null || true; done
}
