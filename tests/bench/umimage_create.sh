#!/bin/bash
# Benchmark: `umimage create --from DIR` against `mke2fs -d DIR` on the same tree of small
# files (default 20000 files in 200 directories), same size and type; best of RUNS runs each.
# Usage: tests/bench/umimage_create.sh [FILES] [RUNS]    (UM_BIN=... to pick the binaries)
set -euo pipefail
FILES=${1:-20000}
RUNS=${2:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
UMIMAGE=${UM_BIN:-$ROOT/bin}/umimage
MKE2FS=$(command -v mke2fs || echo /sbin/mke2fs)
W=$(mktemp -d /tmp/umimage-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

echo "building a tree of $FILES small files in $W/tree ..."
python3 - "$W/tree" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
per_dir = 100
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // per_dir // 20), "e%03d" % (i // per_dir))
    if i % per_dir == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(os.urandom(random.randint(0, 6000)))
PY
du -sh "$W/tree" | sed 's/^/tree: /'
SIZE=1G

best() {  # best wall time in seconds of RUNS runs of "$@" (each on a fresh image path)
  local best=999999 t
  for _ in $(seq "$RUNS"); do
    rm -f "$W/img"
    sync
    /usr/bin/time -f %e -o "$W/time" "$@" >/dev/null 2>&1
    t=$(tail -1 "$W/time")
    best=$(python3 -c "print(min($best, $t))")
  done
  echo "$best"
}

um=$(best "$UMIMAGE" create "$W/img" --size "$SIZE" --type ext4 --from "$W/tree")
e2fsck -fn "$W/img" >/dev/null 2>&1 || { echo "umimage image not clean" >&2; exit 1; }
um_auto=$(best "$UMIMAGE" create "$W/img" --type ext4 --from "$W/tree")
mk=$(best "$MKE2FS" -q -F -t ext4 -d "$W/tree" "$W/img" "$SIZE")
echo "umimage create --size $SIZE : ${um}s (best of $RUNS)"
echo "umimage create --size auto : ${um_auto}s"
echo "mke2fs -t ext4 -d          : ${mk}s"
python3 -c "print('ratio umimage/mke2fs: %.2f (< 1 means umimage is faster)' % ($um / $mk))"
