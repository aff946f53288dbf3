#!/usr/bin/env bash
# umkernel vs Debian's UML kernel (/usr/bin/linux) vs native: the same static benchmark programs
# (tests/guest/bench_*.c, each timing itself with clock_gettime) run natively, inside one
# umkernel boot and inside one UML boot, plus boot-to-poweroff time of both VMs. Prints a table
# with ratios and whether the targets are met. Run on demand; not part of ctest.
#   tests/bench/run.sh
# Environment (all optional):
#   UMKERNEL, UMIMAGE, GUEST_BIN  use these instead of building (GUEST_BIN = dir of bench_*)
#   UM_BENCH_BUILD   build directory (default <repo>/build-bench; tools land in its bin/)
#   UM_BENCH_HEAD=1  build from a snapshot of the committed HEAD (git archive into
#                    <build>-src, default build <repo>/build-bench/head) instead of the working
#                    tree - useful while others have half-done edits in the tree
#   LINUX            the UML kernel (default tests/tools/uml: /usr/bin/linux with the xstate shim)
#   BOOTS            boots per VM for the boot time (default 3)
#   REPEAT           runs of the whole set per environment, alternating umkernel/UML/native
#                    (default 2); "best" is the best round of all runs, "median" the median of the
#                    runs' medians. This host's load comes in bursts, so a single run can be off 3x.
#   SYSCALL_N SYSCALL_R FORK_N FORK_R EXEC_N EXEC_R PIPE_MIB PIPE_R FILE_MIB FILE_R
#                    iterations / rounds of each program (see the defaults below)
#   KEEP=1           keep the work directory (image, console logs)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
LINUX=${LINUX:-$(cd "$(dirname "$0")/../tools" && pwd)/uml}  # /usr/bin/linux with the xstate shim
BOOTS=${BOOTS:-3}
REPEAT=${REPEAT:-2}
SYSCALL_N=${SYSCALL_N:-10000}; SYSCALL_R=${SYSCALL_R:-5}
FORK_N=${FORK_N:-30};          FORK_R=${FORK_R:-5}
EXEC_N=${EXEC_N:-20};          EXEC_R=${EXEC_R:-5}
PIPE_MIB=${PIPE_MIB:-64};      PIPE_R=${PIPE_R:-3}
FILE_MIB=${FILE_MIB:-64};      FILE_R=${FILE_R:-2}
PROGS="bench_syscall bench_fork bench_exec bench_pipe bench_file bench_mmap"

# ---- tools -------------------------------------------------------------------------------
if [ -z "${UMKERNEL:-}" ] || [ -z "${UMIMAGE:-}" ] || [ -z "${GUEST_BIN:-}" ]; then
  build=${UM_BENCH_BUILD:-$here/build-bench}
  src=$here
  if [ "${UM_BENCH_HEAD:-0}" = 1 ]; then
    build=${UM_BENCH_BUILD:-$here/build-bench/head}
    src=$build-src
    rm -rf "$src" && mkdir -p "$src"
    git -C "$here" archive HEAD | tar -x -C "$src"
    echo "building from HEAD $(git -C "$here" rev-parse --short HEAD) in $build" >&2
  fi
  cmake -S "$src" -B "$build" -G Ninja -DUM_BIN_DIR="$build/bin" >/dev/null
  targets="umkernel umimage"
  for p in $PROGS; do targets="$targets guest_$p"; done
  # shellcheck disable=SC2086
  cmake --build "$build" --target $targets >&2
  UMKERNEL=${UMKERNEL:-$build/bin/umkernel}
  UMIMAGE=${UMIMAGE:-$build/bin/umimage}
  GUEST_BIN=${GUEST_BIN:-$build/guest}
fi
for f in "$UMKERNEL" "$UMIMAGE" "$LINUX"; do [ -x "$f" ] || { echo "missing $f" >&2; exit 1; }; done
for p in $PROGS; do [ -x "$GUEST_BIN/$p" ] || { echo "missing $GUEST_BIN/$p" >&2; exit 1; }; done

work=$(mktemp -d /tmp/umbench.XXXXXX)   # /tmp: exec-capable, UML puts its RAM file here
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

