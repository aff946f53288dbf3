#!/usr/bin/env bats
# More of the Linux ABI (issue 16): the guest program tests/guest/abi_calls prints facts only,
# so its output under umkernel must equal its native output, part by part. Parts that change
# the clock or read umkernel's own log run in the guest only, against fixed expectations.
load helpers

ABI="$UM_GUEST_BIN/abi_calls"

setup_file() {
  [ -x "$ABI" ] || skip "guest program abi_calls not built (target guest_abi_calls)"
  guest_program_image "$ABI"
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

same_as_native() {
  expect_native_output "$("$ABI" "$1" 2>&1)" "ubd0=$W/root.img" init=/bin/abi_calls -- "$1"
}

@test "sched_*: affinity (getaffinity(-1) is ESRCH), policies, params, RESET_ON_FORK, sched_attr, ioprio" { same_as_native sched; }
@test "capabilities: capget/capset versions, setuid drops, keepcaps, bounding and ambient sets" { same_as_native caps; }
@test "clock_settime/settimeofday: errors and permissions" { same_as_native clock_errors; }
@test "mlock, mlock2, mlockall with RLIMIT_MEMLOCK; mincore; membarrier" { same_as_native mlock; }
@test "kcmp (files, address spaces, epoll targets) and personality" { same_as_native kcmp; }
@test "RLIMIT_NOFILE is enforced: EMFILE before O_CREAT creates anything, F_DUPFD, dup2" { same_as_native limits; }
@test "renameat2(a, a, RENAME_NOREPLACE) is EEXIST; epoll_wait with a bad buffer is EFAULT" { same_as_native errors; }
@test "preadv2/pwritev2: offset -1, RWF_APPEND, RWF_NOWAIT, unknown flags" { same_as_native rw2; }

@test "pidfd_open, pidfd_send_signal, pidfd_getfd, poll on exit, waitid(P_PIDFD)" { same_as_native pidfd; }
@test "splice, tee, vmsplice; F_SETPIPE_SZ/F_GETPIPE_SZ" { same_as_native splice; }

@test "inotify: events from the VFS (create, open, modify, close, attrib, moves, deletes, self), ONESHOT, blocking reads; F_NOTIFY signals" { same_as_native inotify; }

@test "process_vm_readv/writev between guest processes; sync_file_range" { same_as_native vm; }

@test "clock_settime moves the VM's clock only: gettimeofday, time, file times, absolute sleeps" {
  local before after
  before=$(date +%s)
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/abi_calls -- clock_set
  after=$(date +%s)
  [ "$status" -eq 0 ]
  [[ "$output" != *": no"* ]] || { echo "$output"; false; }
  [ "$(grep -c ': yes$' <<<"$output")" -eq 7 ]
  # The host's clock did not move.
  [ $((after - before)) -lt 60 ]
}

@test "dmesg shows umkernel's log; /proc/PID/status has the signal and capability sets" {
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c \
    'dmesg; mount -t proc proc /proc; grep -E "^(SigIgn|SigCgt|CapEff|CapBnd)" /proc/self/status; dmesg -c >/dev/null; echo "after clear: $(dmesg | wc -l)"'
  [ "$status" -eq 0 ]
  [[ "$output" == *"] Linux version 6.1.0-um (umkernel)"* ]]
  [[ "$output" == *"] VFS: Mounted root (ext4 filesystem) on device 98:0."* ]]
  [[ "$output" == *"] Run /bin/sh as init process"* ]]
  [[ "$output" == *$'CapEff:\t000001ffffffffff'* ]]
  [[ "$output" == *$'CapBnd:\t000001ffffffffff'* ]]
  [[ "$output" == *"after clear: 0"* ]]
}

@test "keys: add_key, request_key, keyctl (session/process/thread/user keyrings, possession, permissions, revoke, invalidate)" { same_as_native keys; }
@test "openat2: RESOLVE_BENEATH, IN_ROOT, NO_SYMLINKS, NO_MAGICLINKS, NO_XDEV, CACHED; open_how checks" { same_as_native open2; }
@test "getdents64 on /proc/self/fd skips nothing while the listed fds are closed" { same_as_native procfd; }
@test "IPV6_RECVHOPLIMIT and IPV6_RECVTCLASS give their control messages; IPV6_TCLASS" { same_as_native ipv6opts; }
@test "UDP-Lite sockets: coverage options, datagrams over loopback (v4 and v6), short coverage dropped" { same_as_native udplite; }
@test "name_to_handle_at/open_by_handle_at: EOVERFLOW sizing, mount ids, reopen, EPERM, ESTALE, EOPNOTSUPP on proc" { same_as_native handle; }
