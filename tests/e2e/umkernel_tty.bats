#!/usr/bin/env bats
# umkernel terminals: the line discipline, job control and pseudo-terminals. Guest test
# programs run natively and under umkernel and must print the same; interactive tests drive
# busybox ash on the console through tmux.
load helpers

setup_file() {
  export BASE_IMG="$BATS_FILE_TMPDIR/base.img"
  "$UMIMAGE" create "$BASE_IMG" --busybox --size 64M
}

setup() {
  IMG="$BATS_TEST_TMPDIR/root.img"
  cp --sparse=always "$BASE_IMG" "$IMG"
  SESSION="umtty$$_${BATS_TEST_NUMBER}"
}

teardown() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
}

# Runs tests/guest/NAME natively and as init under umkernel; the outputs must be equal.
same_natively_and_guest() {
  local prog="$UM_GUEST_BIN/$1"
  [ -x "$prog" ] || skip "$prog not built (cmake --build ... --target guest_$1)"
  [ -c /dev/ptmx ] || skip "the host has no /dev/ptmx"
  timeout 60 "$prog" > "$BATS_TEST_TMPDIR/native.txt" 2>&1
  "$UMIMAGE" put "$IMG" "$prog" "/$1"
  timeout 60 "$UMKERNEL" ubd0="$IMG" init="/$1" </dev/null > "$BATS_TEST_TMPDIR/guest.txt" 2>/dev/null
  diff -u "$BATS_TEST_TMPDIR/native.txt" "$BATS_TEST_TMPDIR/guest.txt"
  grep -q . "$BATS_TEST_TMPDIR/native.txt"
}

# Boots busybox init with a shell on the console inside tmux.
boot_console_shell() {
  printf '::sysinit:/bin/mount -t proc proc /proc\n::respawn:-/bin/sh\n' > "$BATS_TEST_TMPDIR/inittab"
  "$UMIMAGE" rm "$IMG" /etc/inittab 2>/dev/null || true
  "$UMIMAGE" put "$IMG" "$BATS_TEST_TMPDIR/inittab" /etc/inittab
  # After umkernel: its exit status and whether the host terminal got its settings back.
  tmux new-session -d -s "$SESSION" -x 100 -y 40 "'$UMKERNEL' ubd0='$IMG' 2>'$BATS_TEST_TMPDIR/stderr'; echo \$? > '$BATS_TEST_TMPDIR/rc'; stty -a > '$BATS_TEST_TMPDIR/stty'; sleep 30"
  wait_screen 'built-in shell'
}

screen() { tmux capture-pane -p -t "$SESSION" -S -200; }

wait_screen() {  # waits until the screen matches the extended regex $1
  local i
  for i in $(seq 100); do
    screen | grep -Eq -- "$1" && return 0
    sleep 0.1
  done
  echo "--- screen (waiting for $1):"; screen
  return 1
}

type_line() { tmux send-keys -t "$SESSION" -l "$1"; tmux send-keys -t "$SESSION" Enter; }

@test "ptys and the line discipline behave as Linux (tty_pty)" {
  same_natively_and_guest tty_pty
}

@test "controlling terminals and job control behave as Linux (tty_jobctl)" {
  same_natively_and_guest tty_jobctl
}

@test "devpts is mounted at boot and mount -t devpts shows the same ptys" {
  run timeout 60 "$UMKERNEL" ubd0="$IMG" init=/bin/sh -- -c 'mount -t proc proc /proc; grep devpts /proc/mounts; mkdir -p /mnt; mount -t devpts devpts /mnt && ls /mnt; ls -l /dev/ptmx' </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"devpts /dev/pts devpts"* ]]
  [[ "$output" == *"ptmx"* ]]
  [[ "$output" == *"5,   2"* ]]
}

@test "console job control in busybox ash: ^Z, jobs, bg, fg, ^C" {
  command -v tmux >/dev/null || skip "tmux is not installed"
  boot_console_shell
  type_line 'sleep 100'
  sleep 0.5
  tmux send-keys -t "$SESSION" C-z
  wait_screen 'Stopped +sleep 100'
  type_line 'jobs'
  wait_screen 'jobs.*'
  wait_screen '\[1\]\+ +Stopped +sleep 100'
  type_line 'bg'
  type_line 'jobs'
  wait_screen '\[1\]\+ +Running +sleep 100'
  type_line 'fg'
  sleep 0.5
  tmux send-keys -t "$SESSION" C-c
  wait_screen '\^C'
  type_line 'echo status=$?'
  wait_screen '^status=130'
  # Canonical editing on the console: erase and kill.
  tmux send-keys -t "$SESSION" -l 'echo abX'
  tmux send-keys -t "$SESSION" BSpace
  tmux send-keys -t "$SESSION" -l 'c'
  tmux send-keys -t "$SESSION" Enter
  wait_screen '^abc$'
  # Resizing the host terminal resizes the console.
  tmux resize-window -t "$SESSION" -x 90 -y 25
  sleep 0.5
  type_line 'stty size'
  wait_screen '^25 90$'
  type_line 'poweroff -f'
  for i in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/stty" ] && break; sleep 0.1; done
  [ "$(cat "$BATS_TEST_TMPDIR/rc")" = 0 ]
  grep -Eq '(^| )icanon' "$BATS_TEST_TMPDIR/stty"  # the host terminal is cooked again
}

@test "script -q -c tty /dev/null runs on /dev/pts/0" {
  command -v tmux >/dev/null || skip "tmux is not installed"
  local script_cmd
  if busybox --list 2>/dev/null | grep -qx script; then
    script_cmd="script"
  elif [ -x /usr/bin/script ] && ldd /usr/bin/script >/dev/null 2>&1; then
    # util-linux script with its shared libraries (busybox-static of Debian has no script)
    local lib
    for lib in $(ldd /usr/bin/script | grep -o '/[^ ]*'); do
      "$UMIMAGE" mkdir -p "$IMG" "$(dirname "$lib")" 2>/dev/null || true
      "$UMIMAGE" put "$IMG" "$(readlink -f "$lib")" "$lib"
    done
    "$UMIMAGE" mkdir -p "$IMG" /usr/bin 2>/dev/null || true
    "$UMIMAGE" put "$IMG" /usr/bin/script /usr/bin/script.ul
    script_cmd="/usr/bin/script.ul"
  else
    skip "no script program"
  fi
  boot_console_shell
  type_line "$script_cmd -q -c 'tty' /dev/null; echo rc=\$?"
  wait_screen '^rc=0'
  screen | grep -x '/dev/pts/0'
  # Inside script the shell has a pty as its terminal with job control.
  type_line "$script_cmd -q -c 'stty size; sleep 5 & jobs; kill %1' /dev/null; echo rc2=\$?"
  wait_screen '^rc2='
  screen
  screen | grep -q 'Running'
  type_line 'poweroff -f'
}