# ---- the root image ------------------------------------------------------------------------
mkdir -p "$work/root/bench"
for p in $PROGS; do cp "$GUEST_BIN/$p" "$work/root/bench/"; done
# Runs every benchmark; the argument lists are the same as for the native run below.
cat >"$work/root/bench/run-all" <<EOF
#!/bin/sh
mount -t proc proc /proc 2>/dev/null
echo BENCH-BEGIN
/bench/bench_syscall $SYSCALL_N $SYSCALL_R
/bench/bench_fork $FORK_N $FORK_R
/bench/bench_exec $EXEC_N $EXEC_R
/bench/bench_pipe $PIPE_MIB $PIPE_R
/bench/bench_file $FILE_MIB $FILE_R /bench.dat
/bench/bench_mmap $FILE_MIB $FILE_R /
echo BENCH-END
sync
mount -o remount,ro / 2>/dev/null
poweroff -f
EOF
# Boot-time init: says it ran, then powers off at once.
cat >"$work/root/bench/off" <<'EOF'
#!/bin/sh
echo BOOT-OK
mount -o remount,ro / 2>/dev/null
poweroff -f
EOF
chmod +x "$work/root/bench/run-all" "$work/root/bench/off"
"$UMIMAGE" -q create -s 256M --busybox /bin/busybox -f "$work/root" "$work/base.img"

# Each VM run gets a fresh sparse copy of the image (a boot changes it).
fresh() { cp --sparse=always "$work/base.img" "$work/vm.img"; }
run_um() {   # init, console log
  "$UMKERNEL" ubd0="$work/vm.img" init="$1" con=null con0=null,fd:1 </dev/null >"$2" 2>&1 || true
}
run_uml() {  # init, console log
  mkdir -p "$work/uml"
  TMPDIR=$work "$LINUX" ubd0="$work/vm.img" root=/dev/ubda rw mem=256M init="$1" umid=umbench$$ \
    uml_dir="$work/uml" con=null ssl=null con0=null,fd:1 </dev/null >"$2" 2>&1 || true
}
now_ns() { date +%s%N; }

