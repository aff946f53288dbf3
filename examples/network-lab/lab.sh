#!/bin/sh
# A three-VM network lab in the style of Netkit/Kathara labs: two subnets, each on its own
# umswitch, joined by a router VM with a NIC on each.
#
#   pc1 10.0.1.2 ---[ switch a: 10.0.1.0/24 ]--- 10.0.1.1 router 10.0.2.1 ---[ switch b: 10.0.2.0/24 ]--- 10.0.2.2 pc2
#
# Usage: lab.sh start | check | stop | run          (run = start, check, stop; what CI runs)
#   start  builds one busybox image, gives each VM a COW file over it, starts the switches
#          and VMs, and runs each VM's NAME.startup in it (addresses and routes, as Kathara)
#   check  pings pc2 from pc1 across the router, and sends 1 MiB over TCP from pc1 to pc2
#          (busybox nc), comparing checksums
#   stop   halts the VMs and the switches
# Environment: UM_BIN (default ../../bin), LAB_DIR (state; default /tmp/um-lab-$USER).
# Talk to a VM while the lab runs: UML_DIR=$LAB_DIR/uml umconsole attach router 1
set -eu
here=$(cd "$(dirname "$0")" && pwd)
UM_BIN=${UM_BIN:-$here/../../bin}
LAB_DIR=${LAB_DIR:-/tmp/um-lab-$(id -un)}
export UML_DIR="$LAB_DIR/uml"
VMS="router pc1 pc2"

umconsole() { "$UM_BIN/umconsole" "$@"; }

# Polls "$@" for up to $1 seconds.
wait_for() {
  secs=$1; shift
  i=0
  until "$@" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -le $((secs * 10)) ] || { echo "lab: timed out waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}

# The NICs of a VM: ethN on switch a or b.
nics() {
  case $1 in
    pc1) echo "eth0=daemon,,unix,$LAB_DIR/a.ctl" ;;
    pc2) echo "eth0=daemon,,unix,$LAB_DIR/b.ctl" ;;
    router) echo "eth0=daemon,,unix,$LAB_DIR/a.ctl eth1=daemon,,unix,$LAB_DIR/b.ctl" ;;
  esac
}

start() {
  mkdir -p "$LAB_DIR" "$UML_DIR"
  for sw in a b; do
    "$UM_BIN/umswitch" --unix "$LAB_DIR/$sw.ctl" --daemon --pidfile "$LAB_DIR/$sw.pid" -q \
      </dev/null >"$LAB_DIR/switch-$sw.log" 2>&1
  done
  rm -f "$LAB_DIR/base.img"
  "$UM_BIN/umimage" create "$LAB_DIR/base.img" --busybox --size 64M -q
  for vm in $VMS; do
    rm -f "$LAB_DIR/$vm.cow"
    "$UM_BIN/umimage" cow create "$LAB_DIR/$vm.cow" --backing "$LAB_DIR/base.img" -q
    # shellcheck disable=SC2046  # nics: one word per NIC
    "$UM_BIN/umkernel" ubd0="$LAB_DIR/$vm.cow,$LAB_DIR/base.img" umid="$vm" hostname="$vm" \
      $(nics "$vm") </dev/null >"$LAB_DIR/$vm.log" 2>&1 &
  done
  for vm in $VMS; do
    wait_for 60 test -S "$UML_DIR/$vm/mconsole"
    wait_for 60 umconsole exec "$vm" -- true
    umconsole exec "$vm" -- sh -s <"$here/$vm.startup"
  done
  echo "lab: up (UML_DIR=$UML_DIR umconsole list)"
}

check() {
  echo "lab: pc1 pings pc2 across the router"
  umconsole exec pc1 -- ping -c 3 -W 5 10.0.2.2
  echo "lab: 1 MiB from pc1 to pc2 over TCP"
  # The listener's program reads the connection to its end (nc alone would end it when its own
  # standard input ends, as busybox nc does on Linux).
  umconsole exec pc2 -- nc -l -p 5000 -e sh -c 'cat > /tmp/received' </dev/null &
  listener=$!
  umconsole exec pc1 -- sh -c 'head -c 1048576 /dev/urandom > /tmp/sent'
  sent=$(umconsole exec pc1 -- md5sum /tmp/sent | cut -d' ' -f1)
  wait_for 30 umconsole exec pc2 -- sh -c 'netstat -ltn | grep -q ":5000 "' >/dev/null
  umconsole exec pc1 -- sh -c 'nc 10.0.2.2 5000 < /tmp/sent'
  wait "$listener"
  received=$(umconsole exec pc2 -- md5sum /tmp/received | cut -d' ' -f1)
  echo "lab: sent $sent, received $received"
  [ -n "$sent" ] && [ "$sent" = "$received" ]
  echo "lab: ok"
}

stop() {
  for vm in $VMS; do
    [ -S "$UML_DIR/$vm/mconsole" ] && umconsole halt "$vm" >/dev/null 2>&1 || true
  done
  for vm in $VMS; do wait_for 30 test ! -e "$UML_DIR/$vm/pid" || true; done
  for sw in a b; do
    [ -f "$LAB_DIR/$sw.pid" ] && kill "$(cat "$LAB_DIR/$sw.pid")" 2>/dev/null || true
    rm -f "$LAB_DIR/$sw.pid"
  done
}

case ${1:-} in
  start) start ;;
  check) check ;;
  stop) stop ;;
  run)
    trap stop EXIT
    start
    check
    ;;
  *) echo "usage: $0 start|check|stop|run" >&2; exit 2 ;;
esac
