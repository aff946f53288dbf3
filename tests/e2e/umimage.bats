#!/usr/bin/env bats
# umimage end to end: create (empty, --from DIR/archive/stdin, --busybox), inspect, edit,
# export round trips, bad input, and the main paths as an unprivileged user.
load helpers

setup() {
  # World-accessible so that as_user can work there too.
  W=$(mktemp -d /tmp/umimage-bats.XXXXXX)
  chmod 777 "$W"
}

teardown() {
  rm -rf "$W"
}

fsck_clean() {
  run e2fsck -fn "$1"
  if [ "$status" -ne 0 ]; then
    echo "$output"
    return 1
  fi
}

# name mode uid gid size mtime(ns) nlink symlink-target, for every entry below $1
listing() {
  (cd "$1" && find . -mindepth 1 ! -path './lost+found*' -printf '%p %M %U %G %s %T@ %n %l\n' | sort)
}

# A source tree with every kind of entry the image must keep.
make_tree() {
  local d="$1"
  mkdir -p "$d/sub/deep" "$d/empty"
  echo hello >"$d/a.txt"
  head -c 200000 /dev/urandom >"$d/sub/big.bin"
  : >"$d/zero-length"
  ln "$d/a.txt" "$d/sub/hard.txt"
  ln -s ../a.txt "$d/sub/rel"
  ln -s "/$(printf 'L%.0s' $(seq 1 120))" "$d/longlink"
  mkfifo "$d/fifo"
  chmod 4750 "$d/sub/big.bin"
  chmod 1777 "$d/empty"
  truncate -s 3M "$d/sparse" && echo tail >>"$d/sparse"
  if [ "$(id -u)" = 0 ]; then
    mknod "$d/null" c 1 3
    chown 1234:5678 "$d/a.txt"
    chown 42:43 "$d/sub"
  fi
  python3 -c "import os,sys; os.setxattr(sys.argv[1], 'user.color', b'blue\0green')" "$d/a.txt" 2>/dev/null || true
  touch -h -d '2001-02-03 04:05:06.123456789' "$d/sub/rel" "$d/sub/deep" "$d/sub" "$d/a.txt"
}

# The user.* xattrs of a file, one "name=hex" per line.
xattrs() {
  python3 -c "import os,sys; [print(n + '=' + os.getxattr(sys.argv[1], n).hex()) for n in sorted(os.listxattr(sys.argv[1])) if n.startswith('user.')]" "$1"
}

@test "create --busybox makes a bootable-looking root that passes e2fsck" {
  run "$UMIMAGE" create "$W/root.img" --busybox
  [ "$status" -eq 0 ]
  fsck_clean "$W/root.img"
  run "$UMIMAGE" ls -l "$W/root.img" /bin/sh
  [[ "$output" == *"-> /bin/busybox"* ]]
  run "$UMIMAGE" cat "$W/root.img" /etc/inittab
  [[ "$output" == *"::sysinit:"* ]]
  [[ "$output" == *"::ctrlaltdel:"* ]]
  [[ "$output" == *"::shutdown:"* ]]
  [[ "$output" == *"-/bin/sh"* ]]
  run "$UMIMAGE" stat "$W/root.img" /tmp
  [[ "$output" == *"(1777/drwxrwxrwt)"* ]]
  for f in /etc/passwd /etc/group /etc/hostname /etc/fstab /etc/profile; do
    "$UMIMAGE" cat "$W/root.img" "$f" >/dev/null
  done
  # every applet of the host busybox is linked
  n_applets=$(/bin/busybox --list-full | wc -l)
  links=$("$UMIMAGE" export "$W/root.img" | tar -tvf - | grep -c -- '-> /bin/busybox')
  [ "$links" -ge $((n_applets - 1)) ]
  "$UMIMAGE" get "$W/root.img" /bin/busybox "$W/bb"
  cmp "$W/bb" /bin/busybox
  # sparse: far fewer blocks allocated than the nominal size
  [ "$(du -k "$W/root.img" | cut -f1)" -lt 32768 ]
}

