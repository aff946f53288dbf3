#!/usr/bin/env bash
# VM-to-VM TCP over two umswitches joined by VXLAN against the same over one umswitch, for a
# pair of umkernel VMs and a pair of Debian UML kernels (tests/tools/uml), in one run. The two
# switches talk VXLAN over the host's loopback (127.0.0.1:4789 <-> 127.0.0.2:4789): what is
# measured is the encapsulation and the second switch, not a wire. Inside the client guest:
#   - HTTP: busybox wget of MB MiB from the server's busybox httpd (tmpfs), under busybox time;
#   - nc: MB MiB from tmpfs to the server's nc -l, under busybox time;
#   - ping: the average of PINGS round trips at 0.2 s intervals.
# Prints every round, then the medians and the ratios vxlan/one (throughput: 1.0 = no cost).
# Run on demand, not in ctest.
#   tests/bench/vxlan_bench.sh [MEGABYTES]          (default 64)
# Environment: UM_BIN (umkernel, umimage, umswitch; default bin/), ROUNDS (3), PINGS (20),
# KINDS ("umkernel uml"), KEEP=1 (keep the work directory).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
UM_BIN=${UM_BIN:-$here/bin}
UML=$here/tests/tools/uml
MB=${1:-64}
ROUNDS=${ROUNDS:-3}
PINGS=${PINGS:-20}
KINDS=${KINDS:-umkernel uml}
DEADLINE=$((120 + MB * 3))
for t in umkernel umimage umswitch; do [ -x "$UM_BIN/$t" ] || { echo "needs $UM_BIN/$t (set UM_BIN)"; exit 1; }; done
if [[ " $KINDS " == *" uml "* ]] && [ ! -x /usr/bin/linux ]; then echo "needs /usr/bin/linux, or KINDS=umkernel"; exit 1; fi

