#!/usr/bin/env bats
# umkernel: boots busybox images made by umimage and runs real programs inside.
load helpers

setup_file() {
  export BASE_IMG="$BATS_FILE_TMPDIR/base.img"
  "$UMIMAGE" create "$BASE_IMG" --busybox --size 64M
}

setup() {
  IMG="$BATS_TEST_TMPDIR/root.img"
  cp --sparse=always "$BASE_IMG" "$IMG"
}

boot() {  # boot IMG with init=/bin/sh -c "$1"; output in $output, status in $status
  run timeout 60 "$UMKERNEL" ubd0="$IMG" quiet init=/bin/sh -- -c "$1" </dev/null
}

@test "init's exit status is umkernel's exit status" {
  boot 'echo hello from the guest; exit 42'
  [ "$status" -eq 42 ]
  [ "$output" = "hello from the guest" ]
}

@test "exit statuses of init come through unchanged" {
  boot 'exit 0'
  [ "$status" -eq 0 ]
  boot 'false'
  [ "$status" -eq 1 ]
  boot 'sh -c "exit 3"'
  [ "$status" -eq 3 ]
}

@test "a busybox shell script exercises files, text tools, archives, jobs and signals" {
  "$UMIMAGE" put "$IMG" "$BATS_TEST_DIRNAME/data/busybox_workout.sh" /workout.sh
  boot 'sh /workout.sh'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"deep"* ]]
  [[ "$output" == *"/tmp/a2: b /tmp/a2/b: c /tmp/a2/b/c: f"* ]] || [[ "$output" == *"/tmp/a2/b/c:"* ]]
  [[ "$output" == *"/tmp/a/b/c/f"* ]]
  [[ "$output" == *"world"* ]]
  [[ "$output" == *" 2 a"* ]]
  [[ "$output" == *"aBc"* ]]
  [[ "$output" == *"1000"* ]]
  [[ "$output" == *"gzip round trip ok"* ]]
  [[ "$output" == *"102400"* ]]
  [[ "$output" == *"subshell"* ]]
  [[ "$output" == *"captured"* ]]
  [[ "$output" == *"background jobs waited"* ]]
  [[ "$output" == *"caught USR1"* ]]
  [[ "$output" == *"child status 7"* ]]
  [[ "$output" == *"killed status 143"* ]]
  [[ "$output" == *"== end"* ]]
  # What the guest wrote is in the image, and the image is clean.
  run "$UMIMAGE" cat "$IMG" /persisted.txt
  [ "$output" = "written by the guest" ]
  run e2fsck -fn "$IMG"
  [ "$status" -eq 0 ]
}

@test "pipelines and redirections move data intact" {
  boot 'dd if=/dev/urandom of=/tmp/r bs=64k count=32 2>/dev/null; cat /tmp/r | gzip | gunzip | md5sum | cut -d" " -f1; md5sum /tmp/r | cut -d" " -f1'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "${lines[1]}" ]
}

@test "busybox init with an inittab boots to a shell on the console and poweroff ends the VM" {
  printf '::sysinit:/bin/mount -t proc proc /proc\n::respawn:-/bin/sh\n::shutdown:/bin/echo shutdown actions ran\n' > "$BATS_TEST_TMPDIR/inittab"
  "$UMIMAGE" rm "$IMG" /etc/inittab 2>/dev/null || true
  "$UMIMAGE" put "$IMG" "$BATS_TEST_TMPDIR/inittab" /etc/inittab
  run timeout 60 bash -c "(sleep 1; echo 'echo shell-is-up; poweroff') | '$UMKERNEL' ubd0='$IMG'"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"shell-is-up"* ]]
  [[ "$output" == *"shutdown actions ran"* ]]
  run e2fsck -fn "$IMG"
  [ "$status" -eq 0 ]
}

@test "ps and /proc show the guest's processes, not the host's" {
  boot 'mount -t proc proc /proc; sleep 5 & ps; echo count=$(ls -d /proc/[0-9]* | wc -l); cat /proc/1/cmdline | tr "\0" " "; echo; kill %1'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"sleep 5"* ]]
  count=$(echo "$output" | sed -n 's/^count=//p')
  [ "$count" -ge 2 ] && [ "$count" -le 5 ]
  [[ "$output" == *"/bin/sh -c"* ]]
}

@test "the guest cannot reach host files" {
  echo "host secret" > "$BATS_TEST_TMPDIR/secret"
  boot "mount -t proc proc /proc
    cat /proc/1/root$BATS_TEST_TMPDIR/secret 2>/dev/null && echo LEAK1
    cat $BATS_TEST_TMPDIR/secret 2>/dev/null && echo LEAK2
    cd / && cat ../../../../..$BATS_TEST_TMPDIR/secret 2>/dev/null && echo LEAK3
    ls /../../.. | grep -q persisted && echo LEAK4
    ln -s $BATS_TEST_TMPDIR/secret /escape && cat /escape 2>/dev/null && echo LEAK5
    ln -s ../../../../../..$BATS_TEST_TMPDIR/secret /up && cat /up 2>/dev/null && echo LEAK6
    cd /proc/self/cwd/../../.. && cat .$BATS_TEST_TMPDIR/secret 2>/dev/null && echo LEAK7
    for fd in 3 4 5 10 100 1000; do (cat <&\$fd) 2>/dev/null && echo LEAK-fd\$fd; done
    ls /proc/1/fd | tr '\n' ' '; echo
    echo done"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" != *LEAK* ]]
  [[ "$output" == *"0 1 2"* ]]
  [[ "$output" == *done* ]]
}