@test "create empty images of each type; info reports them" {
  for t in ext2 ext3 ext4; do
    "$UMIMAGE" create "$W/$t.img" --size 32M --type "$t" --label "lab-$t"
    fsck_clean "$W/$t.img"
    run "$UMIMAGE" info --json "$W/$t.img"
    [ "$status" -eq 0 ]
    [[ "$output" == *"\"type\":\"$t\""* ]]
    [[ "$output" == *"\"label\":\"lab-$t\""* ]]
    [[ "$output" == *"\"size_bytes\":33554432"* ]]
  done
  run "$UMIMAGE" info "$W/ext4.img"
  [[ "$output" == *"metadata_csum"* ]]
  [[ "$output" == *"uuid:"* ]]
}

@test "directory -> image -> export keeps names, contents, modes, owners, times and links" {
  make_tree "$W/src"
  "$UMIMAGE" create "$W/d.img" --from "$W/src"
  fsck_clean "$W/d.img"
  mkdir "$W/out"
  "$UMIMAGE" export "$W/d.img" >"$W/out.tar"
  tar -C "$W/out" --xattrs --numeric-owner -xpf "$W/out.tar"
  diff <(listing "$W/src") <(listing "$W/out")
  diff -r --no-dereference "$W/src" "$W/out" -x lost+found -x fifo -x null
  # extended attributes (with a NUL inside the value) survive
  [ "$(xattrs "$W/out/a.txt")" = "$(xattrs "$W/src/a.txt")" ]
  run "$UMIMAGE" stat "$W/d.img" /a.txt
  [[ "$output" == *"Xattr: user.color (10 bytes)"* ]] || [ -z "$(xattrs "$W/src/a.txt")" ]
  # the hard link is one inode with two names
  [ "$(stat -c %i "$W/out/a.txt")" = "$(stat -c %i "$W/out/sub/hard.txt")" ]
  # nanosecond mtimes survive
  [ "$(stat -c %y "$W/out/sub")" = "$(stat -c %y "$W/src/sub")" ]
  # the sparse file stays sparse inside the image
  run "$UMIMAGE" stat "$W/d.img" /sparse
  [[ "$output" == *"Blocks: 8 "* ]]
}

@test "archive -> image -> export round trip (tar, tar.gz, tar.xz, tar.zst, zip, stdin)" {
  make_tree "$W/src"
  rm "$W/src/fifo"
  [ -e "$W/src/null" ] && rm "$W/src/null"
  # pax format: nanosecond times
  tar -C "$W/src" --format=posix --xattrs --numeric-owner -cf "$W/src.tar" .
  tar -C "$W/src" --format=posix -czf "$W/src.tar.gz" .
  tar -C "$W/src" --format=posix -cJf "$W/src.tar.xz" .
  tar -C "$W/src" --format=posix --zstd -cf "$W/src.tar.zst" .
  for a in src.tar src.tar.gz src.tar.xz src.tar.zst; do
    "$UMIMAGE" create "$W/$a.img" --from "$W/$a"
    fsck_clean "$W/$a.img"
    rm -rf "$W/out" && mkdir "$W/out"
    "$UMIMAGE" export "$W/$a.img" | tar -C "$W/out" --numeric-owner -xpf -
    diff <(listing "$W/src") <(listing "$W/out")
    diff -r --no-dereference "$W/src" "$W/out" -x lost+found
  done
  "$UMIMAGE" create "$W/stdin.img" --from - <"$W/src.tar.gz"
  fsck_clean "$W/stdin.img"
  run "$UMIMAGE" cat "$W/stdin.img" /sub/hard.txt
  [ "$output" = hello ]
  (cd "$W/src" && zip -qry "$W/src.zip" a.txt sub)
  "$UMIMAGE" create "$W/zip.img" --from "$W/src.zip"
  fsck_clean "$W/zip.img"
  "$UMIMAGE" get "$W/zip.img" /sub/big.bin "$W/big.zip.bin"
  cmp "$W/big.zip.bin" "$W/src/sub/big.bin"
  # no temporary files are left next to the images
  [ -z "$(ls -A "$W" | grep '^\.')" ]
}

