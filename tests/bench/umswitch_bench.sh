#!/usr/bin/env bash
# Frames/s and throughput through umswitch vs uml_switch vs vde_switch on this machine, with
# the same traffic generator (umswitch-peer gen: N sender/receiver pairs, unicast frames after
# the MACs are learned; rates are what the receivers got). By default open loop: senders
# blast as fast as the switch takes frames, which gives the peak forwarding rate (losses are
# drops at the receivers' full queues). WINDOWS="0 256" adds closed-loop runs with at most
# 256 frames in flight per pair (nearly lossless, but on a small machine the generator's
# pacing, not the switch, tends to be the limit). Run on demand, not part of ctest.
#   tests/bench/umswitch_bench.sh [SECONDS] [PAIRS]        (defaults 3 s, 1 pair)
# Environment: UM_BIN (umswitch), PEER (umswitch-peer), SIZES (default "64 1400"),
#   WINDOWS (default "0" = open loop only), REPEAT (runs per cell, best kept; default 1).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
UM_BIN=${UM_BIN:-$here/bin}
PEER=${PEER:-}
if [ -z "$PEER" ]; then
  for d in "$here"/build-switch "$here"/build; do
    [ -x "$d/tests/tools/umswitch-peer" ] && { PEER="$d/tests/tools/umswitch-peer"; break; }
  done
fi
[ -x "$PEER" ] || { echo "umswitch-peer not found (build target umswitch-peer or set PEER)"; exit 1; }
SECONDS_PER_RUN=${1:-3}
PAIRS=${2:-1}
SIZES=${SIZES:-"64 1400"}
WINDOWS=${WINDOWS:-0}
REPEAT=${REPEAT:-1}
work=$(mktemp -d /tmp/umswb.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() {  # start NAME → sets ctl and pid
  case $1 in
    umswitch)   ctl=$work/um.ctl; "$UM_BIN/umswitch" --unix "$ctl" -q </dev/null >/dev/null & pid=$! ;;
    uml_switch) ctl=$work/uml.ctl; uml_switch -unix "$ctl" </dev/null >/dev/null 2>&1 & pid=$! ;;
    vde_switch) ctl=$work/vde/ctl; vde_switch -s "$work/vde" -d -p "$work/vde.pid" >/dev/null 2>&1
                for _ in $(seq 50); do [ -s "$work/vde.pid" ] && break; sleep 0.1; done
                pid=$(cat "$work/vde.pid") ;;
  esac
  for _ in $(seq 50); do [ -S "$ctl" ] && return 0; sleep 0.1; done
  echo "$1 did not start"; exit 1
}
stop() { kill "$pid" 2>/dev/null || true; sleep 0.3; pid=""; rm -rf "$work"/*; }

declare -A fps
printf "%-11s %6s %6s %12s %10s %8s\n" switch size window frames/s Mbit/s loss
for size in $SIZES; do
  for window in $WINDOWS; do
    for sw in umswitch uml_switch vde_switch; do
      f=0 m=0 l=""
      for _ in $(seq "$REPEAT"); do
        start $sw
        line=$("$PEER" gen "$ctl" --pairs "$PAIRS" --size "$size" --seconds "$SECONDS_PER_RUN" --window "$window" || true)
        stop
        f1=$(sed -n 's/.* fps=\([0-9]*\).*/\1/p' <<<"$line"); f1=${f1:-0}
        if [ "$f1" -ge "$f" ]; then
          f=$f1
          m=$(sed -n 's/.* mbps=\([0-9.]*\).*/\1/p' <<<"$line"); m=${m:-0}
          l=$(sed -n 's/.* loss=\([0-9.]*%\).*/\1/p' <<<"$line")
        fi
      done
      fps[$sw,$size,$window]=$f
      printf "%-11s %6s %6s %12s %10s %8s\n" $sw "$size" "$([ "$window" = 0 ] && echo open || echo "$window")" "$f" "$m" "${l:-?}"
    done
  done
done
echo
for size in $SIZES; do
  for window in $WINDOWS; do
    for other in uml_switch vde_switch; do
      awk -v a="${fps[umswitch,$size,$window]}" -v b="${fps[$other,$size,$window]}" -v o=$other -v s="$size" \
        -v w="$([ "$window" = 0 ] && echo open || echo "window $window")" \
        'BEGIN { if (b > 0) printf "umswitch / %-10s %4s bytes, %-10s: %.2fx frames/s\n", o, s, w, a / b;
                 else printf "umswitch / %-10s %4s bytes, %-10s: n/a (nothing delivered)\n", o, s, w }'
    done
  done
done
