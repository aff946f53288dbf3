#!/usr/bin/env bats
# umimage cow: UML copy-on-write files, interoperating both ways with Debian's uml-utilities
# (uml_mkcow makes COW files, uml_moo merges them) and with the UML kernel. Edits through a COW
# use `umimage put/mkdir`; reads `umimage cat/ls`; debugfs checks merged images independently.
load helpers

setup() {
  W="$BATS_TEST_TMPDIR"
  cd "$W"
  mkdir -p seed/etc mnt
  echo "seed file" > seed/etc/motd
  mke2fs -q -t ext4 -d seed root.img 64M
  touch -d '2024-01-02 03:04:05' root.img
}

teardown() {
  mountpoint -q "$W/mnt" && fusermount3 -u "$W/mnt" || true
}

fuse_or_skip() {
  [ -c /dev/fuse ] && [ -r /dev/fuse ] || skip "no usable /dev/fuse here"
  command -v fusermount3 >/dev/null || skip "fusermount3 not installed"
}

# Edits COW $1 with umimage's own commands (no FUSE needed).
edit_through() {
  [ "$("$UMIMAGE" cat "$1" /etc/motd)" = "seed file" ]
  echo "edited through the COW" > motd.new
  "$UMIMAGE" put "$1" motd.new /etc/motd
  "$UMIMAGE" mkdir "$1" /newdir
  dd if=/dev/urandom of=blob bs=64k count=40 status=none
  "$UMIMAGE" put "$1" blob /newdir/blob
  md5sum < blob > blob.md5
  [ "$("$UMIMAGE" cat "$1" /etc/motd)" = "edited through the COW" ]
  [ "$("$UMIMAGE" cat "$1" /newdir/blob | md5sum)" = "$(cat blob.md5)" ]
  run "$UMIMAGE" ls "$1" /newdir
  [ "$status" -eq 0 ]
  [[ "$output" == *blob* ]]
}

image_cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }

@test "uml_mkcow COW: edited through umimage, merged by uml_moo; backing untouched, result clean" {
  uml_mkcow vm.cow root.img
  before=$(md5sum < root.img)
  edit_through vm.cow
  [ "$(md5sum < root.img)" = "$before" ]
  run "$UMIMAGE" cow info vm.cow
  [ "$status" -eq 0 ]
  [[ "$output" == *"backing matches: yes"* ]]
  [[ "$output" != *"sectors written: 0 "* ]]
  uml_moo vm.cow merged.img
  e2fsck -fn merged.img
  [ "$(image_cat merged.img /etc/motd)" = "edited through the COW" ]
  [ "$(image_cat merged.img /newdir/blob | md5sum)" = "$(cat blob.md5)" ]
}

@test "umimage cow create is byte-identical to uml_mkcow; cow merge equals uml_moo" {
  "$UMIMAGE" cow create vm.cow --backing root.img
  uml_mkcow ref.cow root.img
  cmp vm.cow ref.cow
  edit_through vm.cow
  "$UMIMAGE" cow merge vm.cow --output ours.img
  uml_moo vm.cow theirs.img
  cmp ours.img theirs.img
  e2fsck -fn ours.img
  [ "$(image_cat ours.img /etc/motd)" = "edited through the COW" ]
  # sparse like uml_moo's output
  [ "$(du -k ours.img | cut -f1)" -lt 40000 ]
}

@test "in-place merge (backing rewritten) matches uml_moo -d" {
  "$UMIMAGE" cow create vm.cow --backing root.img
  edit_through vm.cow
  cp -p --sparse=always root.img copy.img     # same size and mtime: a valid backing for -b
  uml_moo -d -b "$W/copy.img" vm.cow
  "$UMIMAGE" cow merge vm.cow
  cmp root.img copy.img
  e2fsck -fn root.img
  [ "$(image_cat root.img /etc/motd)" = "edited through the COW" ]
  # the COW no longer matches its (rewritten) backing
  run "$UMIMAGE" cow info vm.cow
  [[ "$output" == *"backing matches: no: backing file $W/root.img changed since the COW file was made"* ]]
}