@test "umkernel runs as an unprivileged user" {
  local dir
  dir=$(user_dir)
  mv "$IMG" "$dir/root.img"
  [ "$(id -u)" != 0 ] || chown "$UM_TEST_USER" "$dir/root.img"
  IMG="$dir/root.img"
  run as_user env HOME="$dir" timeout 60 "$UMKERNEL" ubd0="$IMG" quiet init=/bin/sh -- -c 'id -u; echo written > /by-user; echo ok' </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"0"* ]]
  [[ "$output" == *"ok"* ]]
  run "$UMIMAGE" cat "$IMG" /by-user
  [ "$output" = "written" ]
  rm -rf "$dir"
}

@test "strace= logs guest system calls with decoded arguments" {
  run timeout 60 "$UMKERNEL" ubd0="$IMG" strace="$BATS_TEST_TMPDIR/trace" init=/bin/sh -- -c 'cat /etc/hostname >/dev/null; cat /nonexistent 2>/dev/null; busybox nc 127.0.0.1 9 </dev/null 2>/dev/null; true' </dev/null
  [ "$status" -eq 0 ]
  grep -q '^\[pid 1\] execve\|^\[pid [0-9]*\] openat(AT_FDCWD, "/etc/hostname", ' "$BATS_TEST_TMPDIR/trace"
  grep -q 'openat(AT_FDCWD, "/nonexistent", O_RDONLY.*= -1 ENOENT' "$BATS_TEST_TMPDIR/trace"
  grep -q 'wait4(' "$BATS_TEST_TMPDIR/trace"
  # execve's path and argv as they were before the exec replaced the memory holding them
  grep -q '^\[pid [0-9]*\] execve("/bin/cat", \["cat", "/etc/hostname"\], 0x[0-9a-f]* /\* [0-9]* vars\? \*/) = 0$' "$BATS_TEST_TMPDIR/trace"
  grep -q 'connect([0-9]*, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED' "$BATS_TEST_TMPDIR/trace"
}

@test "permissions follow guest credentials" {
  boot 'echo secret > /root-only; chmod 600 /root-only; adduser -D -H -u 1000 alice 2>/dev/null || echo "alice:x:1000:1000::/:/bin/sh" >> /etc/passwd
    su alice -s /bin/sh -c "cat /root-only" 2>&1 || echo "denied as expected"
    su alice -s /bin/sh -c "id -u; echo x > /not-allowed" 2>&1 || echo "write denied"'
  echo "$output"
  [[ "$output" == *"denied as expected"* ]]
  [[ "$output" == *"1000"* ]]
  [[ "$output" == *"write denied"* ]]
}

@test "bad command lines are clear errors" {
  run "$UMKERNEL"
  [ "$status" -eq 2 ]
  [[ "$output" == *"no root disk"* ]]
  run "$UMKERNEL" ubd0="$IMG" bogus=1
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown option"* ]]
  run "$UMKERNEL" ubd0="$IMG" mem=lots
  [ "$status" -eq 2 ]
  run "$UMKERNEL" ubd0="$BATS_TEST_TMPDIR/missing.img"
  [ "$status" -eq 1 ]
  [[ "$output" == *"ubd0"* ]]
  head -c 1M /dev/urandom > "$BATS_TEST_TMPDIR/garbage.img"
  run "$UMKERNEL" ubd0="$BATS_TEST_TMPDIR/garbage.img"
  [ "$status" -eq 1 ]
  run "$UMKERNEL" ubd0="$IMG" init=/no/such/init
  [ "$status" -eq 1 ]
  [[ "$output" == *"/no/such/init"* ]]
  run "$UMKERNEL" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"ubd0"* ]]
}

@test "a read-only root refuses writes" {
  run timeout 60 "$UMKERNEL" ubd0="$IMG" ro init=/bin/sh -- -c 'echo x > /newfile || echo refused; cat /etc/passwd | head -1' </dev/null
  echo "$output"
  [[ "$output" == *"refused"* ]]
  [[ "$output" == *"root:"* ]]
  run "$UMIMAGE" cat "$IMG" /newfile
  [ "$status" -ne 0 ]
}

@test "random system calls with random arguments never take the kernel down" {
  "$UMIMAGE" put "$IMG" "$UM_GUEST_BIN/sysfuzz" /sysfuzz
  for seed in 1 2 3; do
    run timeout 300 "$UMKERNEL" ubd0="$IMG" quiet init=/sysfuzz -- 40 60 "$seed" </dev/null
    echo "seed $seed: status $status: $output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"sysfuzz: 40 rounds done"* ]]
  done
  run e2fsck -fn "$IMG"
  [ "$status" -eq 0 ]
}

@test "a FIFO opened read-write (sh's <>) is both ends at once, as on Linux" {
  boot 'mount -t tmpfs t /tmp; mkfifo /tmp/ff; exec 3<>/tmp/ff; echo through-rdwr-fifo >&3; read a <&3; echo "got: $a"
        (echo from-a-writer > /tmp/ff &); read b <&3; echo "got: $b"'
  [ "$status" -eq 0 ]
  [[ "$output" == *"got: through-rdwr-fifo"* ]]
  [[ "$output" == *"got: from-a-writer"* ]]
}
