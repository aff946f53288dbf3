#!/usr/bin/env bats
# umimage mount/umount: an image (or COW file) as a live host directory over FUSE, also rootless.
load helpers

setup() {
  W="$BATS_TEST_TMPDIR"
  cd "$W"
  mkdir -p seed/etc seed/usr/bin mnt
  echo "seed file" > seed/etc/motd
  printf '#!/bin/sh\necho hi\n' > seed/usr/bin/hello
  chmod 755 seed/usr/bin/hello
  mke2fs -q -t ext4 -d seed disk.img 64M
}

teardown() {
  for m in "$W/mnt" "${USER_DIR:-/nonexistent}/mnt"; do
    mountpoint -q "$m" && fusermount3 -u "$m" || true
  done
  [ -z "${USER_DIR:-}" ] || rm -rf "$USER_DIR"
}

fuse_or_skip() {
  [ -c /dev/fuse ] || skip "no /dev/fuse in this environment"
  command -v fusermount3 >/dev/null || skip "fusermount3 not installed"
}

image_cat() { debugfs -R "cat $2" "$1" 2>/dev/null; }
image_stat() { debugfs -R "stat $2" "$1" 2>/dev/null; }

@test "read and write through the mount; after umount the image is clean and has every change" {
  fuse_or_skip
  "$UMIMAGE" mount disk.img mnt
  mountpoint -q mnt                       # usable as soon as the command returns
  [ "$(cat mnt/etc/motd)" = "seed file" ]
  [ "$(mnt/usr/bin/hello)" = "hi" ]
  mkdir mnt2
  run "$UMIMAGE" mount disk.img mnt2        # one writer at a time, like UML's ubd lock
  [ "$status" -eq 1 ]
  [[ "$output" =~ disk.img\ is\ locked\ by\ pid\ [0-9]+ ]]
  cp /etc/services mnt/etc/services
  mkdir -p mnt/a/b/c
  echo moved > mnt/a/tmp && mv mnt/a/tmp mnt/a/b/c/moved
  echo gone > mnt/a/gone && rm mnt/a/gone
  ln -s ../etc/motd mnt/a/motd-link
  ln mnt/etc/services mnt/a/services-hardlink
  chmod 600 mnt/etc/motd
  touch -d '2020-02-02 02:02:02' mnt/a/b
  dd if=/dev/urandom of=big.bin bs=1M count=24 status=none
  dd if=big.bin of=mnt/big.bin bs=1M status=none
  [ "$(md5sum < mnt/big.bin)" = "$(md5sum < big.bin)" ]
  echo appended >> mnt/etc/motd
  printf 'a much longer first version\n' > mnt/a/overwritten
  echo short > mnt/a/overwritten           # O_TRUNC
  [ "$(cat mnt/a/overwritten)" = "short" ]
  truncate -s 1000 mnt/a/services-hardlink
  run rmdir mnt/a/b            # not empty
  [ "$status" -ne 0 ]
  [ -d mnt/a/b/c ]
  [ "$(readlink mnt/a/motd-link)" = "../etc/motd" ]
  [ "$(stat -c %h mnt/etc/services)" = 2 ]
  "$UMIMAGE" umount mnt
  run mountpoint -q mnt
  [ "$status" -ne 0 ]

  e2fsck -fn disk.img
  "$UMIMAGE" check disk.img
  [ "$("$UMIMAGE" cat disk.img /etc/motd)" = "$(printf 'seed file\nappended')" ]
  [ "$("$UMIMAGE" cat disk.img /big.bin | md5sum)" = "$(md5sum < big.bin)" ]
  run "$UMIMAGE" ls -R disk.img /a
  [ "$status" -eq 0 ]
  [[ "$output" == *moved* && "$output" == *motd-link* && "$output" == *services-hardlink* ]]
  [[ "$output" != *gone* ]]
  [ "$(image_cat disk.img /etc/motd)" = "$(printf 'seed file\nappended')" ]
  [ "$(image_cat disk.img /a/b/c/moved)" = "moved" ]
  [ "$(image_cat disk.img /a/overwritten)" = "short" ]
  [ "$(image_cat disk.img /big.bin | md5sum)" = "$(md5sum < big.bin)" ]
  [ "$(image_cat disk.img /etc/services | wc -c)" = 1000 ]
  [[ "$(image_stat disk.img /etc/motd)" == *"Mode:  0600"* ]]
  [[ "$(image_stat disk.img /a/motd-link)" == *'Fast link dest: "../etc/motd"'* ]]
  [[ "$(image_stat disk.img /a/b)" == *"mtime: 0x$(printf %08x "$(date -d '2020-02-02 02:02:02' +%s)")"* ]]
  run debugfs -R "ls /a" disk.img
  [[ "$output" != *"gone"* ]]
}

