#!/usr/bin/env bash
# Boot-to-login time of unmodified Debian 12 images (tests/e2e/data/debian_boot_image.sh:
# debootstrap minbase + sysvinit-core or systemd-sysv; the same images as
# tests/e2e/umkernel_debian_boot.bats), umkernel against Debian's UML kernel (/usr/bin/linux), in
# one run: each boot starts from a fresh copy of the image, the clock runs from the VM's start
# until "login:" appears on its console, then the VM is killed. Alternates umkernel / UML,
# ROUNDS boots each, and prints the median, min and max per (init, kernel) and the ratio.
# Needs root (debootstrap, once; the images are cached under build/debian).
#   tests/bench/debian_boot_bench.sh
# Environment (all optional):
#   UMKERNEL, UMIMAGE   use these instead of <repo>/bin/umkernel, <repo>/bin/umimage
#   LINUX               the UML kernel (default tests/tools/uml: /usr/bin/linux with the xstate
#                       shim this host's CPU needs; its column is skipped if absent)
#   ROUNDS              boots per (init, kernel) (default 5)
#   INITS               which images (default "sysvinit systemd")
#   LOGIN_TIMEOUT       seconds a boot may take before it counts as failed (default 300)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
UMKERNEL=${UMKERNEL:-$here/bin/umkernel}
UMIMAGE=${UMIMAGE:-$here/bin/umimage}
LINUX=${LINUX:-$(cd "$(dirname "$0")/../tools" && pwd)/uml}  # /usr/bin/linux with the xstate shim
ROUNDS=${ROUNDS:-5}
INITS=${INITS:-sysvinit systemd}
LOGIN_TIMEOUT=${LOGIN_TIMEOUT:-300}
[ -x "$UMKERNEL" ] || { echo "missing $UMKERNEL (build first)" >&2; exit 1; }
kernels="umkernel"
if [ -x "$LINUX" ] && { [[ $LINUX != */tests/tools/uml ]] || [ -x /usr/bin/linux ]; }; then
  kernels="umkernel uml"
else
  echo "UML column skipped: $LINUX (or /usr/bin/linux) not found" >&2
fi

work=$(mktemp -d /tmp/umdebboot.XXXXXX)   # /tmp: exec-capable, UML puts its RAM file here
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

# One boot: prints the seconds from start to "login:" (or "fail").
boot_once() {  # KERNEL IMAGE
  local kernel=$1 img=$2 out="$work/console" in="$work/console.in" pid t0 t1
  rm -f "$out" "$in"
  mkfifo "$in"
  : >"$out"
  t0=$(date +%s.%N)
  if [ "$kernel" = umkernel ]; then
    setsid "$UMKERNEL" ubd0="$img" mem=512M con0=fd:3,fd:4 3<>"$in" 4>"$out" 2>/dev/null </dev/null &
  else
    TMPDIR=$work setsid "$LINUX" ubd0="$img" root=/dev/ubda mem=512M con=null con0=fd:3,fd:4 \
      3<>"$in" 4>"$out" 2>/dev/null </dev/null &
  fi
  pid=$!
  local deadline=$(( $(date +%s) + LOGIN_TIMEOUT )) result=fail
  while [ "$(date +%s)" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
    if grep -aq 'login: ' "$out"; then
      t1=$(date +%s.%N)
      result=$(echo "$t1 - $t0" | bc -l | xargs printf '%.2f')
      break
    fi
    sleep 0.05
  done
  kill -9 -- "-$pid" 2>/dev/null || true   # the VM's whole process group (its own session)
  wait "$pid" 2>/dev/null || true
  echo "$result"
}

stats() {  # values... -> "median min max" (fails excluded; "-" if none)
  local v
  v=$(printf '%s\n' "$@" | grep -v fail | sort -n || true)
  [ -n "$v" ] || { echo "- - -"; return; }
  local n median
  n=$(echo "$v" | wc -l)
  median=$(echo "$v" | sed -n "$(( (n + 1) / 2 ))p")
  echo "$median $(echo "$v" | head -1) $(echo "$v" | tail -1)"
}

declare -A times
for init in $INITS; do
  UMIMAGE=$UMIMAGE "$here/tests/e2e/data/debian_boot_image.sh" "$init" "$work/$init.base"
  for ((r = 0; r < ROUNDS; r++)); do
    for k in $kernels; do
      cp --sparse=always "$work/$init.base" "$work/vm.img"
      t=$(boot_once "$k" "$work/vm.img")
      times[$init.$k]="${times[$init.$k]:-} $t"
      echo "$init $k round $((r + 1)): $t s" >&2
    done
  done
done

printf '%-9s %-9s %8s %8s %8s  %s\n' init kernel median min max "boots (s)"
for init in $INITS; do
  for k in $kernels; do
    read -r med min max < <(stats ${times[$init.$k]})
    printf '%-9s %-9s %8s %8s %8s  %s\n' "$init" "$k" "$med" "$min" "$max" "${times[$init.$k]# }"
  done
  if [[ $kernels == *uml* ]]; then
    read -r um _ < <(stats ${times[$init.umkernel]})
    read -r uml _ < <(stats ${times[$init.uml]})
    if [ "$um" != - ] && [ "$uml" != - ]; then
      printf '%-9s umkernel/UML median ratio: %.2f\n' "$init" "$(echo "$um / $uml" | bc -l)"
    fi
  fi
done
