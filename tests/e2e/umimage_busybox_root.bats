#!/usr/bin/env bats
# The default root (`umimage create --busybox`) booted with its own init, as a new user does:
# login shells on tty1..tty3 that `umconsole attach VM N` reaches at once, a console shell
# that runs piped commands and does not spin once the console's input has ended, askfirst
# behaviour on a terminal.
load helpers
bats_require_minimum_version 1.5.0

wait_for() {  # polls "$@" for up to $1 seconds
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

setup_file() {
  export BASE_IMG="$BATS_FILE_TMPDIR/base.img"
  "$UMIMAGE" create "$BASE_IMG" --busybox --size 64M -q
}

setup() {
  IMG="$BATS_TEST_TMPDIR/root.img"
  cp --sparse=always "$BASE_IMG" "$IMG"
  export UML_DIR="$BATS_TEST_TMPDIR/uml"
  UMID="bb$$_$BATS_TEST_NUMBER"
  SESSION="umbb$$_$BATS_TEST_NUMBER"
}

teardown() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  if [ -f "$BATS_TEST_TMPDIR/vm.pid" ]; then
    local pid; pid=$(cat "$BATS_TEST_TMPDIR/vm.pid")
    kill "$pid" 2>/dev/null || true
    wait_for 20 sh -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
  fi
}

log_has() { "$UMCONSOLE" log "$UMID" "$1" 2>/dev/null | grep -q -- "$2"; }

# Boots the image with its default init in the background, stdin /dev/null.
boot_background() {
  "$UMKERNEL" ubd0="$IMG" umid="$UMID" </dev/null >"$BATS_TEST_TMPDIR/console.log" 2>&1 &
  echo $! >"$BATS_TEST_TMPDIR/vm.pid"
  wait_for 60 test -S "$UML_DIR/$UMID/con3"
}

@test "the default root runs login shells on tty1..tty3: umconsole reaches them at once" {
  boot_background
  for n in 1 2 3; do
    "$UMCONSOLE" send "$UMID" "$n" "echo tty$n-\$((6*7)) \$(tty)"
    wait_for 30 log_has "$n" "tty$n-42 /dev/tty$n"
  done
  # Interactive attach in a terminal: a prompt is there at once, typed commands run.
  command -v tmux >/dev/null || skip "tmux is not installed"
  tmux new-session -d -s "$SESSION" -x 100 -y 30 "UML_DIR='$UML_DIR' '$UMCONSOLE' attach '$UMID' 2"
  wait_for 20 sh -c "tmux capture-pane -p -t '$SESSION' | grep -q 'root@um:/#'"
  tmux send-keys -t "$SESSION" -l 'echo attached-$((6*7))'
  tmux send-keys -t "$SESSION" Enter
  wait_for 20 sh -c "tmux capture-pane -p -t '$SESSION' | grep -q '^attached-42'"
  # Each login shell has its tty as controlling terminal (4,N), so job control works there.
  run "$UMCONSOLE" exec "$UMID" -- ps -o pid,tty,args
  echo "$output"
  for n in 1 2 3; do grep -Eq "^ *[0-9]+ +4,$n +-/bin/sh\$" <<<"$output"; done
}

@test "with stdin /dev/null the console's shell does not spin: one shell, then quiet" {
  boot_background
  # The console script saw the end of input after the first shell and sleeps for good.
  wait_for 30 sh -c "'$UMCONSOLE' exec '$UMID' -- ps | grep -q 'sleep inf'"
  run "$UMCONSOLE" exec "$UMID" -- ps
  echo "$output"
  [ "$(grep -c 'sleep inf' <<<"$output")" -eq 1 ]
  [ "$(grep -c 'Please press Enter' "$BATS_TEST_TMPDIR/console.log")" -eq 1 ]
  # tty1..3 are quiet too: no socket console client ever ended their input.
  [ "$(grep -c -- '-/bin/sh$' <<<"$output")" -ge 3 ]
  "$UMCONSOLE" halt "$UMID"
  wait_for 30 sh -c "! kill -0 $(cat "$BATS_TEST_TMPDIR/vm.pid") 2>/dev/null"
}

@test "commands piped into umkernel run in the console's shell" {
  run timeout 60 sh -c "printf 'echo piped-\$((6*7))\nhostname\npoweroff -f\n' | '$UMKERNEL' ubd0='$IMG' umid='$UMID'"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *piped-42* ]]
  [[ "$output" == *$'\num'* ]]  # /etc/hostname, set by init's sysinit
}

@test "on a terminal, the console's next shell waits for Enter" {
  command -v tmux >/dev/null || skip "tmux is not installed"
  tmux new-session -d -s "$SESSION" -x 100 -y 30 "'$UMKERNEL' ubd0='$IMG' umid='$UMID'; sleep 30"
  local shot="tmux capture-pane -p -t $SESSION"
  wait_for 30 sh -c "$shot | grep -q 'root@um:/#'"
  tmux send-keys -t "$SESSION" -l 'exit'
  tmux send-keys -t "$SESSION" Enter
  wait_for 30 sh -c "$shot | grep -q 'Please press Enter to activate this console'"
  tmux send-keys -t "$SESSION" Enter
  tmux send-keys -t "$SESSION" -l 'echo again-$((6*7))'
  tmux send-keys -t "$SESSION" Enter
  wait_for 30 sh -c "$shot | grep -q '^again-42'"
  tmux send-keys -t "$SESSION" -l 'poweroff -f'
  tmux send-keys -t "$SESSION" Enter
}
