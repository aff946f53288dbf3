#!/usr/bin/env bats
# umkernel AF_UNIX sockets: the guest program tests/guest/unix_sockets prints facts only, so its
# output under umkernel must equal its native output, part by part. Then busybox's syslogd and
# logger talk over /dev/log, and the image keeps socket files e2fsck accepts.
load helpers

PROG="$UM_GUEST_BIN/unix_sockets"

setup_file() {
  [ -x "$UM_GUEST_BIN/unix_sockets" ] || skip "guest program unix_sockets not built (target guest_unix_sockets)"
  [ -x "$UM_GUEST_BIN/sock_fuzz" ] || skip "guest program sock_fuzz not built (target guest_sock_fuzz)"
  W=$(mktemp -d /tmp/umkernel-sockets.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/unix_sockets" /bin/unix_sockets >/dev/null
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

# Runs one part of the program natively and in the guest and compares the outputs.
same_as_native() {
  expect_native_output "$(TMPDIR="$BATS_TEST_TMPDIR" "$PROG" "$1" 2>&1)" "ubd0=$W/root.img" init=/bin/unix_sockets -- "$1"
}

@test "socketpair: ping-pong with a child for each type, flags, fstat, readv/writev, FIONREAD" { same_as_native pair; }
@test "stream: bind/listen/accept/connect on paths, errors, unlink, stale files, abstract names, autobind" { same_as_native stream; }
@test "datagrams: boundaries, addresses, MSG_PEEK/MSG_TRUNC, connected peers, queue limit; seqpacket" { same_as_native dgram; }
@test "shutdown, EOF, EPIPE and SIGPIPE, resets" { same_as_native shutdown; }
@test "non-blocking calls, partial writes, poll, select, epoll" { same_as_native nonblock; }
@test "SCM_RIGHTS: a pipe fd to a child, truncation, close-on-exec, peek, limits, sockets in sockets" { same_as_native rights; }
@test "credentials: SO_PEERCRED across processes, SO_PASSCRED, SCM_CREDENTIALS" { same_as_native creds; }
@test "options: SO_TYPE..SO_PROTOCOL, buffers, timeouts, errors" { same_as_native options; }
@test "blocking across processes: 8 MiB transfer, MSG_WAITALL, full backlog, SA_RESTART, a server" { same_as_native blocking; }
@test "fork and exec: sockets survive exec unless close-on-exec" { same_as_native exec; }
@test "errors: arguments Linux refuses" { same_as_native errors; }

@test "from a busybox shell: the whole program, twice in parallel" {
  native=$(TMPDIR="$BATS_TEST_TMPDIR" "$PROG" 2>&1)
  run timeout 300 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/sh -- -c \
    '/bin/unix_sockets > /tmp/a.out 2>&1 & /bin/unix_sockets > /tmp/b.out 2>&1; wait $!; cat /tmp/a.out; cat /tmp/b.out'
  [ "$status" -eq 0 ]
  [ "$output" = "$native"$'\n'"$native" ] || { diff <(echo "$native"$'\n'"$native") <(echo "$output"); false; }
}

@test "the network families exist beside AF_UNIX, socketpair is AF_UNIX's only, nothing is logged" {
  native=$("$PROG" inet 2>&1)
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/unix_sockets -- inet
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ] || { diff <(echo "$native") <(echo "$output"); false; }
  [[ "$output" == *"socketpair AF_INET: -1 EOPNOTSUPP"* ]]
  [[ "$output" == *"socket AF_MAX+1: -1 EAFNOSUPPORT"* ]]
  [[ "$output" != *unimplemented* ]]
}

@test "sockets sent over sockets in cycles are collected once no fd reaches them" {
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/unix_sockets -- gc
  [ "$status" -eq 0 ]
  [ "$output" = $'pair cycle collected: its peer sees EOF: yes\nself cycle collected: its peer sees EOF: yes\nsocket queued at a live socket survives: yes\nit still works: 5 "alive"' ]
}

@test "random socket operations (files in flight, closes, forks) never take the kernel down" {
  cp "$W/root.img" "$W/fuzz.img"
  "$UMIMAGE" put "$W/fuzz.img" "$UM_GUEST_BIN/sock_fuzz" /bin/sock_fuzz >/dev/null
  for seed in 1 2 3; do
    run timeout 300 "$UMKERNEL" quiet "ubd0=$W/fuzz.img" init=/bin/sock_fuzz -- 30 1000 "$seed" </dev/null
    echo "seed $seed: status $status: $output"
    [ "$status" -eq 0 ]
    [ "$output" = "sock_fuzz: 30 rounds done" ]
  done
  run e2fsck -fn "$W/fuzz.img"
  [ "$status" -eq 0 ]
}

@test "Debian's python3: socketpair with passed fds, a threaded server, asyncio, multiprocessing.connection" {
  cat > "$BATS_TEST_TMPDIR/sockets.py" <<'EOF'
import asyncio, os, socket, struct, tempfile, threading
from multiprocessing.connection import Listener, Client
import multiprocessing as mp

def child(address):
    with Client(address, family="AF_UNIX", authkey=b"k") as c:
        c.send({"n": 41})
        print("child got", c.recv(), flush=True)

async def echo_server(path):
    async def handle(reader, writer):
        line = await reader.readline()
        writer.write(b"echo " + line)
        await writer.drain()
        writer.close()
    server = await asyncio.start_unix_server(handle, path=path)
    rd, wr = await asyncio.open_unix_connection(path)
    wr.write(b"hello asyncio\n")
    await wr.drain()
    print(await rd.readline())
    wr.close()
    server.close()
    await server.wait_closed()

if __name__ == "__main__":
    d = tempfile.mkdtemp()
    a, b = socket.socketpair()
    r, w = os.pipe()
    socket.send_fds(a, [b"fd"], [w])
    msg, fds, flags, addr = socket.recv_fds(b, 16, 4)
    os.write(fds[0], b"through a passed fd")
    print(msg, len(fds), os.read(r, 64))
    pid, uid, gid = struct.unpack("3i", b.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    print("peercred pid is ours:", pid == os.getpid())
    path = os.path.join(d, "srv.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen()
    def serve():
        for _ in range(3):
            c, _ = srv.accept()
            with c:
                c.sendall(c.recv(100).upper())
    t = threading.Thread(target=serve)
    t.start()
    for word in (b"one", b"two", b"three"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(path)
            c.sendall(word)
            print(c.recv(100))
    t.join()
    srv.close()
    asyncio.run(echo_server(os.path.join(d, "aio.sock")))
    with Listener(os.path.join(d, "mp.sock"), family="AF_UNIX", authkey=b"k") as l:
        p = mp.Process(target=child, args=(l.address,))
        p.start()
        with l.accept() as conn:
            conn.send(conn.recv()["n"] + 1)
        p.join()
    name = "\0py-abstract-%d" % os.getpid()
    dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dg.bind(name)
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"dgram", name)
    print(dg.recv(10))
EOF
  want=$(/usr/bin/python3 "$BATS_TEST_TMPDIR/sockets.py") || skip "the host's python3 cannot run the program"
  "$BATS_TEST_DIRNAME/data/debian_root.sh" "$BATS_TEST_TMPDIR/root" >/dev/null
  "$UMIMAGE" create "$W/debian.img" --from "$BATS_TEST_TMPDIR/root" >/dev/null
  "$UMIMAGE" put "$W/debian.img" "$BATS_TEST_TMPDIR/sockets.py" /sockets.py >/dev/null
  run timeout 120 "$UMKERNEL" quiet "ubd0=$W/debian.img" init=/bin/bash -- -c \
    'mount -t proc proc /proc; mount -t tmpfs tmp /tmp; mkdir -p /dev/shm; python3 /sockets.py' </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
}

@test "busybox syslogd and logger over /dev/log" {
  cp "$W/root.img" "$W/syslog.img"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/syslog.img" init=/bin/sh -- -c '
    syslogd -n -O /tmp/messages &
    i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    stat -c "%F %a" /dev/log
    logger -t umtest "hello from logger"
    echo "from stdin" | logger -t umtest -p daemon.warning
    sleep 0.3; kill $!; wait
    grep -o "umtest: .*" /tmp/messages'
  [ "$status" -eq 0 ]
  [ "$output" = $'socket 666\numtest: hello from logger\numtest: from stdin' ]
}

@test "socket files in the image: bound paths stay, an unlinked bound inode is freed, e2fsck is clean" {
  cp "$W/root.img" "$W/files.img"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/files.img" init=/bin/sh -- -c '
    mount -t proc proc /proc
    /bin/unix_sockets bind /kept.sock keep
    /bin/unix_sockets bind /gone.sock unlink
    ls -l /kept.sock | cut -c1
    syslogd -n -O /tmp/m & sleep 0.3; readlink /proc/$!/fd/0 | grep -c "^socket:\[[0-9]*\]$"; kill $!; wait'
  [ "$status" -eq 0 ]
  [ "$output" = $'bind: 0\nlisten: 0\nbind: 0\nlisten: 0\nunlink while bound: 0\nconnect after unlink: -1 ENOENT\nconnect to the new file: -1 ECONNREFUSED\ns\n1' ]
  run "$UMIMAGE" stat "$W/files.img" /kept.sock
  [[ "$output" == *socket* ]]
  run "$UMIMAGE" stat "$W/files.img" /gone.sock
  [ "$status" -ne 0 ]
  run e2fsck -fn "$W/files.img"
  [ "$status" -eq 0 ]
}

@test "strace= shows the socket calls by name" {
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" "strace=$W/strace.log" init=/bin/unix_sockets -- creds
  [ "$status" -eq 0 ]
  grep -q '^\[pid [0-9]*\] socketpair(1, 0x1, 0, 0x[0-9a-f]*) = 0$' "$W/strace.log"
  grep -q '^\[pid [0-9]*\] getsockopt([0-9]*, 1, 17, 0x[0-9a-f]*, 0x[0-9a-f]*) = 0$' "$W/strace.log"
  grep -q '^\[pid [0-9]*\] accept([0-9]*, NULL, NULL) = [0-9]*$' "$W/strace.log"
  grep -q '^\[pid [0-9]*\] sendmsg(' "$W/strace.log"
  grep -q '^\[pid [0-9]*\] recvmsg(' "$W/strace.log"
}

# Runs another guest program (tests/guest/NAME.c) natively and as init; the outputs must match.
program_same_as_native() {
  local name=$1 native
  [ -x "$UM_GUEST_BIN/$name" ] || skip "guest program $name not built"
  native=$("$UM_GUEST_BIN/$name" 2>&1)
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/$name" "/bin/$name" >/dev/null
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" "init=/bin/$name"
  [ "$status" -eq 0 ]
  [ "$output" = "$native" ] || { diff <(echo "$native") <(echo "$output"); false; }
}

@test "sendmmsg and recvmmsg on AF_UNIX and UDP sockets, as natively" { program_same_as_native mmsg; }

@test "SO_RCVTIMEO and SO_SNDTIMEO bound plain read and write on sockets, as natively" {
  program_same_as_native sock_timeouts
}