work=$(mktemp -d /tmp/umvxb.XXXXXX)   # short: socket paths must fit in 108 bytes
sw_pids=()
cleanup() {
  local p
  for p in "$work"/*.pid; do [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  for p in "${sw_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

cat > "$work/job.sh" <<'JOB'
if [ "$ROLE" = server ]; then
  mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/big bs=1M count="$MB" 2>/dev/null
  httpd -p 8080 -h /tmp/www
  nc -l -p 5001 -e sh -c 'cat > /dev/null'
  sleep 1
else
  dd if=/dev/zero of=/tmp/big bs=1M count="$MB" 2>/dev/null
  i=0; until ping -c 1 -w 1 "$PEER" >/dev/null 2>&1; do i=$((i + 1)); [ $i -ge 60 ] && break; done
  echo "PING $(ping -c "$PINGS" -i 0.2 -q "$PEER" | tail -1)"
  time wget -q -O /dev/null "http://$PEER:8080/big" && echo "HTTP OK"
  time nc "$PEER" 5001 < /tmp/big && echo "TRANSFER OK"
fi
JOB
"$UM_BIN/umimage" create "$work/um.img" --busybox --size 128M >/dev/null
"$UM_BIN/umimage" put "$work/um.img" "$work/job.sh" /job.sh >/dev/null
if [[ " $KINDS " == *" uml "* ]]; then
  r=$work/umlroot
  mkdir -p "$r"/{bin,proc,sys,dev,tmp}
  cp /bin/busybox "$r/bin/"
  for a in sh mount ifconfig ping poweroff sleep echo dd nc time tail cat mkdir httpd wget; do ln -s busybox "$r/bin/$a"; done
  cp "$work/job.sh" "$r/job.sh"
  cat > "$r/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t tmpfs tmpfs /tmp
for w in $(cat /proc/cmdline); do
  case $w in ip=*) IP=${w#ip=};; peer=*) PEER=${w#peer=};; mb=*) MB=${w#mb=};; role=*) ROLE=${w#role=};;
             pings=*) PINGS=${w#pings=};; esac
done
export IP PEER MB ROLE PINGS
ifconfig lo up
ifconfig eth0 "$IP" netmask 255.255.255.0 up
sh /job.sh
poweroff -f
INIT
  chmod +x "$r/init"
  mke2fs -q -t ext4 -d "$r" "$work/uml.img" 64M >/dev/null 2>&1
fi

switch() {  # switch NAME ARGS...: starts a umswitch on $work/NAME.ctl
  rm -f "$work/$1.ctl"
  "$UM_BIN/umswitch" --unix "$work/$1.ctl" -q "${@:2}" </dev/null >/dev/null 2>"$work/$1.sw.err" &
  sw_pids+=($!)
  for _ in $(seq 50); do [ -S "$work/$1.ctl" ] && return 0; sleep 0.1; done
  cat "$work/$1.sw.err"
  return 1
}

stop_switches() {
  local p
  for p in "${sw_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  sw_pids=()
}

vm() {  # vm KIND NAME ROLE IP PEER MAC CTL
  local kind=$1 name=$2 role=$3 ip=$4 peer=$5 mac=$6 ctl=$7
  if [ "$kind" = umkernel ]; then
    cp --sparse=always "$work/um.img" "$work/$name.img"
    timeout -k 5 "$DEADLINE" "$UM_BIN/umkernel" quiet "ubd0=$work/$name.img" mem=$((MB * 2 + 256))M \
      umid="$name" uml_dir="$work/run" eth0=daemon,"$mac",unix,"$ctl" ip="$ip":::255.255.255.0::eth0 \
      init=/bin/sh -- -c "mount -t proc proc /proc; mount -t tmpfs tmpfs /tmp; ROLE=$role PEER=$peer MB=$MB PINGS=$PINGS sh /job.sh" \
      </dev/null >"$work/$name.log" 2>&1 &
  else
    TMPDIR="$work" timeout -k 5 "$DEADLINE" "$UML" ubd0r="$work/uml.img" ro mem=$((MB + 96))M umid="$name" \
      uml_dir="$work/run" eth0=daemon,"$mac",unix,"$ctl" init=/init con=null ssl=null con0=null,fd:1 \
      role="$role" ip="$ip" peer="$peer" mb="$MB" pings="$PINGS" </dev/null >"$work/$name.log" 2>&1 &
  fi
  local pid=$!
  echo "$pid" > "$work/$name.pid"
  wait "$pid" || true
  rm -f "$work/$name.pid"
}

# run KIND TOPOLOGY ROUND: sets HTTP, NC (seconds) and RTT (ms), "failed" when missing.
run() {
  local kind=$1 topo=$2 round=$3 ctl_s ctl_c
  if [ "$topo" = one ]; then
    switch one
    ctl_s=$work/one.ctl ctl_c=$work/one.ctl
  else
    switch vxa --vxlan 127.0.0.2 --vni 4242 --vxlan-local 127.0.0.1
    switch vxb --vxlan 127.0.0.1 --vni 4242 --vxlan-local 127.0.0.2
    ctl_s=$work/vxa.ctl ctl_c=$work/vxb.ctl
  fi
  local n=$kind-$topo-$round
  vm "$kind" "$n-s" server 10.0.14.2 10.0.14.1 02:00:00:00:0e:02 "$ctl_s" &
  local server=$!
  vm "$kind" "$n-c" client 10.0.14.1 10.0.14.2 02:00:00:00:0e:01 "$ctl_c"
  for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  [ -s "$work/$n-s.pid" ] && kill "$(cat "$work/$n-s.pid")" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  stop_switches
  tr -d '\r' < "$work/$n-c.log" > "$work/$n-c.txt"
  local times
  times=$(sed -n 's/^real[[:space:]]*\([0-9]*\)m \{0,1\}\([0-9.]*\)s.*/\1 \2/p' "$work/$n-c.txt" | awk '{ print $1 * 60 + $2 }')
  HTTP=failed NC=failed
  grep -q "HTTP OK" "$work/$n-c.txt" && HTTP=$(echo "$times" | sed -n 1p)
  grep -q "TRANSFER OK" "$work/$n-c.txt" && NC=$(echo "$times" | sed -n 2p)
  RTT=$(sed -n 's|^PING .*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$work/$n-c.txt")
  [ -n "$HTTP" ] || HTTP=failed
  [ -n "$NC" ] || NC=failed
  [ -n "$RTT" ] || RTT=failed
}

median() { tr ' ' '\n' | grep -v '^$' | grep -v failed | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "failed"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A http nc rtt
for round in $(seq "$ROUNDS"); do
  for kind in $KINDS; do
    for topo in one vxlan; do
      run "$kind" "$topo" "$round"
      echo "round $round $kind $topo: $MB MiB http $HTTP s, nc $NC s, ping avg $RTT ms"
      http[$kind-$topo]+=" $HTTP"; nc[$kind-$topo]+=" $NC"; rtt[$kind-$topo]+=" $RTT"
    done
  done
done

mbps() { [ "$1" = failed ] && echo - || awk -v m="$MB" -v s="$1" 'BEGIN { printf "%.1f", (s > 0 ? m * 1.048576 / s : 0) }'; }
ratio() { { [ "$1" = failed ] || [ "$2" = failed ]; } && echo - || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
printf "%-9s %-22s %8s %9s %8s %9s %9s\n" VMs path "http s" "http MB/s" "nc s" "nc MB/s" "ping ms"
for kind in $KINDS; do
  for topo in one vxlan; do
    h=$(echo "${http[$kind-$topo]}" | median) c=$(echo "${nc[$kind-$topo]}" | median) p=$(echo "${rtt[$kind-$topo]}" | median)
    label=$([ "$topo" = one ] && echo "one umswitch" || echo "2 umswitches + VXLAN")
    printf "%-9s %-22s %8s %9s %8s %9s %9s\n" "$kind" "$label" "$h" "$(mbps "$h")" "$c" "$(mbps "$c")" "$p"
  done
  h1=$(echo "${http[$kind-one]}" | median) h2=$(echo "${http[$kind-vxlan]}" | median)
  c1=$(echo "${nc[$kind-one]}" | median) c2=$(echo "${nc[$kind-vxlan]}" | median)
  p1=$(echo "${rtt[$kind-one]}" | median) p2=$(echo "${rtt[$kind-vxlan]}" | median)
  echo "$kind: throughput vxlan/one http $(ratio "$h1" "$h2")x, nc $(ratio "$c1" "$c2")x; ping vxlan/one $(ratio "$p2" "$p1")x"
done
echo "(medians of $ROUNDS rounds; MB = 10^6 bytes; $PINGS pings at 0.2 s intervals)"
