#!/usr/bin/env bats
# hostfs: host directories mounted in the guest (mount -t hostfs none /mnt -o DIR), only below
# the trees hostfs=DIR[,ro] allows. Normal use from both sides (live edits, a make/gcc build in
# a shared source tree with the host's own compiler mounted read-only), shared mappings and
# locks as on Linux, ownership for a rootless run, and attempts to leave the allowed tree, each
# asserted.
load helpers

setup_file() {
  W=$(mktemp -d /tmp/umhostfs.XXXXXX)
  chmod 755 "$W"
  export W
  "$UMIMAGE" create "$W/base.img" --busybox --size 48M >/dev/null
  for p in shared_mmap lock_deadlock lock_probe; do
    [ -x "$UM_GUEST_BIN/$p" ] && "$UMIMAGE" put "$W/base.img" "$UM_GUEST_BIN/$p" "/bin/$p" >/dev/null
  done
  # The guest's own copies of the host paths the escapes aim at: a symlink followed in the
  # guest's tree must land on these, never on the host's.
  echo GUEST-ABS > "$W/abs.txt"
  echo GUEST-REL > "$W/rel.txt"
  "$UMIMAGE" mkdir -p "$W/base.img" "$W/secret" >/dev/null
  "$UMIMAGE" mkdir -p "$W/base.img" /secret >/dev/null
  "$UMIMAGE" put "$W/base.img" "$W/abs.txt" "$W/secret/secret.txt" >/dev/null
  "$UMIMAGE" put "$W/base.img" "$W/rel.txt" /secret/secret.txt >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

setup() {
  cp --sparse=always "$W/base.img" "$W/root.img"
  rm -rf "$W/share" "$W/share2" "$W/ro" "$W/secret" "$W/escaped" "$W/moved.txt"
  mkdir -p "$W/share/sub/deeper" "$W/share2" "$W/ro" "$W/secret"
  echo HOST-SECRET > "$W/secret/secret.txt"
  echo HOST-SECRET > "$W/share2/secret.txt"
  echo "from the host" > "$W/share/host.txt"
  echo "read only" > "$W/ro/ro.txt"
  ln -s "$W/secret/secret.txt" "$W/share/abs-link"
  ln -s ../secret/secret.txt "$W/share/rel-link"
  ln -s "$W/secret" "$W/share/dir-link"
  ln -s ../secret "$W/share/reldir-link"
}

guest() {  # EXTRA-ARGS... -- SCRIPT: runs SCRIPT as init; output in $output
  local args=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "${args[@]}" init=/bin/sh -- -c \
    "mount -t proc proc /proc; $1" </dev/null
  echo "$output"
}

@test "files made and changed on either side are seen on the other; renames, links, modes, times" {
  guest "hostfs=$W/share" -- "
    mkdir -p /mnt && mount -t hostfs none /mnt -o $W/share || exit 1
    grep hostfs /proc/mounts
    cat /mnt/host.txt
    echo 'from the guest' > /mnt/guest.txt
    mkdir /mnt/gdir && mv /mnt/guest.txt /mnt/gdir/moved.txt
    ln -s moved.txt /mnt/gdir/link && cat /mnt/gdir/link
    ln /mnt/gdir/moved.txt /mnt/hard && stat -c 'links %h owner %u:%g' /mnt/hard
    chmod 640 /mnt/hard
    echo appended >> /mnt/host.txt
    echo gone > /mnt/gone && rm /mnt/gone
    mkdir /mnt/gdir/empty && rmdir /mnt/gdir/empty
    ls /mnt | tr '\n' ' '; echo
    umount /mnt && echo unmounted"
  [ "$status" -eq 0 ]
  [[ "$output" == *"none /mnt hostfs rw"* ]]
  [[ "$output" == *"from the host"* ]]
  [[ "$output" == *"links 2 owner 0:0"* ]]
  [[ "$output" == *"abs-link dir-link gdir hard host.txt rel-link reldir-link sub"* ]]
  [[ "$output" == *unmounted* ]]
  [ "$(cat "$W/share/gdir/moved.txt")" = "from the guest" ]
  [ "$(readlink "$W/share/gdir/link")" = moved.txt ]
  [ "$(stat -c '%a %h %i' "$W/share/hard")" = "640 2 $(stat -c %i "$W/share/gdir/moved.txt")" ]
  [ "$(cat "$W/share/host.txt")" = $'from the host\nappended' ]
  [ ! -e "$W/share/gone" ] && [ ! -e "$W/share/gdir/empty" ]
  [ "$(stat -c %u "$W/share/gdir/moved.txt")" = "$(id -u)" ]
}

@test "live edits: the host sees the guest's writes at once and the guest the host's" {
  rm -f "$W/go"; mkfifo "$W/go"
  timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "hostfs=$W/share" init=/bin/sh -- -c "
    mount -t hostfs none /mnt -o $W/share
    echo 'guest line 1' > /mnt/live.txt
    echo READY
    read x
    cat /mnt/from-host-later.txt; cat /mnt/live.txt" <"$W/go" >"$W/live.log" 2>&1 &
  vm=$!
  exec {go}>"$W/go"
  for _ in $(seq 1 900); do grep -q READY "$W/live.log" && break; kill -0 $vm || break; sleep 0.1; done
  [ "$(cat "$W/share/live.txt")" = "guest line 1" ]
  echo "host made this while the VM ran" > "$W/share/from-host-later.txt"
  echo "host line 2" >> "$W/share/live.txt"
  echo go >&$go
  exec {go}>&-
  wait $vm
  cat "$W/live.log"
  grep -q "host made this while the VM ran" "$W/live.log"
  grep -q "host line 2" "$W/live.log"
}

@test "a build in a shared source tree with the host's compiler mounted read-only; make sees host edits" {
  command -v gcc >/dev/null && command -v make >/dev/null || skip "no gcc/make on the host"
  mkdir -p "$W/share/src"
  cat > "$W/share/src/main.c" <<'C'
#include <stdio.h>
#include "util.h"
int main(void) { printf("answer %d\n", answer()); return 0; }
C
  printf 'int answer(void);\n' > "$W/share/src/util.h"
  printf '#include "util.h"\nint answer(void) { return 41; }\n' > "$W/share/src/util.c"
  printf 'app: main.o util.o\n\tgcc -o app main.o util.o\n%%.o: %%.c util.h\n\tgcc -O2 -c $<\n' > "$W/share/src/Makefile"
  touch -d '2020-01-01 00:00' "$W/share/src/"*   # sources older than anything built from them
  local setup="mount -t hostfs none /usr -o /usr || exit 1
    [ -L /lib ] || { rmdir /lib && ln -s usr/lib /lib; }; [ -L /lib64 ] || ln -s usr/lib64 /lib64
    export PATH=/usr/bin:/bin
    mkdir -p /src && mount -t hostfs none /src -o $W/share/src || exit 1
    cd /src"
  guest "hostfs=$W/share" "hostfs=/usr,ro" -- "$setup; make && ./app"
  [ "$status" -eq 0 ]
  [[ "$output" == *"answer 41"* ]]
  [ "$("$W/share/src/app")" = "answer 41" ]     # the guest's build runs on the host
  touch -d '2020-01-02 00:00' "$W/share/src/"*.o "$W/share/src/app"   # built after the sources...
  printf '#include "util.h"\nint answer(void) { return 42; }\n' > "$W/share/src/util.c"  # ...but a host edit is newer
  guest "hostfs=$W/share" "hostfs=/usr,ro" -- "$setup; make; ./app; touch /usr/x 2>&1 || echo touch-refused"
  [ "$status" -eq 0 ]
  [[ "$output" == *"gcc -O2 -c util.c"* ]]
  [[ "$output" != *"main.c"* ]]
  [[ "$output" == *"answer 42"* ]]
  [[ "$output" == *"Read-only file system"*touch-refused* ]]
  [ ! -e /usr/x ]
}

@test "MAP_SHARED mappings of host files and record locks behave as on Linux" {
  [ -x "$UM_GUEST_BIN/shared_mmap" ] && [ -x "$UM_GUEST_BIN/lock_deadlock" ] || skip "guest programs not built"
  mkdir "$W/native1" "$W/native2"
  native=$("$UM_GUEST_BIN/shared_mmap" "$W/native1" 2>&1; "$UM_GUEST_BIN/lock_deadlock" "$W/native2" 2>&1)
  guest "hostfs=$W/share" -- "mount -t hostfs none /mnt -o $W/share; mkdir /mnt/a /mnt/b
    /bin/shared_mmap /mnt/a; /bin/lock_deadlock /mnt/b; /bin/shared_mmap /mnt store >/dev/null"
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ] || { diff <(echo "$native") <(echo "$output"); false; }
  [ "$(head -c 20 "$W/share/store.dat")" = "stored-without-msync" ]
}