declare -A best med unit meds
parse() {  # env, console log: merges into best[env,name], meds[env,name] (list), unit[name]
  local env=$1 name value u _m m
  while read -r name value u _m m; do
    unit[$name]=$u
    meds[$env,$name]="${meds[$env,$name]:-} ${m:-$value}"
    if [ -z "${best[$env,$name]:-}" ]; then best[$env,$name]=$value
    elif [ "$u" = MB/s ]; then best[$env,$name]=$(awk -v a="$value" -v b="${best[$env,$name]}" 'BEGIN { print (a > b ? a : b) }')
    else best[$env,$name]=$(awk -v a="$value" -v b="${best[$env,$name]}" 'BEGIN { print (a < b ? a : b) }'); fi
  done < <(grep -aE '^(getppid|fork_wait|fork_exec_wait|pipe|file_write|file_read|mmap_read|mmap_sparse_4k) [0-9.]+ ' "$2" | tr -d '\r')
}
# shellcheck disable=SC2086  # $1 is a space-separated list on purpose
median_of() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# ---- boot to poweroff ---------------------------------------------------------------------
boot_times() {  # env runner → best[env,boot], med[env,boot] in ms
  local env=$1 runner=$2 _ t0 t1 ts=()
  for _ in $(seq "$BOOTS"); do
    fresh
    t0=$(now_ns); $runner /bench/off "$work/boot-$env.log"; t1=$(now_ns)
    if ! grep -aq BOOT-OK "$work/boot-$env.log"; then
      echo "$env did not boot; console:" >&2; tail -20 "$work/boot-$env.log" >&2; return 1
    fi
    ts+=($(( (t1 - t0) / 1000000 )))
  done
  mapfile -t ts < <(printf '%s\n' "${ts[@]}" | sort -n)
  best[$env,boot]=${ts[0]}; med[$env,boot]=${ts[$(( ${#ts[@]} / 2 ))]}; unit[boot]=ms
  echo "boot $env: ${ts[*]} ms" >&2
}

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
boot_times umkernel run_um
boot_times uml run_uml

# ---- the benchmark set ----------------------------------------------------------------------
run_native() {  # console log
  {
    "$GUEST_BIN/bench_syscall" "$SYSCALL_N" "$SYSCALL_R"
    "$GUEST_BIN/bench_fork" "$FORK_N" "$FORK_R"
    "$GUEST_BIN/bench_exec" "$EXEC_N" "$EXEC_R"
    "$GUEST_BIN/bench_pipe" "$PIPE_MIB" "$PIPE_R"
    "$GUEST_BIN/bench_file" "$FILE_MIB" "$FILE_R" "$work/bench.dat"
    "$GUEST_BIN/bench_mmap" "$FILE_MIB" "$FILE_R" "$work"
  } >"$1" 2>&1
}
for rep in $(seq "$REPEAT"); do
  for env in umkernel uml native; do
    echo "== $env (run $rep)" >&2
    fresh
    t0=$(now_ns)
    case $env in
      umkernel) run_um /bench/run-all "$work/$env.log" ;;
      uml) run_uml /bench/run-all "$work/$env.log" ;;
      native) run_native "$work/$env.log" ;;
    esac
    t1=$(now_ns)
    grep -aE '^(getppid|fork_wait|fork_exec_wait|pipe|file_write|file_read|mmap_read|mmap_sparse_4k) ' "$work/$env.log" >&2 || true
    echo "($env: whole set $(( (t1 - t0) / 1000000 )) ms)" >&2
    if [ $env != native ] && ! grep -aq BENCH-END "$work/$env.log"; then
      echo "$env: the set did not finish; console tail:" >&2; tail -20 "$work/$env.log" >&2
    fi
    parse $env "$work/$env.log"
  done
done
for key in "${!meds[@]}"; do med[$key]=$(median_of "${meds[$key]}"); done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ---- table ------------------------------------------------------------------------------------
ratio() { [ -n "${1:-}" ] && [ -n "${2:-}" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }' || printf -- "-"; }
printf "%-15s %-6s %10s %10s %10s %9s %9s  %s\n" benchmark unit native umkernel UML um/UML um/native better
for name in boot getppid fork_wait fork_exec_wait pipe file_write file_read mmap_read mmap_sparse_4k; do
  u=${unit[$name]:-}
  case $u in MB/s) dir=higher ;; *) dir=lower ;; esac
  printf "%-15s %-6s %10s %10s %10s %9s %9s  %s\n" "$name" "$u" "${best[native,$name]:--}" \
    "${best[umkernel,$name]:--}" "${best[uml,$name]:--}" \
    "$(ratio "${best[umkernel,$name]:-}" "${best[uml,$name]:-}")" \
    "$(ratio "${best[umkernel,$name]:-}" "${best[native,$name]:-}")" "$dir"
done
echo "(best round of $REPEAT runs; median of the runs' medians, native / umkernel / UML:)"
for name in boot getppid fork_wait fork_exec_wait pipe file_write file_read mmap_read mmap_sparse_4k; do
  printf "  %-15s %s / %s / %s\n" "$name" "${med[native,$name]:--}" "${med[umkernel,$name]:--}" "${med[uml,$name]:--}"
done
echo "targets (umkernel/UML, best values):"
target() {  # name limit
  local r; r=$(ratio "${best[umkernel,$1]:-}" "${best[uml,$1]:-}")
  if [ "$r" = - ]; then printf "  %-10s <= %-5s  not measured\n" "$1" "$2"
  elif awk -v r="$r" -v l="$2" 'BEGIN { exit !(r <= l) }'; then printf "  %-10s <= %-5s  %s  met\n" "$1" "$2" "$r"
  else printf "  %-10s <= %-5s  %s  NOT met\n" "$1" "$2" "$r"; fi
}
target boot 0.05
target getppid 0.6
target fork_wait 0.5

# ---- results file and chart -------------------------------------------------------------------
# The best values as tab-separated lines (see chart.sh), and the chart drawn from them.
RESULTS=${RESULTS:-$here/tests/bench/results/latest.tsv}
mkdir -p "$(dirname "$RESULTS")"
{
  echo "# tests/bench/run.sh $(date -u +%Y-%m-%dT%H:%MZ), HEAD $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo ?), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), best of $REPEAT runs"
  printf 'benchmark\tunit\tbetter\tnative\tumkernel\tuml\n'
  for name in boot getppid fork_wait fork_exec_wait pipe file_write file_read mmap_read mmap_sparse_4k; do
    case ${unit[$name]:-} in MB/s) dir=higher ;; *) dir=lower ;; esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${unit[$name]:--}" "$dir" "${best[native,$name]:--}" \
      "${best[umkernel,$name]:--}" "${best[uml,$name]:--}"
  done
} >"$RESULTS"
echo "results: $RESULTS" >&2
if command -v gnuplot >/dev/null; then "$here/tests/bench/chart.sh" "$RESULTS"; else echo "no gnuplot: no chart" >&2; fi
