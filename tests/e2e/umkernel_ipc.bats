#!/usr/bin/env bats
# System V IPC and POSIX message queues (issue 16): the guest program tests/guest/ipc_calls
# prints facts only, so its output under umkernel must equal its native output, part by part.
load helpers

IPC="$UM_GUEST_BIN/ipc_calls"

setup_file() {
  [ -x "$IPC" ] || skip "guest program ipc_calls not built (target guest_ipc_calls)"
  guest_program_image "$IPC"
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

same_as_native() {
  expect_native_output "$("$IPC" "$1" 2>&1)" "ubd0=$W/root.img" init=/bin/ipc_calls -- "$1"
}

@test "SysV shm: keys, IPC_EXCL, attach across fork and exec, SHM_RND/SHM_REMAP, splits, IPC_RMID while attached, permissions" { same_as_native shm; }
@test "SysV sem: all-or-nothing semop, GETNCNT/GETZCNT, blocking, SEM_UNDO at exit, EINTR, EIDRM, permissions" { same_as_native sem; }
@test "SysV msg: types, MSG_EXCEPT/MSG_COPY/MSG_NOERROR, blocking send and receive, EINTR, EIDRM, qbytes limits" { same_as_native msg; }

@test "POSIX mq: mq_open checks, priorities, timeouts, poll, the mqueue file system, mq_notify (signal, SIGEV_THREAD), blocking, SA_RESTART, RLIMIT_MSGQUEUE, unlink" { same_as_native mq; }

@test "SysV IPC: /proc/sysvipc and the /proc/sys/kernel limits; ipcs reads them" {
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c \
    'mount -t proc proc /proc; cat /proc/sys/kernel/sem /proc/sys/kernel/msgmnb /proc/sys/kernel/shmmni;
     echo 4096 > /proc/sys/kernel/msgmnb; cat /proc/sys/kernel/msgmnb; echo "1 2" > /proc/sys/kernel/sem || echo "sem: refused";
     head -1 /proc/sysvipc/shm'
  [ "$status" -eq 0 ]
  [[ "$output" == *$'32000\t1024000000\t500\t32000'* ]]
  [[ "$output" == *$'16384\n4096\n'* ]]
  [[ "$output" == *"sem: refused"* ]]
  [[ "$output" == *"key      shmid perms"* ]]
}