@test "a mounted directory lists large directories, keeps unlinked open files, handles xattrs" {
  fuse_or_skip
  "$UMIMAGE" mount disk.img mnt
  mkdir mnt/many
  for i in $(seq 1 600); do : > "mnt/many/file-with-a-longish-name-$i"; done
  [ "$(ls mnt/many | wc -l)" -eq 600 ]
  [ "$(ls mnt/many | sort -u | wc -l)" -eq 600 ]
  python3 - "$W/mnt" <<'PY'
import os, sys
m = sys.argv[1]
# unlinked-but-open file keeps its data until closed
p = os.path.join(m, "scratch")
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.unlink(p)
data = os.urandom(300000)
os.write(fd, data)
os.lseek(fd, 0, 0)
assert os.read(fd, len(data)) == data
assert not os.path.exists(p)
os.close(fd)
# extended attributes
f = os.path.join(m, "etc/motd")
os.setxattr(f, "user.colour", b"blue")
assert os.getxattr(f, "user.colour") == b"blue"
assert "user.colour" in os.listxattr(f)
os.removexattr(f, "user.colour")
assert "user.colour" not in os.listxattr(f)
os.setxattr(f, "user.kept", b"yes")
# rename over an existing file, and RENAME_NOREPLACE-like failure of rmdir on non-empty
open(os.path.join(m, "x"), "w").write("x")
open(os.path.join(m, "y"), "w").write("y")
os.rename(os.path.join(m, "x"), os.path.join(m, "y"))
assert open(os.path.join(m, "y")).read() == "x"
PY
  grep -q " $W/mnt .* - fuse.umimage $W/disk.img " /proc/self/mountinfo
  "$UMIMAGE" umount mnt
  e2fsck -fn disk.img
  [ "$(image_cat disk.img /y)" = "x" ]
  run debugfs -R "ea_get /etc/motd user.kept" disk.img
  [[ "$output" == *"yes"* ]]
}

@test "--ro mounts refuse writes and leave the image byte-identical" {
  fuse_or_skip
  before=$(md5sum < disk.img)
  "$UMIMAGE" mount --ro disk.img mnt
  [ "$(cat mnt/etc/motd)" = "seed file" ]
  run sh -c "echo x > '$W/mnt/new'"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  run mkdir mnt/d
  [ "$status" -ne 0 ]
  "$UMIMAGE" umount mnt
  [ "$(md5sum < disk.img)" = "$before" ]
}

@test "mounting a COW file writes only the COW; the merged result has the changes" {
  fuse_or_skip
  before=$(md5sum < disk.img)
  "$UMIMAGE" cow create vm.cow --backing disk.img
  "$UMIMAGE" mount vm.cow mnt
  [ "$(cat mnt/etc/motd)" = "seed file" ]
  echo "via cow" > mnt/etc/motd
  dd if=/dev/urandom of=mnt/blob bs=1M count=8 status=none
  sum=$(md5sum < mnt/blob)
  "$UMIMAGE" umount mnt
  [ "$(md5sum < disk.img)" = "$before" ]
  "$UMIMAGE" mount --ro vm.cow mnt
  [ "$(cat mnt/etc/motd)" = "via cow" ]
  [ "$(md5sum < mnt/blob)" = "$sum" ]
  "$UMIMAGE" umount mnt
  "$UMIMAGE" cow merge vm.cow --output merged.img
  e2fsck -fn merged.img
  [ "$(image_cat merged.img /etc/motd)" = "via cow" ]
}