@test "flock and fcntl locks exclude host and guest processes both ways" {
  PROBE="$UM_GUEST_BIN/lock_probe"
  [ -x "$PROBE" ] || skip "guest program lock_probe not built"
  for kind in flock posix; do
    f="$W/share/$kind.lock"
    # a host process holds it: the guest is refused, and one waiting gets it once it is let go
    rm -f "$W/hostgo"; mkfifo "$W/hostgo"
    "$PROBE" $kind hold "$f" <"$W/hostgo" >"$W/host.out" &
    holder=$!
    exec {hostgo}>"$W/hostgo"
    until grep -q HELD "$W/host.out"; do kill -0 $holder; sleep 0.05; done
    rm -f "$W/go"; mkfifo "$W/go"
    timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" "hostfs=$W/share" init=/bin/sh -- -c "
      mount -t hostfs none /mnt -o $W/share
      echo try: \$(/bin/lock_probe $kind try /mnt/$kind.lock)
      echo WAITING; /bin/lock_probe $kind wait /mnt/$kind.lock
      /bin/lock_probe $kind hold /mnt/$kind.lock" <"$W/go" >"$W/vm.out" 2>&1 &
    vm=$!
    exec {go}>"$W/go"
    until grep -q WAITING "$W/vm.out"; do kill -0 $vm; sleep 0.05; done
    echo >&$hostgo; exec {hostgo}>&-; wait $holder
    # the guest now gets it, then holds it: host processes are refused
    until grep -q HELD "$W/vm.out"; do kill -0 $vm; sleep 0.05; done
    host_try=$("$PROBE" $kind try "$f")
    echo >&$go; exec {go}>&-
    wait $vm
    cat "$W/vm.out"
    grep -q "try: busy" "$W/vm.out"
    grep -q "got it" "$W/vm.out"
    [ "$host_try" = busy ]
    [ "$("$PROBE" $kind try "$f")" = locked ]     # released with the VM
  done
}

