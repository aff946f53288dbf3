#!/usr/bin/env bash
# Debian userland workloads: umkernel vs Debian's UML kernel (/usr/bin/linux) vs native, in one
# run, on the same root tree: the host's own bash, coreutils, sed, grep, python3... with their
# shared libraries (tests/e2e/data/debian_root.sh, as in tests/e2e/umkernel_debian.bats), plus
# bench_futex and a static busybox (for poweroff) in /bench. Measured inside the guest, so boot
# time is excluded:
#   python3_start  `python3 -c pass` PY_N times, ms per start (bash $EPOCHREALTIME around the loop)
#   shell_script   a configure-like bash script: SH_N iterations of
#                  x=$(echo $i | sed s/1/2/ | tr a-z A-Z); test -n "$x"; expr $i + 1; grep -q foo /etc/passwd
#                  (about 5 forks and 4 execs of dynamically linked programs each), wall ms
#   futex_pingpong bench_futex: two threads hand a token back and forth with FUTEX_WAIT/WAKE,
#                  round trips per second
# umkernel and UML each boot the same image once per repeat (init = a bash script that runs the
# set, then busybox poweroff -f); native runs the same script chrooted into the same tree
# (unshare -r -m -p -f, no root needed; falls back to the host's binaries if that fails).
# Prints a table with ratios (umkernel/native, umkernel/UML). Run on demand; not part of ctest.
#   tests/bench/debian_bench.sh
# Environment (all optional):
#   UMKERNEL, UMIMAGE, GUEST_BIN  use these instead of building (GUEST_BIN = dir of bench_futex)
#   UM_BENCH_BUILD   build directory (default <repo>/build-bench; tools land in its bin/)
#   LINUX            the UML kernel (default /usr/bin/linux; the UML column is skipped if absent)
#   REPEAT           boots per environment, alternating umkernel / UML / native (default 1)
#   PY_N PY_R        python3 starts per round, rounds (default 20 x 3)
#   SH_N SH_R        shell-script iterations per round, rounds (default 300 x 2)
#   FUTEX_N FUTEX_R  round trips per round, rounds (default 20000 x 3)
#   VM_TIMEOUT       seconds per VM boot before it is killed (default 1800)
#   KEEP=1           keep the work directory (tree, image, console logs)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
LINUX=${LINUX:-$(cd "$(dirname "$0")/../tools" && pwd)/uml}  # /usr/bin/linux with the xstate shim
REPEAT=${REPEAT:-1}
PY_N=${PY_N:-20};         PY_R=${PY_R:-3}
SH_N=${SH_N:-300};        SH_R=${SH_R:-2}
FUTEX_N=${FUTEX_N:-20000}; FUTEX_R=${FUTEX_R:-3}
VM_TIMEOUT=${VM_TIMEOUT:-1800}

# ---- tools -------------------------------------------------------------------------------
if [ -z "${UMKERNEL:-}" ] || [ -z "${UMIMAGE:-}" ] || [ -z "${GUEST_BIN:-}" ]; then
  build=${UM_BENCH_BUILD:-$here/build-bench}
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUM_BIN_DIR="$build/bin" >/dev/null
  cmake --build "$build" --target umkernel umimage guest_bench_futex >&2
  UMKERNEL=${UMKERNEL:-$build/bin/umkernel}
  UMIMAGE=${UMIMAGE:-$build/bin/umimage}
  GUEST_BIN=${GUEST_BIN:-$build/guest}
fi
for f in "$UMKERNEL" "$UMIMAGE" "$GUEST_BIN/bench_futex" /bin/busybox; do
  [ -x "$f" ] || { echo "missing $f" >&2; exit 1; }
done
envs="umkernel uml native"
uml_note=""
if [ ! -x "$LINUX" ]; then
  envs="umkernel native"
  uml_note="UML column skipped: $LINUX not found (Debian package user-mode-linux)"
  echo "$uml_note" >&2
fi

