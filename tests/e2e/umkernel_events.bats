#!/usr/bin/env bats
# umkernel event APIs (epoll, eventfd, timerfd, signalfd, POSIX timers): the guest program
# tests/guest/events prints facts only, so its output under umkernel must equal its native
# output, part by part. Busybox has no applet built on these APIs, so the program is the test.
load helpers

EVENTS="$UM_GUEST_BIN/events"

setup_file() {
  [ -x "$UM_GUEST_BIN/events" ] || skip "guest program events not built (target guest_events)"
  W=$(mktemp -d /tmp/umkernel-events.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/events" /bin/events >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

# Runs one part of the program natively and in the guest and compares the outputs.
same_as_native() {
  expect_native_output "$("$EVENTS" "$1" 2>&1)" "ubd0=$W/root.img" init=/bin/events -- "$1"
}

@test "epoll: ctl errors match Linux" { same_as_native epoll_errors; }
@test "epoll: level-triggered, edge-triggered, one-shot, hang-up" { same_as_native epoll_triggers; }
@test "epoll: round robin over ready entries, entries dropped with their file" { same_as_native epoll_order; }
@test "epoll: an epoll inside an epoll, loops refused" { same_as_native epoll_nested; }
@test "epoll: blocking waits, timeouts, epoll_pwait signal masks" { same_as_native epoll_blocking; }
@test "eventfd: counter, semaphore, blocking read and write, edge-triggered epoll" { same_as_native eventfd; }
@test "timerfd: one-shot, interval, absolute, clocks, epoll" { same_as_native timerfd; }
@test "signalfd: reads, mask update, blocking read, epoll, SIGCHLD details" { same_as_native signalfd; }
@test "POSIX timers: SI_TIMER, overruns, SIGEV_NONE, thread-directed, not inherited" { same_as_native posix_timers; }

@test "threads: epoll_wait in a thread, per-thread signalfd reads, SIGEV_THREAD_ID" { same_as_native threads; }

@test "glibc SIGEV_THREAD timers: callbacks in threads via SIGEV_THREAD_ID" { same_as_native sigev_thread; }
@test "exec: POSIX timers dropped, eventfds kept unless close-on-exec" { same_as_native exec; }

@test "stress: random operations on all event files (nesting, closes under epoll, forks)" {
  same_as_native stress
  local seed
  for seed in 7 99 2024; do
    run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c "EVENTS_SEED=$seed /bin/events stress"
    [ "$status" -eq 0 ]
    [[ "$output" == *survived* ]]
  done
}

@test "from a busybox shell: the whole program, and the anon_inode links in /proc/PID/fd" {
  native=$("$EVENTS" 2>&1)
  run timeout 300 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c \
    'mount -t proc proc /proc; /bin/events; echo "exit $?"'
  [ "$status" -eq 0 ]
  [ "$output" = "$native"$'\n'"exit 0" ] || { diff <(echo "$native") <(echo "$output"); false; }
}

# GNU coreutils timeout arms its deadline with timer_create(CLOCK_REALTIME) + SIGALRM and
# waits in sigsuspend: a real dynamic program on the POSIX timer path.
@test "GNU timeout (dynamic, glibc) kills its child through a POSIX timer" {
  local gnu=/usr/bin/timeout
  [ -x "$gnu" ] && ldd "$gnu" >/dev/null 2>&1 || skip "no dynamic GNU timeout on the host"
  cp "$W/root.img" "$W/gnu.img"
  local f
  for f in $(ldd "$gnu" | grep -o '/[^ ]*') "$gnu"; do
    "$UMIMAGE" mkdir -p "$W/gnu.img" "$(dirname "$f")"
    "$UMIMAGE" put "$W/gnu.img" "$(readlink -f "$f")" "$f" >/dev/null
  done
  local start=$SECONDS
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/gnu.img" "strace=$W/strace.log" init=/bin/sh -- -c \
    "$gnu 0.2 sleep 5; echo \"status \$?\"; $gnu 5 sleep 0.1; echo \"status \$?\""
  [ "$status" -eq 0 ]
  [ "$output" = $'status 124\nstatus 0' ]
  [ $((SECONDS - start)) -lt 5 ]
  grep -q '^\[pid [0-9]*\] timer_create(0, .*) = 0$' "$W/strace.log"
  grep -q '^\[pid [0-9]*\] timer_settime(.*) = 0$' "$W/strace.log"
}

# Debian's dynamic Python: selectors.EpollSelector over a pipe and an eventfd, timeouts,
# sigtimedwait. Skipped when the host has no system python3.
@test "dynamic Python: selectors.EpollSelector with a pipe and os.eventfd" {
  local py
  py=$(readlink -f /usr/bin/python3 2>/dev/null) || true
  [ -n "$py" ] && [ -x "$py" ] || skip "no /usr/bin/python3 on the host"
  local stdlib
  stdlib=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
  "$py" -c 'import os; os.eventfd' 2>/dev/null || skip "python3 without os.eventfd"
  cp "$W/root.img" "$W/py.img"
  "$UMIMAGE" resize "$W/py.img" 300M >/dev/null
  local f
  for f in $(ldd "$py" | grep -o '/[^ ]*') "$py"; do
    "$UMIMAGE" mkdir -p "$W/py.img" "$(dirname "$f")"
    "$UMIMAGE" put "$W/py.img" "$(readlink -f "$f")" "$f" >/dev/null
  done
  "$UMIMAGE" mkdir -p "$W/py.img" "$(dirname "$stdlib")"
  "$UMIMAGE" put "$W/py.img" "$stdlib" "$stdlib" >/dev/null
  cat >"$W/t.py" <<'PY'
import os, selectors, signal, time
sel = selectors.EpollSelector()
r, w = os.pipe()
sel.register(r, selectors.EVENT_READ, "pipe")
print("idle:", sel.select(0))
os.write(w, b"x")
print("ready:", [(k.data, m) for k, m in sel.select(0)])
efd = os.eventfd(0, os.EFD_NONBLOCK)
sel.register(efd, selectors.EVENT_READ, "eventfd")
os.eventfd_write(efd, 3)
print("both:", sorted(k.data for k, m in sel.select(1)))
print("eventfd value:", os.eventfd_read(efd))
os.read(r, 1)
t0 = time.monotonic()
print("timeout:", sel.select(0.1), time.monotonic() - t0 >= 0.09)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
os.kill(os.getpid(), signal.SIGUSR1)
print("sigtimedwait:", signal.sigtimedwait([signal.SIGUSR1], 1).si_signo == signal.SIGUSR1)
PY
  "$UMIMAGE" put "$W/py.img" "$W/t.py" /t.py >/dev/null
  native=$("$py" "$W/t.py")
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/py.img" "init=$py" -- /t.py
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ] || { diff <(echo "$native") <(echo "$output"); false; }
}