@test "edit in place: mkdir, put, cat, ln, chmod, chown, rm, import, stay clean" {
  I="$W/e.img"
  "$UMIMAGE" create "$I" --size 64M
  "$UMIMAGE" mkdir -p "$I" /srv/www/data
  "$UMIMAGE" mkdir "$I" /srv/x
  head -c 1000000 /dev/urandom >"$W/blob"
  "$UMIMAGE" put "$I" "$W/blob" /srv/www/
  "$UMIMAGE" get "$I" /srv/www/blob "$W/blob.back"
  cmp "$W/blob" "$W/blob.back"
  echo one >"$W/small"
  "$UMIMAGE" put "$I" "$W/small" /srv/small.txt
  echo two >"$W/small"
  "$UMIMAGE" put "$I" "$W/small" /srv/small.txt
  run "$UMIMAGE" cat "$I" /srv/small.txt
  [ "$output" = two ]
  "$UMIMAGE" ln -s "$I" /srv/small.txt /link
  run "$UMIMAGE" cat "$I" /link
  [ "$output" = two ]
  "$UMIMAGE" ln "$I" /srv/small.txt /hard
  run "$UMIMAGE" stat "$I" /hard
  [[ "$output" == *"Links: 2"* ]]
  "$UMIMAGE" chmod "$I" 0600 /srv/small.txt
  "$UMIMAGE" chown "$I" 1000:100 /srv/small.txt
  run "$UMIMAGE" stat "$I" /srv/small.txt
  [[ "$output" == *"(0600/-rw-------)  Uid: 1000  Gid: 100"* ]]
  mkdir -p "$W/t/pkg"
  echo cfg >"$W/t/pkg/conf"
  tar -C "$W/t" -cf "$W/t.tar" .
  "$UMIMAGE" import "$I" "$W/t.tar" --at /srv
  run "$UMIMAGE" cat "$I" /srv/pkg/conf
  [ "$output" = cfg ]
  "$UMIMAGE" rm "$I" /hard
  "$UMIMAGE" rm -r "$I" /srv
  run "$UMIMAGE" ls "$I"
  [ "$output" = "$(printf 'link\nlost+found')" ]
  fsck_clean "$I"
  run "$UMIMAGE" check "$I"
  [ "$status" -eq 0 ]
}

@test "COW files: read, edit and check through the COW, backing untouched" {
  "$UMIMAGE" create "$W/base.img" --busybox
  before=$(sha256sum "$W/base.img")
  "$UMIMAGE" cow create "$W/vm.cow" --backing "$W/base.img"
  echo cow-data >"$W/c.txt"
  "$UMIMAGE" put "$W/vm.cow" "$W/c.txt" /root/c.txt
  run "$UMIMAGE" cat "$W/vm.cow" /root/c.txt
  [ "$output" = cow-data ]
  run "$UMIMAGE" cat "$W/base.img" /root/c.txt
  [ "$status" -eq 1 ]
  [ "$(sha256sum "$W/base.img")" = "$before" ]
  run "$UMIMAGE" check "$W/vm.cow"
  [ "$status" -eq 0 ]
  run "$UMIMAGE" info --json "$W/vm.cow"
  [[ "$output" == *'"type":"ext4"'* ]]
}

@test "resize grows an image and its file system" {
  "$UMIMAGE" create "$W/r.img" --size 32M --from "$BATS_TEST_DIRNAME"
  "$UMIMAGE" resize "$W/r.img" 96M
  run "$UMIMAGE" info --json "$W/r.img"
  [[ "$output" == *"\"size_bytes\":100663296"* ]]
  fsck_clean "$W/r.img"
  run "$UMIMAGE" cat "$W/r.img" /helpers.bash
  [ "$status" -eq 0 ]
}