work=$(mktemp -d /tmp/umdebbench.XXXXXX)   # /tmp: exec-capable, UML puts its RAM file here
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

# ---- the root tree and image -----------------------------------------------------------------
"$here/tests/e2e/data/debian_root.sh" "$work/root"
mkdir -p "$work/root/bench"
cp "$GUEST_BIN/bench_futex" "$work/root/bench/"
cp /bin/busybox "$work/root/bench/busybox"   # static; the Debian tree has no poweroff
# The configure-like script: many small dynamically linked processes.
cat >"$work/root/bench/configure.sh" <<'EOF'
#!/bin/bash
n=$1 ok=0
for ((i = 0; i < n; i++)); do
  x=$(echo $i | sed s/1/2/ | tr a-z A-Z)
  test -n "$x" && ok=$((ok + 1))
  expr $i + 1 >/dev/null
  grep -q foo /etc/passwd
done
[ "$ok" = "$n" ] && echo CONFIGURE-OK || echo "CONFIGURE-FAILED $ok of $n"
EOF
# The whole set. Times with bash's $EPOCHREALTIME (microseconds, no process started).
cat >"$work/root/bench/job" <<EOF
#!/bin/bash
export PATH=/usr/bin:/bin:/usr/sbin:/sbin LC_ALL=C
B=\${BENCH_DIR:-/bench}
if [ \$\$ = 1 ]; then   # a VM's init, or pid 1 of the native run's own namespaces
  mount -t proc proc /proc 2>/dev/null
  mount -t tmpfs tmp /tmp 2>/dev/null
  [ -e /dev/null ] || mount -t devtmpfs dev /dev 2>/dev/null
fi
us() { echo \${EPOCHREALTIME/./}; }
echo BENCH-BEGIN
for ((r = 0; r < $PY_R; r++)); do
  t0=\$(us)
  for ((i = 0; i < $PY_N; i++)); do python3 -c pass || echo PYTHON-FAILED; done
  t1=\$(us)
  echo "python3_start \$(( (t1 - t0) / $PY_N ))"
done
for ((r = 0; r < $SH_R; r++)); do
  t0=\$(us)
  bash \$B/configure.sh $SH_N
  t1=\$(us)
  echo "shell_script \$(( (t1 - t0) / 1000 ))"
done
\$B/bench_futex $FUTEX_N $FUTEX_R
echo BENCH-END
EOF
cat >"$work/root/bench/init" <<'EOF'
#!/bin/bash
/bench/job
exec /bench/busybox poweroff -f
EOF
chmod +x "$work/root/bench/"{configure.sh,job,init}
"$UMIMAGE" -q create -f "$work/root" "$work/base.img"

fresh() { cp --sparse=always "$work/base.img" "$work/vm.img"; }   # a boot changes the image
run_umkernel() {  # console log
  timeout "$VM_TIMEOUT" "$UMKERNEL" ubd0="$work/vm.img" init=/bench/init con=null con0=null,fd:1 \
    </dev/null >"$1" 2>&1 || true
}
run_uml() {       # console log
  mkdir -p "$work/uml"
  TMPDIR=$work timeout "$VM_TIMEOUT" "$LINUX" ubd0="$work/vm.img" root=/dev/ubda rw mem=256M quiet \
    init=/bench/init umid=umdeb$$ uml_dir="$work/uml" con=null ssl=null con0=null,fd:1 \
    </dev/null >"$1" 2>&1 || true
}
native_mode=""
run_native() {    # console log
  # chroot into the same tree as pid 1 of new user, mount and pid namespaces; /dev bound in
  if unshare -rmpf sh -c 'mount --rbind /dev "$1/dev" && exec chroot "$1" /bench/job' sh "$work/root" \
       >"$1" 2>&1 && grep -aq BENCH-END "$1"; then
    native_mode="chroot into the tree (unshare -rmpf)"
  else
    native_mode="the host's binaries (unshare/chroot failed)"
    BENCH_DIR=$work/root/bench bash "$work/root/bench/job" >"$1" 2>&1 || true
  fi
}

