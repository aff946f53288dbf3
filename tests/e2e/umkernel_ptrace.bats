#!/usr/bin/env bats
# ptrace(2) inside the VM (issue 16): the guest program tests/guest/ptrace_calls traces its
# children and prints facts only, so its output under umkernel must equal its native output;
# then Debian's own strace and gdb (the host's /usr, mounted read-only through hostfs) trace
# and debug a guest program.
load helpers

PT="$UM_GUEST_BIN/ptrace_calls"

setup_file() {
  [ -x "$PT" ] || skip "guest program ptrace_calls not built (target guest_ptrace_calls)"
  W=$(mktemp -d /tmp/umkernel-ptrace.XXXXXX)
  chmod 755 "$W"
  export W
  "$UMIMAGE" create "$W/root.img" --busybox --size 48M >/dev/null
  "$UMIMAGE" put "$W/root.img" "$PT" /bin/ptrace_calls >/dev/null
  "$UMIMAGE" mkdir -p "$W/root.img" /tmp >/dev/null
  "$UMIMAGE" mkdir -p "$W/root.img" /src >/dev/null
  # The program gdb debugs, built with debugging information.
  mkdir -p "$W/src"
  cat > "$W/src/prog.c" <<'C'
#include <stdio.h>
long counter;
static int add(int a, int b) {
  int sum = a + b;
  return sum;
}
int main(void) {
  int total = 0;
  for (int i = 0; i < 3; i++) total = add(total, i);
  for (int i = 0; i < 4; i++) counter += 5;
  printf("total %d counter %ld\n", total, counter);
  return 0;
}
C
  if command -v gcc >/dev/null; then gcc -g -O0 -o "$W/src/prog" "$W/src/prog.c"; fi
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

same_as_native() {
  expect_native_output "$("$PT" "$1" 2>&1)" "ubd0=$W/root.img" init=/bin/ptrace_calls -- "$1"
}

@test "syscall stops: arguments, results, skipping a call, changing it, TRACEEXIT" { same_as_native syscalls; }
@test "peek/poke, user area, GETREGS/REGSET/FPREGS, siginfo, signal injection" { same_as_native memory; }
@test "events: fork auto-attach, a non-child tracee reaped by its tracer, exec, exit" { same_as_native events; }
@test "seize, interrupt, group-stop, listen, SIGCONT, detach with a signal, TracerPid" { same_as_native seize; }
@test "attach and detach a task blocked in read; EPERM, ESRCH; EXITKILL" { same_as_native attach; }
@test "single-step, int3 breakpoints and a hardware watchpoint" { same_as_native step; }

# Runs a command line in the busybox guest with the host's /usr (strace, gdb and their
# libraries) mounted read-only and the test's sources on /src.
debian_tools() {
  command -v strace >/dev/null && command -v gdb >/dev/null || skip "strace and gdb are not installed on the host"
  local setup="mount -t proc proc /proc; mount -t tmpfs tmp /tmp
    mount -t hostfs none /usr -o /usr || exit 1
    [ -L /lib ] || { rmdir /lib && ln -s usr/lib /lib; }; [ -L /lib64 ] || ln -s usr/lib64 /lib64
    mount -t hostfs none /src -o $W/src || exit 1
    export PATH=/usr/bin:/bin HOME=/tmp"
  run timeout 300 "$UMKERNEL" quiet mem=512M "ubd0=$W/root.img" "hostfs=$W/src,ro" "hostfs=/usr,ro" \
    init=/bin/sh -- -c "$setup; $1" </dev/null
  echo "$output"
}

@test "Debian's strace -f: execve's argv, open flags, fork/exec/wait, signals, socket addresses, exit codes" {
  debian_tools 'strace -f -o /tmp/trace sh -c "echo hi > /tmp/x; cat /tmp/x; exit 3"; echo rc=$?
    strace -e trace=connect,bind -e signal=none python3 -c "import socket
s = socket.socket(); print(s.connect_ex((\"127.0.0.1\", 9)))
u = socket.socket(socket.AF_UNIX); u.bind(\"/tmp/sock\")" 2>&1
    grep -E "execve|openat\(AT_FDCWD, \"/tmp/x\"|exited|SIGCHLD|wait4" /tmp/trace | sed "s/^[0-9]* *//"'
  [ "$status" -eq 0 ]
  [[ "$output" == *"hi"*"rc=3"* ]]
  [[ "$output" == *'execve("/usr/bin/sh", ["sh", "-c", "echo hi > /tmp/x; cat /tmp/x; ex"...], 0x'*' /* '*' vars */) = 0'* ]]
  [[ "$output" == *'openat(AT_FDCWD, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3'* ]]
  [[ "$output" == *'execve("/usr/bin/cat", ["cat", "/tmp/x"], 0x'* ]]
  [[ "$output" == *'openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3'* ]]
  [[ "$output" == *'+++ exited with 0 +++'* ]]
  [[ "$output" == *'wait4(-1, '*'[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = '* ]]
  [[ "$output" == *'--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED'* ]]
  [[ "$output" == *'+++ exited with 3 +++'* ]]
  [[ "$output" == *'connect(3, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)'* ]]
  [[ "$output" == *'bind(4, {sa_family=AF_UNIX, sun_path="/tmp/sock"}, '*') = 0'* ]]
}

@test "Debian's gdb on a PIE: break, run, bt, next, print, finish, step, registers, watch: as natively" {
  [ -x "$W/src/prog" ] || skip "no gcc on the host"
  command -v gdb >/dev/null || skip "gdb is not installed on the host"
  local cmds='-ex "break add" -ex run -ex bt -ex next -ex "print sum" -ex finish -ex delete'
  cmds+=' -ex "break 10" -ex continue -ex "watch counter" -ex continue -ex continue -ex delete -ex step'
  cmds+=' -ex "info registers rip" -ex "print \$_siginfo.si_signo" -ex continue'
  local native
  native=$(cd "$W/src" && eval "gdb -q -nx -batch $cmds ./prog" 2>&1 | sed 's/(process [0-9]*)/(process N)/')
  debian_tools "cd /src && gdb -q -nx -batch $cmds ./prog 2>&1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Hardware watchpoint 3: counter"*"Old value = 5"*"New value = 10"* ]]
  got=$(echo "$output" | sed 's/(process [0-9]*)/(process N)/')
  [ "$got" = "$native" ] || { diff <(echo "$native") <(echo "$got"); false; }
}