@test "a touched backing file is refused with a clear error and nothing is modified" {
  "$UMIMAGE" cow create vm.cow --backing root.img
  touch -d '2025-05-05 05:05:05' root.img
  sums=$(md5sum root.img vm.cow)
  run "$UMIMAGE" cow merge vm.cow --output out.img
  [ "$status" -eq 1 ]
  [[ "$output" == "umimage: error: backing file $W/root.img changed since the COW file was made (mtime "* ]]
  [ ! -e out.img ]
  run "$UMIMAGE" cow merge vm.cow
  [ "$status" -eq 1 ]
  [[ "$output" == *"changed since the COW file was made"* ]]
  run "$UMIMAGE" cat vm.cow /etc/motd
  [ "$status" -eq 1 ]
  [[ "$output" == *"changed since the COW file was made"* ]]
  run "$UMIMAGE" put vm.cow root.img /junk
  [ "$status" -eq 1 ]
  if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
    run "$UMIMAGE" mount vm.cow mnt
    [ "$status" -eq 1 ]
    [[ "$output" == *"changed since the COW file was made"* ]]
    run mountpoint -q mnt
    [ "$status" -ne 0 ]
  fi
  # uml_moo agrees that the COW is stale
  run uml_moo vm.cow moo.img
  [ "$status" -ne 0 ]
  [ "$(md5sum root.img vm.cow)" = "$sums" ]
}

@test "cow create/info: errors, --force, JSON" {
  run "$UMIMAGE" cow create vm.cow
  [ "$status" -eq 2 ]
  run "$UMIMAGE" cow create vm.cow --backing missing.img
  [ "$status" -eq 1 ]
  [ "$output" = "umimage: error: cannot access backing file $W/missing.img: No such file or directory" ]
  [ ! -e vm.cow ]
  "$UMIMAGE" cow create vm.cow --backing root.img
  run "$UMIMAGE" cow create vm.cow --backing root.img
  [ "$status" -eq 1 ]
  [[ "$output" == *"vm.cow already exists"* ]]
  "$UMIMAGE" cow create vm.cow --backing root.img --force
  run "$UMIMAGE" cow create vm2.cow --backing vm.cow
  [ "$status" -eq 1 ]
  run "$UMIMAGE" cow info root.img
  [ "$status" -eq 1 ]
  [[ "$output" == *"not a COW file"* ]]
  [ "$(stat -c %s vm.cow)" -eq 67133440 ]
  "$UMIMAGE" cow info --json vm.cow > info.json
  python3 - "$W" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/info.json"))
assert d["version"] == 3 and not d["broken_v3"], d
assert d["backing_file"] == sys.argv[1] + "/root.img", d
assert d["size"] == 64 << 20 and d["sector_size"] == 512 and d["alignment"] == 4096, d
assert (d["bitmap_offset"], d["bitmap_len"], d["data_offset"]) == (8192, 16384, 24576), d
assert d["sectors_written"] == 0 and d["sectors_total"] == 131072, d
assert d["backing_matches"] is True and d["backing_error"] is None, d
assert d["in_use_by"] == [], d
PY
}

@test "a COW in use is locked: a second user is told the holder's pid" {
  fuse_or_skip
  "$UMIMAGE" cow create vm.cow --backing root.img
  "$UMIMAGE" mount vm.cow mnt
  mkdir mnt2
  run "$UMIMAGE" mount vm.cow mnt2
  [ "$status" -eq 1 ]
  [[ "$output" =~ vm.cow\ is\ locked\ by\ pid\ ([0-9]+) ]]
  holder=${BASH_REMATCH[1]}
  [ "$(cat /proc/$holder/comm)" = umimage ]
  run "$UMIMAGE" cow info vm.cow
  [[ "$output" == *"in use by:       pid $holder"* ]]
  run mountpoint -q mnt2
  [ "$status" -ne 0 ]
  run "$UMIMAGE" cow merge vm.cow --output out.img
  [ "$status" -eq 1 ]
  [[ "$output" == *"is locked by pid"* ]]
  # the backing is read-locked only: merging into it in place must wait for the COW's user
  run "$UMIMAGE" cow merge vm.cow
  [ "$status" -eq 1 ]
  "$UMIMAGE" umount mnt
  "$UMIMAGE" cow merge vm.cow --output out.img
}

# A busybox root file system whose /init prints /etc/greeting, writes /from-uml, holds the disk
# for $hold seconds (a kernel command line word; lets the host see UML's lock) and powers off.
make_uml_root() {
  mkdir -p useed/bin useed/proc useed/etc
  cp /bin/busybox useed/bin/busybox
  cat > useed/init <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "GREETING: $(/bin/busybox cat /etc/greeting)"
echo "written by uml" > /from-uml
/bin/busybox sync
/bin/busybox sleep ${hold:-0}
/bin/busybox mount -o remount,ro /
echo UML-INIT-DONE
/bin/busybox poweroff -f
INIT
  chmod 755 useed/init
  echo "seed greeting" > useed/etc/greeting
  mke2fs -q -t ext4 -d useed uml.img 64M
}