@test "SIGTERM to a foreground mount flushes, unmounts and exits cleanly" {
  fuse_or_skip
  "$UMIMAGE" mount --foreground disk.img mnt &
  pid=$!
  for _ in $(seq 1 100); do mountpoint -q mnt && break; sleep 0.05; done
  mountpoint -q mnt
  echo "before sigterm" > mnt/sig.txt
  kill -TERM "$pid"
  wait "$pid"
  run mountpoint -q mnt
  [ "$status" -ne 0 ]
  e2fsck -fn disk.img
  [ "$(image_cat disk.img /sig.txt)" = "before sigterm" ]
}

@test "works rootless: an unprivileged user mounts, writes and unmounts" {
  fuse_or_skip
  [ "$(id -u)" = 0 ] || skip "needs root to switch to the test user"
  id "$UM_TEST_USER" >/dev/null 2>&1 || skip "no $UM_TEST_USER account (run scripts/deps.sh)"
  as_user test -r /dev/fuse -a -w /dev/fuse || skip "/dev/fuse is not usable by $UM_TEST_USER (mode $(stat -c %a /dev/fuse))"
  as_user test -x "$UMIMAGE" || skip "$UMIMAGE is not executable by $UM_TEST_USER"
  USER_DIR=$(mktemp -d /tmp/umimage-mount.XXXXXX)
  chmod 755 "$USER_DIR"
  cp disk.img "$USER_DIR/disk.img"
  mkdir "$USER_DIR/mnt"
  chown -R "$UM_TEST_USER:" "$USER_DIR"
  cd "$USER_DIR"
  as_user "$UMIMAGE" mount disk.img mnt
  as_user sh -c 'echo "from user" > mnt/user.txt && mkdir mnt/userdir && dd if=/dev/zero of=mnt/userdir/z bs=1M count=4 status=none'
  [ "$(as_user cat mnt/etc/motd)" = "seed file" ]
  as_user "$UMIMAGE" umount mnt
  run mountpoint -q mnt
  [ "$status" -ne 0 ]
  e2fsck -fn disk.img
  [ "$(image_cat disk.img /user.txt)" = "from user" ]
  uid=$(id -u "$UM_TEST_USER")
  [[ "$(image_stat disk.img /user.txt)" == *"User:   $uid"* ]]

  # the classic setup: a root-owned read-only base image, a per-user COW on top
  cp "$W/disk.img" "$USER_DIR/base.img"
  chown root: "$USER_DIR/base.img"
  chmod 444 "$USER_DIR/base.img"
  base=$(md5sum < "$USER_DIR/base.img")
  as_user "$UMIMAGE" cow create mine.cow --backing base.img
  as_user "$UMIMAGE" mount mine.cow mnt
  as_user sh -c 'echo "user cow" > mnt/etc/motd'
  as_user "$UMIMAGE" umount mnt
  [ "$(md5sum < "$USER_DIR/base.img")" = "$base" ]
  [ "$(as_user "$UMIMAGE" cat mine.cow /etc/motd)" = "user cow" ]
  as_user "$UMIMAGE" cow merge mine.cow --output merged.img
  e2fsck -fn merged.img
  [ "$(image_cat merged.img /etc/motd)" = "user cow" ]
}

@test "bad input: clear one-line errors, nothing left mounted" {
  run "$UMIMAGE" umount mnt
  [ "$status" -eq 1 ]
  [ "$output" = "umimage: error: $W/mnt is not mounted" ]
  run "$UMIMAGE" umount "$W/does-not-exist"
  [ "$status" -eq 1 ]
  run "$UMIMAGE" umount /proc                # never unmounts what is not a FUSE mount
  [ "$status" -eq 1 ]
  [ "$output" = "umimage: error: /proc is not a FUSE mount (it is proc)" ]
  mountpoint -q /proc
  run "$UMIMAGE" mount disk.img
  [ "$status" -eq 2 ]
  run "$UMIMAGE" mount disk.img "$W/does-not-exist"
  [ "$status" -eq 1 ]
  [[ "$output" == "umimage: error: cannot access mount point"* ]]
  head -c 1M /dev/urandom > junk.img
  run "$UMIMAGE" mount junk.img mnt
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == "umimage: error: "* ]]
  run mountpoint -q mnt
  [ "$status" -ne 0 ]
  run "$UMIMAGE" mount disk.img disk.img
  [ "$status" -eq 1 ]
  [[ "$output" == *"is not a directory"* ]]
}
