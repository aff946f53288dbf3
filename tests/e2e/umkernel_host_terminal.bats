#!/usr/bin/env bats
# umkernel on a host terminal, as people and scripts run it: under timeout, in the background
# and brought back with fg, under make, nohup and setsid, in a pipeline; never stopped by
# SIGTTOU/SIGTTIN, and the terminal's settings are back as they were after every way out
# (power-off, SIGTERM, a crash, init killed by SIGKILL). A real interactive bash in tmux is the
# terminal; `script` gives a pty to a command under timeout.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  command -v tmux >/dev/null || skip "tmux is not installed"
  export IMG="$BATS_FILE_TMPDIR/root.img"
  "$UMIMAGE" create "$IMG" --busybox --size 64M -q
}

setup() {
  command -v tmux >/dev/null || skip "tmux is not installed"
  SESSION="umhostterm$$_${BATS_TEST_NUMBER}"
  T="$BATS_TEST_TMPDIR"
  export UML_DIR="$T/uml"
  tmux new-session -d -s "$SESSION" -x 120 -y 40 \
    "env -i PATH='$PATH' HOME='$T' UML_DIR='$UML_DIR' TERM=xterm PS1='host\$ ' bash --norc --noprofile -i"
  wait_screen '^host\$'
}

teardown() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  local pid
  for pid in $(cat "$T"/*.pid 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
}

screen() { tmux capture-pane -p -t "$SESSION" -S -300; }

wait_screen() {  # waits (up to 20 s) until the screen matches the extended regex $1
  local i
  for i in $(seq 200); do
    screen | grep -Eq -- "$1" && return 0
    sleep 0.1
  done
  echo "--- screen (waiting for $1):"; screen
  return 1
}

wait_file() {  # waits (up to 30 s) until file $1 is not empty
  local i
  for i in $(seq 300); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  echo "--- $1 stays empty; screen:"; screen
  return 1
}

VM_SEQ=0
type_line() { tmux send-keys -t "$SESSION" -l "$1"; tmux send-keys -t "$SESSION" Enter; }

# The terminal's settings as `stty -g` prints them, saved by the shell in the tmux pane.
save_stty() { type_line "stty -g > '$T/$1'"; wait_file "$T/$1"; }

@test "under timeout in a terminal umkernel takes it, and gives it back" {
  save_stty before
  # From an interactive shell timeout and umkernel are the foreground job: umkernel takes the
  # terminal as any full-screen program does.
  type_line "timeout 60 '$UMKERNEL' ubd0='$IMG' umid=to init=/bin/sh -- -c 'echo guest-\$((6*7)); stty size; sleep 600'; echo rc=\$? > '$T/rc'"
  wait_screen '^guest-42'
  kill -TERM "$(cat "$UML_DIR/to/pid")"
  wait_file "$T/rc"
  [ "$(cat "$T/rc")" = rc=143 ]
  save_stty after
  diff "$T/before" "$T/after"
}

@test "under timeout in a script umkernel runs in the background, never stopped, and leaves the terminal alone" {
  # A shell without job control: timeout makes its own process group, which is not the
  # terminal's foreground; timeout's child gets SIGTTOU/SIGTTIN back at their default.
  printf '%s\n' "timeout 60 '$UMKERNEL' ubd0='$IMG' umid=bg init=/bin/sh -- -c 'echo guest-\$((6*7)); sleep 600'" \
    "echo rc=\$? > '$T/rc'" >"$T/run.sh"
  save_stty before
  type_line "sh '$T/run.sh'"
  wait_screen '^guest-42'
  stty -g <"$(tmux display -p -t "$SESSION" '#{pane_tty}')" >"$T/while_running"
  diff "$T/before" "$T/while_running"
  kill -TERM "$(cat "$UML_DIR/bg/pid")"
  wait_file "$T/rc"
  [ "$(cat "$T/rc")" = rc=143 ]
  save_stty after
  diff "$T/before" "$T/after"
}

@test "script gives a real pty to a script that runs umkernel under timeout" {
  printf '%s\n' "timeout 30 '$UMKERNEL' ubd0='$IMG' init=/bin/sh -- -c 'echo guest-\$((6*7)); [ -t 0 ] && echo on-a-tty'" \
    'echo rc=$?' >"$BATS_TEST_TMPDIR/run.sh"
  run timeout 60 script -qec "sh '$BATS_TEST_TMPDIR/run.sh'" /dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *guest-42* ]]
  [[ "$output" == *on-a-tty* ]]
  [[ "$output" == *rc=0* ]]
}

@test "a background umkernel is not stopped, leaves input to the shell, and takes the terminal on fg" {
  save_stty before
  # The guest reads commands with `read`: ash's line editing would ask the terminal for the
  # cursor position, and from the background the answer would go to bash.
  type_line "'$UMKERNEL' ubd0='$IMG' umid=bg init=/bin/sh -- -c 'while read -r l; do eval \"\$l\"; done' &"
  wait_screen '^\[1\] [0-9]+'
  # The shell still reads the terminal, and the job is running, not stopped.
  type_line 'echo host-$((6*7)); jobs'
  wait_screen '^host-42'
  wait_screen '^\[1\]\+ +Running'
  save_stty in_background
  diff "$T/before" "$T/in_background"
  type_line 'fg'
  sleep 0.5  # the guest shell's prompt came long ago; fg takes a moment to reach umkernel
  type_line 'echo guest-$(uname -r)'
  wait_screen '^guest-.*um'
  pid=$(cat "$UML_DIR/bg/pid")
  type_line 'exit'
  # What is typed before umkernel has gone would be the console's input, not the shell's.
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null
  save_stty after
  diff "$T/before" "$T/after"
}

@test "SIGTSTP gives the terminal back and stops umkernel; fg takes it again" {
  save_stty before
  type_line "'$UMKERNEL' ubd0='$IMG' umid=tstp init=/bin/sh; echo rc=\$? > '$T/rc'"
  wait_screen '^/ #'
  kill -TSTP "$(cat "$UML_DIR/tstp/pid")"
  wait_screen '^\[1\]\+ +Stopped'
  save_stty stopped
  diff "$T/before" "$T/stopped"
  wait_file "$T/rc"
  [ "$(cat "$T/rc")" = rc=147 ]  # bash went on with the list when the job stopped (128+SIGSTOP)
  type_line "fg; echo rc=\$? > '$T/rc2'"
  sleep 0.5
  type_line 'echo back-$((6*7))'
  wait_screen '^back-42'
  type_line 'exit 3'
  wait_file "$T/rc2"
  [ "$(cat "$T/rc2")" = rc=3 ]
  save_stty after
  diff "$T/before" "$T/after"
}

# Boots init=/bin/sh in the foreground, ends it with `$@` from outside, and checks the exit
# status ($1) and that the terminal's settings are back.
end_foreground_vm() {
  local want=$1; shift
  local umid=fg$((++VM_SEQ))
  rm -f "$T/rc" "$T/before" "$T/after"
  save_stty before
  type_line "'$UMKERNEL' ubd0='$IMG' umid=$umid init=/bin/sh -- -c 'echo ready-$umid; sleep 600'; echo rc=\$? > '$T/rc'"
  wait_screen "^ready-$umid\$"
  UMID=$umid "$@"
  wait_file "$T/rc"
  [ "$(cat "$T/rc")" = "rc=$want" ]
  save_stty after
  diff "$T/before" "$T/after"
}

@test "the terminal is restored after SIGTERM to umkernel" {
  end_foreground_vm 143 sh -c 'kill -TERM "$(cat "$UML_DIR/$UMID/pid")"'
}

@test "the terminal is restored after umkernel crashes (SIGSEGV, SIGQUIT)" {
  end_foreground_vm 139 sh -c 'kill -SEGV "$(cat "$UML_DIR/$UMID/pid")"'
  end_foreground_vm 131 sh -c 'kill -QUIT "$(cat "$UML_DIR/$UMID/pid")"'
}

@test "the terminal is restored after the guest's init is killed by SIGKILL" {
  # umkernel exits with 128+9 when init dies of SIGKILL; init is its first guest process.
  end_foreground_vm 137 sh -c 'kill -KILL "$(pgrep -o -P "$(cat "$UML_DIR/$UMID/pid")")"'
}

@test "under make, nohup, setsid and in a pipeline umkernel runs and the terminal stays as it was" {
  save_stty before
  printf 'all:\n\t%s ubd0=%s init=/bin/sh -- -c "echo make-$$((6*7))"\n' "$UMKERNEL" "$IMG" >"$T/Makefile"
  local vm="'$UMKERNEL' ubd0='$IMG' init=/bin/sh -- -c"
  type_line "cd '$T' && make -s; echo make-rc=\$?"
  wait_screen '^make-rc=0'
  screen | grep -q '^make-42'
  type_line "nohup $vm 'echo nohup-\$((6*7))' 2>/dev/null; echo nohup-rc=\$?; cat nohup.out"
  wait_screen '^nohup-42'
  screen | grep -q '^nohup-rc=0'
  type_line "setsid -w $vm 'echo setsid-\$((6*7))'; echo setsid-rc=\$?"
  wait_screen '^setsid-rc=0'
  screen | grep -q '^setsid-42'
  type_line "$vm 'echo pipe-\$((6*7))' | tr a-z A-Z; echo pipe-rc=\${PIPESTATUS[0]}"
  wait_screen '^pipe-rc=0'
  screen | grep -q '^PIPE-42'
  type_line "timeout 60 make -s; echo timeout-make-rc=\$?"
  wait_screen '^timeout-make-rc=0'
  save_stty after
  diff "$T/before" "$T/after"
}
