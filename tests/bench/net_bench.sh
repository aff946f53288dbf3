#!/usr/bin/env bash
# VM-to-VM networking: a pair of umkernel VMs on umswitch against a pair of Debian UML kernels
# (/usr/bin/linux) on uml_switch (uml-utilities), in one run. Each pair measures, inside the
# client guest:
#   - TCP throughput: MB MiB from /tmp (tmpfs) with busybox nc to the other guest's nc -l, timed
#     with busybox time around the sending nc (connect to the receiver's close);
#   - ping latency: ping -c PINGS -i 0.2, the average round trip.
# Prints a table (best of ROUNDS rounds, umkernel and UML alternating) and the ratios
# umkernel/UML (target: throughput >= 2x UML). Run on demand, not in ctest.
#   tests/bench/net_bench.sh [MEGABYTES]          (default 64)
# Environment: UM_BIN (umkernel, umimage, umswitch; default bin/), ROUNDS (2), PINGS (20),
# LINUX (/usr/bin/linux), ONLY=umkernel|uml (one pair only), KEEP=1 (keep the work directory).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
UM_BIN=${UM_BIN:-$here/bin}
LINUX=${LINUX:-$(cd "$(dirname "$0")/../tools" && pwd)/uml}  # /usr/bin/linux with the xstate shim
MB=${1:-64}
ROUNDS=${ROUNDS:-2}
PINGS=${PINGS:-20}
ONLY=${ONLY:-}
DEADLINE=$((120 + MB * 3))   # per VM: a deadline, so that a broken pair fails instead of hanging

pairs=()
[ "$ONLY" != uml ] && pairs+=(umkernel)
[ "$ONLY" != umkernel ] && pairs+=(uml)
for p in "${pairs[@]}"; do
  case $p in
    umkernel) for t in umkernel umimage umswitch; do
                [ -x "$UM_BIN/$t" ] || { echo "needs $UM_BIN/$t (set UM_BIN)"; exit 1; }
              done ;;
    uml) [ -x "$LINUX" ] || { echo "needs $LINUX (Debian user-mode-linux), or ONLY=umkernel"; exit 1; }
         command -v uml_switch >/dev/null || { echo "needs uml_switch (uml-utilities), or ONLY=umkernel"; exit 1; } ;;
  esac
done