@test "bad input: one clear line, non-zero exit, nothing changed or left behind" {
  "$UMIMAGE" create "$W/ok.img" --size 16M
  sum() { sha256sum "$W/ok.img" | cut -d' ' -f1; }
  before=$(sum)

  # existing output
  run "$UMIMAGE" create "$W/ok.img" --size 16M
  [ "$status" -eq 1 ]
  [[ "$output" == "umimage: error: "*"already exists"* ]]
  [ "$(sum)" = "$before" ]

  # wrong arguments
  run "$UMIMAGE" create
  [ "$status" -eq 2 ]
  run "$UMIMAGE" create "$W/x.img" --size banana
  [ "$status" -eq 1 ]
  [ ! -e "$W/x.img" ]
  run "$UMIMAGE" chmod "$W/ok.img" rwx /
  [ "$status" -eq 1 ]
  [[ "$output" == *"octal"* ]]

  # missing paths
  run "$UMIMAGE" cat "$W/ok.img" /nope
  [ "$status" -eq 1 ]
  [[ "$output" == *"/nope: no such file or directory"* ]]
  run "$UMIMAGE" mkdir "$W/ok.img" /a/b/c
  [ "$status" -eq 1 ]
  run "$UMIMAGE" rm "$W/ok.img" /lost+found
  [ "$status" -eq 1 ]
  [[ "$output" == *"use -r"* ]]
  run "$UMIMAGE" put "$W/ok.img" "$W/does-not-exist" /x
  [ "$status" -eq 1 ]
  [ "$(sum)" = "$before" ]

  # not an image / corrupt image / missing image
  head -c 4M /dev/urandom >"$W/junk.img"
  run "$UMIMAGE" ls "$W/junk.img"
  [ "$status" -eq 1 ]
  [[ "$output" == *"not an ext2/3/4 image"* ]]
  [ "${#lines[@]}" -eq 1 ]
  cp "$W/ok.img" "$W/trunc.img" && truncate -s 1M "$W/trunc.img"
  run "$UMIMAGE" info "$W/trunc.img"
  [ "$status" -eq 1 ]
  [[ "$output" == *"truncated"* ]]
  cp "$W/ok.img" "$W/bad.img"
  dd if=/dev/urandom of="$W/bad.img" bs=1024 seek=1 count=1 conv=notrunc 2>/dev/null
  run "$UMIMAGE" ls "$W/bad.img"
  [ "$status" -eq 1 ]
  run "$UMIMAGE" info "$W/missing.img"
  [ "$status" -eq 1 ]
  [[ "$output" == *"No such file or directory"* ]]

  # not an archive at all (a text file is not taken for an mtree listing)
  echo hello >"$W/text.txt"
  run "$UMIMAGE" create "$W/t.img" --from "$W/text.txt"
  [ "$status" -eq 1 ]
  [[ "$output" == *"Unrecognized archive format"* ]]
  [ ! -e "$W/t.img" ]
  run "$UMIMAGE" create "$W/nodir/t.img"
  [ "$status" -eq 1 ]
  [[ "$output" == "umimage: error: cannot create $W/nodir/t.img: No such file or directory" ]]

  # truncated archive: no image file appears; import changes nothing
  head -c 300000 /dev/urandom >"$W/payload"
  tar -C "$W" -czf "$W/p.tgz" payload
  head -c 20000 "$W/p.tgz" >"$W/cut.tgz"
  run "$UMIMAGE" create "$W/cut.img" --from "$W/cut.tgz"
  [ "$status" -eq 1 ]
  [[ "$output" == *"archive"* ]]
  [ ! -e "$W/cut.img" ]
  [ -z "$(ls -A "$W" | grep '^\.')" ]
  run "$UMIMAGE" import "$W/ok.img" "$W/cut.tgz"
  [ "$status" -eq 1 ]
  [ "$(sum)" = "$before" ]

  # full image: ENOSPC, the image is unchanged and still clean
  head -c 40M /dev/urandom >"$W/huge"
  run "$UMIMAGE" put "$W/ok.img" "$W/huge" /huge
  [ "$status" -eq 1 ]
  [[ "$output" == *"No space left on device"* ]]
  [ "$(sum)" = "$before" ]
  run "$UMIMAGE" create "$W/small.img" --size 16M --from "$W/huge"
  [ "$status" -eq 1 ]
  [ ! -e "$W/small.img" ]
  fsck_clean "$W/ok.img"
}

