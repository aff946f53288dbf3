#!/usr/bin/env bats
# umkernel runs an unmodified Debian glibc userland: the host's own bash, coreutils, python3
# and perl binaries with their shared libraries, dynamically linked, copied into an image.
load helpers

setup_file() {
  export ROOT_DIR="$BATS_FILE_TMPDIR/root"
  export BASE_IMG="$BATS_FILE_TMPDIR/debian.img"
  "$BATS_TEST_DIRNAME/data/debian_root.sh" "$ROOT_DIR"
  "$UMIMAGE" create "$BASE_IMG" --from "$ROOT_DIR"
}

setup() {
  IMG="$BATS_TEST_TMPDIR/root.img"
  cp --sparse=always "$BASE_IMG" "$IMG"
}

guest() {  # runs a bash command line as init in the Debian image; stdout in $output
  run timeout 120 "$UMKERNEL" ubd0="$IMG" quiet init=/bin/bash -- -c "mount -t proc proc /proc; mount -t tmpfs tmp /tmp; $1" </dev/null
}

@test "dynamically linked bash and coreutils give the same results as natively" {
  local cmd='seq 1 20000 | sort -r | sort -n | uniq | sha256sum; printf "b\na\nb\n" | sort | uniq -c; echo x y z | cut -d" " -f2; ls / | wc -l'
  want=$(bash -c "seq 1 20000 | sort -r | sort -n | uniq | sha256sum; printf 'b\na\nb\n' | sort | uniq -c; echo x y z | cut -d' ' -f2")
  guest "$cmd"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == "$want"* ]]
}

@test "python3 with threading, subprocess, json and multiprocessing" {
  local prog='import json, threading, subprocess, multiprocessing as mp
def sq(x): return x * x
if __name__ == "__main__":
    r = []
    ts = [threading.Thread(target=lambda i=i: r.append(i * i)) for i in range(8)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print(sorted(r))
    print(json.dumps({"k": [1, 2, {"n": None}]}, sort_keys=True))
    print(subprocess.run(["echo", "from a child"], capture_output=True, text=True).stdout.strip())
    with mp.Pool(2) as p: print(p.map(sq, range(6)))'
  echo "$prog" > "$BATS_TEST_TMPDIR/prog.py"
  "$UMIMAGE" put "$IMG" "$BATS_TEST_TMPDIR/prog.py" /prog.py
  want=$(/usr/bin/python3 "$BATS_TEST_TMPDIR/prog.py")
  guest 'mkdir -p /dev/shm; python3 /prog.py'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
}

@test "perl one-liners" {
  want=$(perl -e 'my %h = map { $_ => length } qw(alpha be gamma); print join(",", map {"$_=$h{$_}"} sort keys %h), "\n"; printf("%.3f\n", atan2(1,1)*4)')
  guest "perl -e 'my %h = map { \$_ => length } qw(alpha be gamma); print join(\",\", map {\"\$_=\$h{\$_}\"} sort keys %h), \"\\n\"; printf(\"%.3f\\n\", atan2(1,1)*4)'"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
}

@test "ps, free, df and mount show the guest's figures" {
  guest 'sleep 30 & ps aux; echo ---; free; echo ---; df /; echo ---; mount; kill %1'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"sleep 30"* ]]
  [[ "$output" == *"ps aux"* ]]
  # Only the guest's few processes, not the host's.
  n=$(echo "$output" | sed -n '1,/^---$/p' | grep -c '^root ')
  [ "$n" -ge 3 ] && [ "$n" -le 8 ]
  [[ "$output" == *"262144"* ]]            # mem= (256M default) as MemTotal
  [[ "$output" == *"/dev/ubda"* ]]
  [[ "$output" == *"/dev/ubda on / type ext"* ]]
  [[ "$output" == *"tmp on /tmp type tmpfs"* ]]
}

@test "grep, sed, gawk, find, tar and gzip over generated data" {
  guest 'seq 1 5000 > /tmp/n; grep -c 7 /tmp/n; sed -n "s/^\(9\)\(9\)9$/\2\1/p" /tmp/n; gawk "{s+=\$1} END {print s}" /tmp/n;
         mkdir -p /tmp/t/a/b && cp /tmp/n /tmp/t/a/b/; find /tmp/t -type f; tar -C /tmp -czf /tmp/t.tgz t && tar -tzf /tmp/t.tgz | sort | tail -1;
         gzip -9 < /tmp/n | gunzip | md5sum | cut -c1-32'
  want_md5=$(seq 1 5000 | md5sum | cut -c1-32)
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(seq 1 5000 | grep -c 7)" ]
  [ "${lines[1]}" = "99" ]
  [ "${lines[2]}" = "12502500" ]
  [ "${lines[3]}" = "/tmp/t/a/b/n" ]
  [ "${lines[4]}" = "t/a/b/n" ]
  [ "${lines[5]}" = "$want_md5" ]
}

@test "python3 sqlite3 in WAL mode (the -shm index is a shared mapping of an image file)" {
  local prog='import sqlite3, sys, os
path = sys.argv[1]
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(path + suffix): os.unlink(path + suffix)
db = sqlite3.connect(path)
print(db.execute("pragma journal_mode=wal").fetchone()[0])
db.execute("create table t (k integer primary key, v text)")
with db:
    db.executemany("insert into t (v) values (?)", [(f"row {i}",) for i in range(500)])
other = sqlite3.connect(path)  # a second connection reads through the shared index
print(other.execute("select count(*), max(k) from t").fetchone())
with db:
    db.execute("update t set v = upper(v) where k % 7 = 0")
print(other.execute("select v from t where k = 14").fetchone()[0])
db.close(); other.close()
print(sqlite3.connect(path).execute("pragma integrity_check").fetchone()[0])'
  echo "$prog" > "$BATS_TEST_TMPDIR/wal.py"
  "$UMIMAGE" put "$IMG" "$BATS_TEST_TMPDIR/wal.py" /wal.py
  want=$(/usr/bin/python3 "$BATS_TEST_TMPDIR/wal.py" "$BATS_TEST_TMPDIR/native.db")
  guest 'python3 /wal.py /root/wal.db'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
}