work=$(mktemp -d /tmp/umnetb.XXXXXX)   # short: socket paths must fit in 108 bytes
sw_pid=""
bg_pids=()
cleanup() {
  local p
  for p in "$work"/*.pid; do [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$sw_pid" ] && kill "$sw_pid" 2>/dev/null
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The job both kinds of guest run, as a busybox shell script:
#   ROLE=server: nc -l on port 5001 runs cat with the connection as stdin, to /dev/null;
#   ROLE=client: write MB MiB of zeros to /tmp, wait until the server answers pings, PINGS
#   timed pings, then send the file with nc under busybox time.
cat > "$work/job.sh" <<'JOB'
if [ "$ROLE" = server ]; then
  mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/big bs=1M count="$MB" 2>/dev/null
  httpd -p 8080 -h /tmp/www
  nc -l -p 5001 -e sh -c 'cat > /dev/null'
  echo "SERVER DONE"
  sleep 1
else
  dd if=/dev/zero of=/tmp/big bs=1M count="$MB" 2>/dev/null
  # busybox ping -c N sends N pings only: wait (60 s at most) until the server answers.
  i=0; until ping -c 1 -w 1 "$PEER" >/dev/null 2>&1; do i=$((i + 1)); [ $i -ge 60 ] && break; done
  echo "PING $(ping -c "$PINGS" -i 0.2 -q "$PEER" | tail -1)"
  # HTTP first (busybox wget reads in larger pieces than nc's 1 KiB: closer to what the
  # network itself carries), then nc, which ends the server.
  time wget -q -O /dev/null "http://$PEER:8080/big" && echo "HTTP OK"
  time nc "$PEER" 5001 < /tmp/big && echo "TRANSFER OK"
fi
JOB

# umkernel: one busybox image (umimage), the job in /job.sh; each VM boots a fresh copy.
if [[ " ${pairs[*]} " == *" umkernel "* ]]; then
  "$UM_BIN/umimage" create "$work/um.img" --busybox --size 128M >/dev/null
  "$UM_BIN/umimage" put "$work/um.img" "$work/job.sh" /job.sh >/dev/null
fi
# UML: a busybox root whose /init takes role=, ip=, peer=, mb=, pings= from the kernel command
# line and runs the same job.
if [[ " ${pairs[*]} " == *" uml "* ]]; then
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

start_switch() {  # start_switch KIND CTL
  rm -f "$2"
  case $1 in
    umkernel) "$UM_BIN/umswitch" --unix "$2" -q </dev/null >/dev/null 2>&1 & sw_pid=$! ;;
    uml)      uml_switch -unix "$2" </dev/null >/dev/null 2>&1 & sw_pid=$! ;;
  esac
  for _ in $(seq 50); do [ -S "$2" ] && return 0; sleep 0.1; done
  echo "switch for $1 did not start"
  return 1
}

stop_switch() {
  kill "$sw_pid" 2>/dev/null || true
  wait "$sw_pid" 2>/dev/null || true
  sw_pid=""
}

# vm KIND NAME ROLE IP PEER MAC CTL: one guest, console to $work/NAME.log, exit status to
# $work/NAME.status; $work/NAME.pid names its timeout process while it runs (see stop_vm).
vm() {
  local kind=$1 name=$2 role=$3 ip=$4 peer=$5 mac=$6 ctl=$7
  case $kind in
    umkernel)
      cp --sparse=always "$work/um.img" "$work/$name.img"
      timeout -k 5 "$DEADLINE" "$UM_BIN/umkernel" quiet "ubd0=$work/$name.img" mem=$((MB * 2 + 256))M \
        umid="$name" uml_dir="$work/run" eth0=daemon,"$mac",unix,"$ctl" \
        ip="$ip":::255.255.255.0::eth0 init=/bin/sh -- -c \
        "mount -t proc proc /proc; mount -t tmpfs tmpfs /tmp; ROLE=$role PEER=$peer MB=$MB PINGS=$PINGS sh /job.sh" \
        </dev/null >"$work/$name.log" 2>&1 & ;;
    uml)
      TMPDIR="$work" timeout -k 5 "$DEADLINE" "$LINUX" ubd0r="$work/uml.img" ro mem=$((MB + 96))M umid="$name" \
        uml_dir="$work/run" eth0=daemon,"$mac",unix,"$ctl" init=/init con=null ssl=null con0=null,fd:1 \
        role="$role" ip="$ip" peer="$peer" mb="$MB" pings="$PINGS" \
        </dev/null >"$work/$name.log" 2>&1 & ;;
  esac
  local pid=$! rc=0
  echo "$pid" > "$work/$name.pid"
  wait "$pid" || rc=$?
  rm -f "$work/$name.pid"
  echo "$rc" > "$work/$name.status"
}

stop_vm() {  # stop_vm NAME: stops the guest if it still runs
  [ -s "$work/$1.pid" ] && kill "$(cat "$work/$1.pid")" 2>/dev/null || true
}

# run_pair KIND ROUND: sets SECS and RTT (average ms), each "failed" when it did not work
run_pair() {
  local kind=$1 round=$2 ctl=$work/$1.ctl
  SECS=failed RTT=failed HTTP_SECS=failed
  start_switch "$kind" "$ctl" || return 0
  vm "$kind" "$kind-s$round" server 10.0.6.2 10.0.6.1 02:00:00:00:60:02 "$ctl" &
  local server=$!
  vm "$kind" "$kind-c$round" client 10.0.6.1 10.0.6.2 02:00:00:00:60:01 "$ctl" &
  local client=$!
  bg_pids+=("$server" "$client")
  # A server that dies before the client is done (a crash) ends the round.
  while kill -0 "$client" 2>/dev/null; do
    if ! kill -0 "$server" 2>/dev/null && [ "$(cat "$work/$kind-s$round.status" 2>/dev/null)" != 0 ]; then
      echo "  $kind server exited with status $(cat "$work/$kind-s$round.status" 2>/dev/null): $(tail -2 "$work/$kind-s$round.log" | tr '\n' ' ')"
      stop_vm "$kind-c$round"
      break
    fi
    sleep 0.2
  done
  wait "$client" 2>/dev/null || true
  # The server ends once the transfer is done; give it a moment, then stop it.
  for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  stop_vm "$kind-s$round"
  wait "$server" 2>/dev/null || true
  stop_switch
  local log=$work/$kind-c$round.log
  tr -d '\r' < "$log" > "$log.txt"   # the UML console ends lines with CR LF
  # Two timed transfers, in order: HTTP, then nc.
  local times
  times=$(sed -n 's/^real[[:space:]]*\([0-9]*\)m \{0,1\}\([0-9.]*\)s.*/\1 \2/p' "$log.txt" | awk '{ print $1 * 60 + $2 }')
  if grep -q "HTTP OK" "$log.txt"; then
    HTTP_SECS=$(echo "$times" | sed -n 1p)
    [ -n "$HTTP_SECS" ] || HTTP_SECS=failed
  fi
  if grep -q "TRANSFER OK" "$log.txt"; then
    SECS=$(echo "$times" | sed -n 2p)
    [ -n "$SECS" ] || SECS=failed
  fi
  RTT=$(sed -n 's|^PING .*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$log.txt")
  [ -n "$RTT" ] || RTT=failed
}

declare -A best_secs best_rtt best_http
for kind in "${pairs[@]}"; do best_secs[$kind]=failed; best_rtt[$kind]=failed; best_http[$kind]=failed; done
better() { [ "$1" != failed ] && { [ "$2" = failed ] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }; }
for round in $(seq "$ROUNDS"); do
  for kind in "${pairs[@]}"; do
    run_pair "$kind" "$round"
    secs=$SECS rtt=$RTT
    echo "round $round $kind: ${MB} MiB in $secs s (nc), $HTTP_SECS s (http), ping avg $rtt ms"
    if better "$HTTP_SECS" "${best_http[$kind]}"; then best_http[$kind]=$HTTP_SECS; fi
    if [ "$secs" = failed ]; then
      echo "  $kind client console ($work/$kind-c$round.log), last lines:"
      tail -5 "$work/$kind-c$round.log.txt" || true
    fi
    if [ "$secs" != failed ] && { [ "${best_secs[$kind]}" = failed ] || awk -v a="$secs" -v b="${best_secs[$kind]}" 'BEGIN { exit !(a < b) }'; }; then
      best_secs[$kind]=$secs
    fi
    if [ "$rtt" != failed ] && { [ "${best_rtt[$kind]}" = failed ] || awk -v a="$rtt" -v b="${best_rtt[$kind]}" 'BEGIN { exit !(a < b) }'; }; then
      best_rtt[$kind]=$rtt
    fi
  done
done

mbps() { [ "$1" = failed ] && echo - || awk -v m="$MB" -v s="$1" 'BEGIN { printf "%.1f", (s > 0 ? m * 1.048576 / s : 0) }'; }
echo
printf "%-22s %8s %10s %10s %10s %10s %14s\n" pair MiB "nc s" "nc MB/s" "http s" "http MB/s" "ping avg ms"
for kind in "${pairs[@]}"; do
  label=$([ "$kind" = umkernel ] && echo "umkernel + umswitch" || echo "UML + uml_switch")
  printf "%-22s %8s %10s %10s %10s %10s %14s\n" "$label" "$MB" "${best_secs[$kind]}" "$(mbps "${best_secs[$kind]}")" \
    "${best_http[$kind]}" "$(mbps "${best_http[$kind]}")" "${best_rtt[$kind]}"
done
echo "(best of $ROUNDS rounds; MB = 10^6 bytes; $PINGS pings at 0.2 s intervals)"
if [ "${#pairs[@]}" -eq 2 ]; then
  um=${best_secs[umkernel]} uml=${best_secs[uml]}
  if [ "$um" != failed ] && [ "$uml" != failed ]; then
    awk -v a="$um" -v b="$uml" 'BEGIN { r = a > 0 ? b / a : 0; printf "throughput umkernel/UML, nc (1 KiB writes): %.2fx (target >= 2: %s)\n", r, r >= 2 ? "met" : "NOT met" }'
  else
    echo "throughput umkernel/UML, nc: - (a pair failed)"
  fi
  um=${best_http[umkernel]} uml=${best_http[uml]}
  if [ "$um" != failed ] && [ "$uml" != failed ]; then
    awk -v a="$um" -v b="$uml" 'BEGIN { r = a > 0 ? b / a : 0; printf "throughput umkernel/UML, http: %.2fx (target >= 2: %s)\n", r, r >= 2 ? "met" : "NOT met" }'
  else
    echo "throughput umkernel/UML, http: - (a pair failed)"
  fi
  um=${best_rtt[umkernel]} uml=${best_rtt[uml]}
  if [ "$um" != failed ] && [ "$uml" != failed ]; then
    awk -v a="$um" -v b="$uml" 'BEGIN { printf "ping latency umkernel/UML: %.2fx (lower is better)\n", (b > 0 ? a / b : 0) }'
  else
    echo "ping latency umkernel/UML: - (a pair failed)"
  fi
fi