@test "a read-only tree stays read-only, also after a remount" {
  guest "hostfs=$W/ro,ro" -- "mount -t hostfs none /mnt -o $W/ro
    cat /mnt/ro.txt
    echo x > /mnt/new 2>/dev/null || echo write-refused
    rm -f /mnt/ro.txt 2>/dev/null || echo rm-refused
    mount -o remount,rw /mnt 2>/dev/null || echo remount-refused
    echo x > /mnt/ro.txt 2>/dev/null || echo still-refused
    grep ' /mnt ' /proc/mounts"
  [ "$status" -eq 0 ]
  [[ "$output" == *"read only"*write-refused*rm-refused*remount-refused*still-refused*"hostfs ro"* ]]
  [ "$(cat "$W/ro/ro.txt")" = "read only" ] && [ ! -e "$W/ro/new" ]
}

@test "without hostfs= nothing on the host can be mounted; bad hostfs= values are one clear line" {
  guest -- "mkdir -p /m; mount -t hostfs none /m -o $W/share 2>&1; mount -t hostfs none /m 2>&1; ls /m | wc -l"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | grep -c 'permission denied')" = 2 ]   # EPERM, in busybox mount's words
  [ "$(echo "$output" | tail -1)" = 0 ]
  run "$UMKERNEL" quiet "ubd0=$W/root.img" "hostfs=$W/nonexistent"
  [ "$status" -eq 1 ]
  [ "$output" = "umkernel: error: hostfs=$W/nonexistent: No such file or directory" ]
  run "$UMKERNEL" "ubd0=$W/root.img" "hostfs=$W/share,append"
  [ "$status" -ne 0 ]
  [[ "$output" == *"hostfs=$W/share,append: the append flag is not supported"* ]]
  run "$UMKERNEL" "ubd0=$W/root.img" "hostfs=$W/share,rx"
  [ "$status" -ne 0 ]
  [[ "$output" == *"unknown flag 'rx' (flags: ro, rw)"* ]]
}

