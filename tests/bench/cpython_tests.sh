#!/usr/bin/env bash
# CPython's own regression tests (Debian's libpython3.11-testsuite) for syscall-heavy modules,
# natively and under umkernel, test by test: every test that passes natively must pass under
# umkernel; the differences are listed (test id, native result, umkernel result).
# The guest tree is the host's Debian userland (tests/e2e/data/debian_root.sh) plus
# /usr/lib/python3.11 with its test package; natively the host's /usr/bin/python3.11 runs.
# Run on demand (slow: minutes per module under umkernel); not part of ctest.
#   tests/bench/cpython_tests.sh                       # the default module list
#   MODULES="test_fcntl test_select" tests/bench/cpython_tests.sh
# Environment (optional): UMKERNEL, UMIMAGE (else built in UM_BENCH_BUILD, default
# <repo>/build-bench), MODULES, MEM (guest memory, default 1G), VM_TIMEOUT (s, default 3600),
# TEST_TIMEOUT (s per test, default 300), KEEP=1 (keep the work directory).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
MODULES=${MODULES:-"test_os test_posix test_signal test_subprocess test_socket test_select
  test_selectors test_epoll test_poll test_threading test_mmap test_fcntl test_pty test_time
  test_resource test_multiprocessing_fork test_asyncio test_shutil test_tempfile test_io
  test_fileio test_file test_pipes test_sched test_thread test_threadsignals test_eintr"}
MEM=${MEM:-1G}
VM_TIMEOUT=${VM_TIMEOUT:-3600}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
PY=/usr/bin/python3.11
PYLIB=/usr/lib/python3.11

[ -x "$PY" ] || { echo "cpython_tests: $PY is missing (apt-get install python3.11)" >&2; exit 1; }
[ -f "$PYLIB/test/test_os.py" ] || {
  echo "cpython_tests: $PYLIB/test has no tests (apt-get install libpython3.11-testsuite)" >&2; exit 1; }

if [ -z "${UMKERNEL:-}" ] || [ -z "${UMIMAGE:-}" ]; then
  build=${UM_BENCH_BUILD:-$here/build-bench}
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUM_BIN_DIR="$build/bin" >/dev/null
  cmake --build "$build" --target umkernel umimage >&2
  UMKERNEL=${UMKERNEL:-$build/bin/umkernel}
  UMIMAGE=${UMIMAGE:-$build/bin/umimage}
fi

work=$(mktemp -d /tmp/cpython-tests.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

# ---- the guest tree ----------------------------------------------------------------------
bash "$here/tests/e2e/data/debian_root.sh" "$work/root" >/dev/null
mkdir -p "$work/root$PYLIB"
tar -C / --exclude='__pycache__' -cf - "${PYLIB#/}" | tar -C "$work/root" -xf -
cp -L "$PY" "$work/root/usr/bin/python3.11"
for lib in $(ldd "$PY" | grep -o '/[^ ]*'); do
  mkdir -p "$work/root$(dirname "$lib")"; cp -L "$lib" "$work/root$lib"
done
cp /bin/busybox "$work/root/bin/busybox"
mkdir -p "$work/root/run" "$work/root/var/tmp" "$work/root/dev/shm" "$work/root/home/test"
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$work/root/etc/hosts"
cat >"$work/root/init" <<EOF
#!/bin/bash
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t tmpfs tmp /tmp; mount -t tmpfs shm /dev/shm
ip link set lo up 2>/dev/null || busybox ip link set lo up
cd /home/test
for m in $MODULES; do
  echo "=== MODULE \$m"
  HOME=/root $PY -m test -v --timeout $TEST_TIMEOUT "\$m" 2>&1
done
echo "=== END"
exec busybox poweroff -f
EOF
chmod +x "$work/root/init"
"$UMIMAGE" -q create -f "$work/root" "$work/root.img"
"$UMIMAGE" resize "$work/root.img" 2G >/dev/null 2>&1 || true

# ---- the runs ----------------------------------------------------------------------------
echo "native: $PY -m test -v (per module)" >&2
(cd "$work" && for m in $MODULES; do
   echo "=== MODULE $m"
   "$PY" -m test -v --timeout "$TEST_TIMEOUT" "$m" 2>&1 || true
 done; echo "=== END") >"$work/native.log"
echo "umkernel: the same in a VM (mem=$MEM)" >&2
timeout "$VM_TIMEOUT" "$UMKERNEL" ubd0="$work/root.img" mem="$MEM" init=/init con=null con0=null,fd:1 \
  </dev/null >"$work/umkernel.log" 2>&1 || true

# ---- per-test comparison -------------------------------------------------------------------
# unittest -v lines: "test_x (test.test_os.Cls.test_x) ... ok|FAIL|ERROR|skipped '...'|expected failure"
results() {
  awk '/^=== MODULE /{m=$3}
       / \.\.\. (ok|FAIL|ERROR|skipped|expected failure|unexpected success)/{
         id=$0; sub(/ \.\.\. .*/, "", id); r=$0; sub(/.* \.\.\. /, "", r); sub(/ .*/, "", r)
         print m "\t" id "\t" r }' "$1" | sort -u
}
results "$work/native.log" >"$work/native.tsv"
results "$work/umkernel.log" >"$work/umkernel.tsv"
join -t $'\t' -a1 -e MISSING -o 0,1.2,2.2 \
  <(awk -F'\t' '{print $1" "$2"\t"$3}' "$work/native.tsv" | sort -t $'\t' -k1,1) \
  <(awk -F'\t' '{print $1" "$2"\t"$3}' "$work/umkernel.tsv" | sort -t $'\t' -k1,1) >"$work/joined.tsv"
printf '%-34s %8s %8s %8s %8s\n' module native_ok um_ok um_fail um_missing
for m in $MODULES; do
  awk -F'\t' -v m="$m" '$1 ~ "^"m" " && $2=="ok" {n++; if ($3=="ok") u++; else if ($3=="MISSING") miss++; else f++}
    END {printf "%-34s %8d %8d %8d %8d\n", m, n, u, f, miss}' "$work/joined.tsv"
done
echo
echo "passes natively, not under umkernel:"
awk -F'\t' '$2=="ok" && $3!="ok" {print "  " $1 ": " $3}' "$work/joined.tsv"
tot=$(awk -F'\t' '$2=="ok"' "$work/joined.tsv" | wc -l)
bad=$(awk -F'\t' '$2=="ok" && $3!="ok"' "$work/joined.tsv" | wc -l)
echo "total: $tot pass natively, $((tot - bad)) of them pass under umkernel, $bad differ"
[ "${KEEP:-0}" = 1 ] && echo "logs: $work" >&2
exit 0