@test "UML boots from an umimage COW, sees umimage's edit, its writes land in the COW, its lock is honoured" {
  [ -x /usr/bin/linux ] || skip "user-mode-linux not installed"
  [ -x /bin/busybox ] || skip "busybox-static not installed"
  make_uml_root
  before=$(md5sum < uml.img)
  "$UMIMAGE" cow create vm.cow --backing uml.img
  echo "hello from umimage" > greeting
  "$UMIMAGE" put vm.cow greeting /etc/greeting

  TMPDIR="$W" timeout 90 "$UML" ubd0=vm.cow mem=64M rw init=/init hold=5 umid="umimage-cow-$$" \
    con=null ssl=null con0=null,fd:1 </dev/null >uml.log 2>&1 &
  uml=$!
  # Probe only once init runs (root mounted, the COW open for good): a lock attempt while UML
  # is still opening its disk would make UML's own F_SETLK fail.
  for _ in $(seq 1 600); do grep -q "GREETING:" uml.log && break; sleep 0.1; done
  run "$UMIMAGE" cow merge vm.cow --output probe.img   # init holds the disk for 5 s
  probe_status=$status probe_output=$output
  wait "$uml" || true
  cat uml.log
  echo "probe: $probe_status $probe_output"
  [ "$probe_status" -eq 1 ]
  [[ "$probe_output" == *"vm.cow is locked by pid "* ]]
  [ ! -e probe.img ]
  grep -q "GREETING: hello from umimage" uml.log
  grep -q UML-INIT-DONE uml.log
  [ "$(md5sum < uml.img)" = "$before" ]
  [ "$("$UMIMAGE" cat vm.cow /from-uml)" = "written by uml" ]
  "$UMIMAGE" cow merge vm.cow --output ours.img
  uml_moo vm.cow theirs.img
  cmp ours.img theirs.img
  e2fsck -fn ours.img
}

@test "a COW created by the UML kernel itself (ubd0=COW,BACKING) is read and merged by umimage" {
  [ -x /usr/bin/linux ] || skip "user-mode-linux not installed"
  [ -x /bin/busybox ] || skip "busybox-static not installed"
  make_uml_root
  TMPDIR="$W" timeout 90 "$UML" ubd0=kernel.cow,uml.img mem=64M rw init=/init umid="umimage-kcow-$$" \
    con=null ssl=null con0=null,fd:1 </dev/null >uml.log 2>&1 || true
  cat uml.log
  grep -q 'Creating "kernel.cow" as COW file' uml.log
  grep -q UML-INIT-DONE uml.log
  run "$UMIMAGE" cow info kernel.cow
  [ "$status" -eq 0 ]
  [[ "$output" == *"backing file:    $W/uml.img"* ]]
  [[ "$output" == *"backing matches: yes"* ]]
  [[ "$output" != *"sectors written: 0 "* ]]
  [ "$("$UMIMAGE" cat kernel.cow /from-uml)" = "written by uml" ]
  run "$UMIMAGE" ls kernel.cow /
  [[ "$output" == *from-uml* ]]
  "$UMIMAGE" cow merge kernel.cow --output ours.img
  uml_moo kernel.cow theirs.img
  cmp ours.img theirs.img
}

@test "cow merge --backing uses a moved backing file (like uml_moo -b); a wrong one is refused" {
  "$UMIMAGE" cow create vm.cow --backing root.img
  echo "moved" > moved.txt
  "$UMIMAGE" put vm.cow moved.txt /moved.txt
  mkdir elsewhere
  mv root.img elsewhere/root.img            # mv keeps size and mtime
  run "$UMIMAGE" cow merge vm.cow --output out.img
  [ "$status" -eq 1 ]
  [[ "$output" == "umimage: error: cannot open backing file $W/root.img of COW file vm.cow: No such file or directory" ]]
  "$UMIMAGE" cow merge vm.cow --backing elsewhere/root.img --output out.img
  uml_moo -b "$W/elsewhere/root.img" vm.cow moo.img
  cmp out.img moo.img
  [ "$("$UMIMAGE" cat out.img /moved.txt)" = "moved" ]
  mke2fs -q -t ext4 other.img 64M
  run "$UMIMAGE" cow merge vm.cow --backing other.img --output out2.img
  [ "$status" -eq 1 ]
  [[ "$output" == *"backing file other.img changed since the COW file was made"* ]]
  [ ! -e out2.img ]
}
