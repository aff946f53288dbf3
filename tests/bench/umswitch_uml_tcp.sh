#!/usr/bin/env bash
# TCP between two Debian UML kernels (busybox httpd → wget) through umswitch, uml_switch and
# vde_switch: wall time of the transfer as the guest measures it. Complements
# umswitch_bench.sh (raw frames/s) with what a user sees. Run on demand, not in ctest.
#   tests/bench/umswitch_uml_tcp.sh [MEGABYTES]            (default 32)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
UM_BIN=${UM_BIN:-$here/bin}
MB=${1:-32}
[ -x /usr/bin/linux ] || { echo "needs /usr/bin/linux (Debian user-mode-linux)"; exit 1; }
work=$(mktemp -d /tmp/umswt.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

r=$work/root
mkdir -p "$r"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$r/bin/"
for a in sh mount mkdir ifconfig ping poweroff sleep echo dd httpd wget time; do ln -s busybox "$r/bin/$a"; done
cat > "$r/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t tmpfs tmpfs /tmp
for w in $(cat /proc/cmdline); do
  case $w in ip=*) IP=${w#ip=};; peer=*) PEER=${w#peer=};; mb=*) MB=${w#mb=};; role=*) ROLE=${w#role=};; esac
done
ifconfig lo up
ifconfig eth0 "$IP" netmask 255.255.255.0 up
if [ "$ROLE" = server ]; then
  mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/big bs=1M count="$MB" 2>/dev/null
  httpd -p 80 -h /tmp/www
  echo READY
  sleep 120
else
  ping -c 1 -w 60 "$PEER" >/dev/null
  sleep 1   # let the server finish writing its file
  time wget -q -O /dev/null "http://$PEER/big" && echo "TRANSFER OK"
fi
poweroff -f
INIT
chmod +x "$r/init"
mke2fs -q -t ext4 -d "$r" "$work/img" 64M >/dev/null 2>&1

vm() {  # vm NAME CTL-or-VDE-ETH ARGS...
  local name=$1 eth=$2
  shift 2
  TMPDIR="$work" timeout 180 "$(dirname "$0")/../tools/uml" ubd0r="$work/img" ro mem=$((MB + 64))M umid="$name" \
    uml_dir="$work/uml" eth0="$eth" init=/init con=null ssl=null con0=null,fd:1 "$@" \
    </dev/null >"$work/$name.log" 2>&1 || true
}

printf "%-11s %6s %10s %10s\n" switch MB seconds MB/s
for sw in umswitch uml_switch vde_switch; do
  case $sw in
    umswitch)   ctl=$work/um.ctl; "$UM_BIN/umswitch" --unix "$ctl" -q </dev/null >/dev/null & pid=$! ;;
    uml_switch) ctl=$work/uml.ctl; uml_switch -unix "$ctl" </dev/null >/dev/null 2>&1 & pid=$! ;;
    vde_switch) mkdir -p "$work/vde"; ctl=$work/vde/ctl
                vde_switch -s "$work/vde" -d -p "$work/vde.pid" >/dev/null 2>&1
                for _ in $(seq 50); do [ -s "$work/vde.pid" ] && break; sleep 0.1; done
                pid=$(cat "$work/vde.pid") ;;
  esac
  for _ in $(seq 50); do [ -S "$ctl" ] && break; sleep 0.1; done
  vm "$sw-server" daemon,02:00:00:00:50:02,unix,"$ctl" ip=10.0.5.2 role=server mb="$MB" &
  server=$!
  vm "$sw-client" daemon,02:00:00:00:50:01,unix,"$ctl" ip=10.0.5.1 peer=10.0.5.2 role=client
  uml_mconsole "$work/uml/$sw-server/mconsole" halt >/dev/null 2>&1 || kill "$server" 2>/dev/null || true
  wait "$server" || true
  kill "$pid" 2>/dev/null || true
  pid=""
  if grep -q "TRANSFER OK" "$work/$sw-client.log"; then
    secs=$(sed -n 's/^real[[:space:]]*\([0-9]*\)m \{0,1\}\([0-9.]*\)s.*/\1 \2/p' "$work/$sw-client.log" | awk '{ print $1 * 60 + $2 }')
    printf "%-11s %6s %10s %10.1f\n" $sw "$MB" "$secs" "$(awk -v m="$MB" -v s="$secs" 'BEGIN { print (s > 0 ? m / s : 0) }')"
  else
    printf "%-11s %6s %10s %10s\n" $sw "$MB" failed -
    grep -E "wget|time|real" "$work/$sw-client.log" | head -3 || true
  fi
done