# ---- runs ------------------------------------------------------------------------------------
declare -A vals meds   # [env,name] = space-separated lists: round values for the best, for the median
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== load before: $load_before" >&2
for rep in $(seq "$REPEAT"); do
  for env in $envs; do
    echo "== $env (run $rep)" >&2
    fresh
    t0=$(date +%s%N)
    "run_$env" "$work/$env.$rep.log"
    t1=$(date +%s%N)
    log=$work/$env.$rep.log
    grep -aE '^(python3_start|shell_script|futex_pingpong|CONFIGURE|PYTHON)' "$log" | tr -d '\r' >&2 || true
    echo "($env: $(( (t1 - t0) / 1000000 )) ms including boot)" >&2
    if ! grep -aq BENCH-END "$log" || grep -aqE 'CONFIGURE-FAILED|PYTHON-FAILED' "$log"; then
      echo "$env: the set did not finish cleanly; console tail:" >&2; tail -20 "$log" >&2
    fi
    while read -r name value _; do
      case $name in
        python3_start) value=$(awk -v v="$value" 'BEGIN { printf "%.1f", v / 1000 }') ;;  # us -> ms
      esac
      vals[$env,$name]="${vals[$env,$name]:-} $value"
      meds[$env,$name]="${meds[$env,$name]:-} $value"
    done < <(tr -d '\r' <"$log" | grep -aE '^(python3_start|shell_script) [0-9]+$')
    # bench_futex prints the best and the median of its own rounds
    b="" m=""
    read -r _ b _ _ m < <(tr -d '\r' <"$log" | grep -aE '^futex_pingpong [0-9]+ ') || true
    if [ -n "$b" ]; then
      vals[$env,futex_pingpong]="${vals[$env,futex_pingpong]:-} $b"
      meds[$env,futex_pingpong]="${meds[$env,futex_pingpong]:-} $m"
    fi
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== load after: $load_after" >&2

# ---- table -----------------------------------------------------------------------------------
# shellcheck disable=SC2086  # lists on purpose
best_of() { [ -z "$2" ] && { printf -- -; return; }
  printf '%s\n' $2 | sort -g | awk -v dir="$1" '{ v[NR] = $1 } END { print (dir == "higher" ? v[NR] : v[1]) }'; }
# shellcheck disable=SC2086
median_of() { [ -z "$1" ] && { printf -- -; return; }
  printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b <= 0) printf "-"; else printf "%.2f", a / b }'; }
echo "Debian workloads, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average before $load_before, after $load_after"
echo "repository HEAD $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo ?), REPEAT=$REPEAT, python3 $PY_N x $PY_R, shell $SH_N x $SH_R, futex $FUTEX_N x $FUTEX_R; native: ${native_mode:-?}"
printf "%-15s %-9s %9s %9s %9s %9s %9s  %s\n" benchmark unit native umkernel UML um/native um/UML better
for row in "python3_start ms/start lower" "shell_script ms lower" "futex_pingpong rt/s higher"; do
  read -r name unit dir <<<"$row"
  n=$(best_of "$dir" "${vals[native,$name]:-}")
  u=$(best_of "$dir" "${vals[umkernel,$name]:-}")
  l=$(best_of "$dir" "${vals[uml,$name]:-}")
  printf "%-15s %-9s %9s %9s %9s %9s %9s  %s\n" "$name" "$unit" "$n" "$u" "$l" \
    "$(ratio "$u" "$n")" "$(ratio "$u" "$l")" "$dir"
done
echo "(best round; median over all rounds (futex: of the runs' medians), native / umkernel / UML:)"
for name in python3_start shell_script futex_pingpong; do
  printf "  %-15s %s / %s / %s\n" "$name" "$(median_of "${meds[native,$name]:-}")" \
    "$(median_of "${meds[umkernel,$name]:-}")" "$(median_of "${meds[uml,$name]:-}")"
done
[ -n "$uml_note" ] && echo "$uml_note"
exit 0