@test "UML's mount syntax variants: -o PATH, -o hostfs=PATH, a path relative to the tree, none" {
  guest "hostfs=$W/share" -- "mkdir -p /a /b /c /d
    mount -t hostfs none /a -o $W/share/sub && echo a-ok
    mount -t hostfs none /b -o hostfs=$W/share/sub && echo b-ok
    mount -t hostfs none /c -o /sub && echo c-ok
    mount -t hostfs none /d && echo d-ok
    ls -d /a/deeper /b/deeper /c/deeper /d/sub/deeper"
  [ "$status" -eq 0 ]
  [[ "$output" == *a-ok*b-ok*c-ok*d-ok*"/a/deeper"*"/b/deeper"*"/c/deeper"*"/d/sub/deeper"* ]]
}

# Each numbered attempt tries to reach a host file outside the allowed tree. Wherever a guest
# path would lead, it must end on the guest's own files (GUEST-ABS, GUEST-REL) or fail: never
# on HOST-SECRET, and nothing may appear outside the tree on the host.
@test "escape attempts: none leaves the allowed tree" {
  if [ "$(id -u)" = 0 ]; then mknod "$W/share/hostzero" c 1 5; fi
  guest "hostfs=$W/share" -- "mkdir -p /mnt /m2 && mount -t hostfs none /mnt -o $W/share || exit 1
    echo 1 \$(cat /mnt/abs-link 2>&1)
    echo 2 \$(cat /mnt/rel-link 2>&1)
    echo 3 \$(cat /mnt/dir-link/secret.txt 2>&1)
    echo 4 \$(cat /mnt/reldir-link/secret.txt 2>&1)
    echo 5 \$(cat /mnt/../secret/secret.txt /mnt/sub/deeper/../../../secret/secret.txt 2>&1)
    ln /mnt/host.txt /root/hl 2>/dev/null; ln /etc/passwd /mnt/pw 2>/dev/null; echo 6 \$? \$(ls /root | grep -c hl)
    exec 4</mnt
    echo 8 \$(readlink /proc/self/fd/4) \$(ls /proc/self/fd/4/.. | tr '\n' ' ') \$(cat /proc/self/fd/4/../secret/secret.txt)
    for o in $W/secret $W/share/../secret $W/share2 $W/share/dir-link $W/share/reldir-link hostfs=/etc \
             /proc/self/root/etc ../secret $W/share,$W/secret hostfs=$W/share/.. $W/share/sub/../..; do
      if mount -t hostfs none /m2 -o \$o 2>/dev/null; then echo \"9 MOUNTED \$o\"; ls /m2; umount /m2; else echo 9 refused; fi
    done
    mknod /mnt/null c 1 3 2>/dev/null; echo 10 \$? \$(ls /mnt/null 2>&1 | grep -c 'No such')
    head -c 4 /mnt/hostzero >/dev/null 2>&1; echo 11 \$?
    ln -s $W/secret /mnt/guest-made-link && echo 12 \$(cat /mnt/guest-made-link/secret.txt)
    cd /mnt/sub/deeper && cd -P ../../.. && echo 13 \$(pwd) \$(cat secret/secret.txt)
    cd /; mount --bind /mnt/sub/deeper /m2 && echo 14 \$(cat /m2/../secret/secret.txt 2>&1); umount /m2
    mv /mnt/sub /mnt/../escaped; echo 15 \$(ls /escaped)"
  [ "$status" -eq 0 ]
  [[ "$output" != *HOST-SECRET* ]]
  line() { echo "$output" | grep "^$1 "; }
  [ "$(line 1)" = "1 GUEST-ABS" ]                    # absolute symlink: the guest's own path
  [ "$(line 2)" = "2 GUEST-REL" ]                    # relative symlink climbing out: guest's /secret
  [ "$(line 3)" = "3 GUEST-ABS" ]                    # directory symlink
  [ "$(line 4)" = "4 GUEST-REL" ]
  [ "$(line 5)" = "5 GUEST-REL GUEST-REL" ]          # ".." stops at the mount, as any file system
  [ "$(line 6)" = "6 1 0" ] && [ ! -e "$W/share/pw" ]  # hard links across the tree's edge: EXDEV
  [[ "$(line 8)" == "8 /mnt "*"secret"*"GUEST-REL" ]] && [[ "$(line 8)" != *"$W"* ]]
  [ "$(echo "$output" | grep -c '^9 refused$')" = 11 ]
  [ "$(line 10)" = "10 1 1" ] && [ ! -e "$W/share/null" ]  # no device nodes on the host
  [ "$(line 11)" = "11 1" ]                          # a host device node is not opened (nodev)
  [ "$(line 12)" = "12 GUEST-ABS" ] && [ "$(readlink "$W/share/guest-made-link")" = "$W/secret" ]
  [ "$(line 13)" = "13 / GUEST-REL" ]
  [ "$(line 14)" = "14 GUEST-REL" ]                 # ".." of a bind mount of a hostfs directory
  [ "$(line 15)" = "15 deeper" ] && [ ! -e "$W/escaped" ] && [ ! -e "$W/share/sub" ]  # renamed out: a copy in the guest
  [ "$(cat "$W/secret/secret.txt")" = HOST-SECRET ] && [ "$(ls "$W/secret")" = secret.txt ]
}