@test "randomly corrupted images never crash umimage (exit 0 or 1 only)" {
  mkdir -p "$W/src/d" && echo data >"$W/src/d/f" && ln -s f "$W/src/d/l"
  "$UMIMAGE" create "$W/base.img" --size 16M --from "$W/src"
  echo x >"$W/x.txt"
  python3 - "$W" "$UMIMAGE" <<'PY'
import random, subprocess, sys
w, umimage = sys.argv[1], sys.argv[2]
random.seed(11)
base = open(w + "/base.img", "rb").read()
bad = []
for it in range(40):
    d = bytearray(base)
    for _ in range(random.randint(1, 16)):
        lo, hi = random.choice([(1024, 2048), (4096, 8192), (0, 1 << 20)])
        d[random.randrange(lo, hi)] = random.randrange(256)
    open(w + "/c.img", "wb").write(d)
    for cmd in (["ls", "-lR"], ["put", None, w + "/x.txt", "/d/new"], ["rm", "-r", None, "/d"]):
        args = [a if a is not None else w + "/c.img" for a in cmd]
        if "c.img" not in " ".join(args):
            args.insert(1, w + "/c.img")
        r = subprocess.run([umimage] + args, capture_output=True, timeout=30)
        if r.returncode not in (0, 1) or (r.returncode == 1 and len(r.stderr.splitlines()) != 1):
            bad.append((it, args[0], r.returncode, r.stderr[-300:]))
print(bad)
sys.exit(1 if bad else 0)
PY
}

@test "a put that cannot fit is refused before anything is written" {
  "$UMIMAGE" create "$W/f.img" --size 16M --type ext2
  head -c 9M /dev/urandom >"$W/nine"
  "$UMIMAGE" put "$W/f.img" "$W/nine" /one
  before=$(sha256sum "$W/f.img")
  mkdir "$W/two" && cp "$W/nine" "$W/two/a" && cp "$W/nine" "$W/two/b"
  run "$UMIMAGE" put "$W/f.img" "$W/two" /two
  [ "$status" -eq 1 ]
  [[ "$output" == *"No space left on device"* ]]
  [ "$(sha256sum "$W/f.img")" = "$before" ]
  fsck_clean "$W/f.img"
  # (ENOSPC in the middle of a file is covered by umimage_tests: the partial file is removed)
}

@test "main paths work as an unprivileged user" {
  make_tree "$W/src"
  chmod -R a+rX "$W/src"
  as_user "$UMIMAGE" create "$W/u.img" --busybox --from "$W/src"
  as_user "$UMIMAGE" check "$W/u.img"
  as_user "$UMIMAGE" mkdir -p "$W/u.img" /home/user
  as_user "$UMIMAGE" put "$W/u.img" "$W/src/a.txt" /home/user/a.txt
  run as_user "$UMIMAGE" cat "$W/u.img" /home/user/a.txt
  [ "$output" = hello ]
  as_user "$UMIMAGE" export "$W/u.img" /home >"$W/home.tar"
  tar -tf "$W/home.tar" | grep -q 'user/a.txt'
  # files of the user, owned by root inside the image
  as_user "$UMIMAGE" create "$W/r.img" --from "$W/src" --owner 0:0
  run as_user "$UMIMAGE" stat "$W/r.img" /a.txt
  [[ "$output" == *"Uid: 0  Gid: 0"* ]]
  as_user "$UMIMAGE" resize "$W/u.img" 128M
  fsck_clean "$W/u.img"
  [ "$(stat -c %U "$W/u.img")" = "$UM_TEST_USER" ]
}