@test "escape: a symlink swapped in for a directory during lookups never leads the guest out" {
  mkdir -p "$W/share/race"
  echo SAFE > "$W/share/race/secret.txt"
  # The host swaps share/race between the real directory and a symlink to the secret, while
  # the guest reads share/race/secret.txt over and over.
  (
    for _ in $(seq 1 4000); do
      mv -T "$W/share/race" "$W/share/race.d" 2>/dev/null
      ln -sfn "$W/secret" "$W/share/race"
      rm -f "$W/share/race"
      mv -T "$W/share/race.d" "$W/share/race" 2>/dev/null
      [ -e "$W/stop" ] && break
    done
  ) &
  swapper=$!
  guest "hostfs=$W/share" -- "mount -t hostfs none /mnt -o $W/share
    i=0; while [ \$i -lt 1500 ]; do cat /mnt/race/secret.txt 2>/dev/null; i=\$((i+1)); done | sort | uniq -c"
  touch "$W/stop"
  wait $swapper || true
  rm -f "$W/stop"
  [ "$status" -eq 0 ]
  [[ "$output" == *SAFE* ]]
  [[ "$output" != *HOST-SECRET* ]]
}

@test "rootless: the user's files are root's in the guest, others' are nobody's, chown to others fails" {
  [ "$(id -u)" = 0 ] || skip "needs root to set up a second user"
  id "$UM_TEST_USER" >/dev/null 2>&1 || skip "no $UM_TEST_USER user"
  D=$(user_dir)
  cp --sparse=always "$W/root.img" "$D/root.img"
  chmod 666 "$D/root.img"
  mkdir "$D/share"
  chown "$UM_TEST_USER:" "$D/share"
  echo mine > "$D/share/mine.txt" && chown "$UM_TEST_USER:" "$D/share/mine.txt"
  echo roots > "$D/share/roots.txt" && chmod 644 "$D/share/roots.txt"
  run as_user timeout 120 "$UMKERNEL" quiet "ubd0=$D/root.img" "hostfs=$D/share" "uml_dir=$D/uml" init=/bin/sh -- -c "
    mount -t hostfs none /mnt -o $D/share || exit 1
    stat -c '%n %u:%g' /mnt/mine.txt /mnt/roots.txt
    echo new > /mnt/new.txt && stat -c '%n %u:%g' /mnt/new.txt
    chown 0:0 /mnt/new.txt && echo chown-same-ok
    chown 1000 /mnt/new.txt 2>/dev/null || echo chown-other-refused
    echo x >> /mnt/roots.txt 2>/dev/null || echo host-permission-kept" </dev/null
  echo "$output"
  owner=$(stat -c %U "$D/share/new.txt" 2>/dev/null || true)
  rm -rf "$D"
  [ "$status" -eq 0 ]
  [ "$owner" = "$UM_TEST_USER" ]
  [[ "$output" == *"/mnt/mine.txt 0:0"*"/mnt/roots.txt 65534:65534"*"/mnt/new.txt 0:0"* ]]
  [[ "$output" == *chown-same-ok*chown-other-refused*host-permission-kept* ]]
}
