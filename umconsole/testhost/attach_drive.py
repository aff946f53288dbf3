# Drives `umconsole attach` on a pty: checks raw mode, typing, window size passthrough and
# that the terminal is restored after detach (Ctrl-]) or SIGTERM.
import fcntl, os, pty, select, signal, struct, sys, termios, time
# usage: attach_drive.py UMCONSOLE UMID|- detach|term   ("-": let umconsole pick the only VM)
umc, vm, mode = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(umc, [umc, "attach"] + ([] if vm == "-" else [vm]) + ["1"])
def set_size(rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
def read_until(needle, timeout=5):
    buf = b""
    end = time.time() + timeout
    while needle not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: buf += os.read(fd, 4096)
            except OSError: break
    return buf
set_size(33, 101)
read_until(b"detach with")
time.sleep(0.2)
attrs = termios.tcgetattr(fd)
raw = not (attrs[3] & termios.ICANON) and not (attrs[3] & termios.ECHO)
os.write(fd, b"echo marker-$((6*7)) $(stty size)\r")
ok_io = b"marker-42 33 101" in read_until(b"marker-42 33 101")
set_size(40, 120)   # the kernel sends SIGWINCH to umconsole
time.sleep(0.3)
os.write(fd, b"echo resized-$(stty size | tr ' ' x)\r")
ok_winch = b"resized-40x120" in read_until(b"resized-40x120")
if mode == "detach":
    os.write(fd, b"\x1d")
else:
    os.kill(pid, signal.SIGTERM)
tail = read_until(b"]\n", 5)
_, status = os.waitpid(pid, 0)
attrs = termios.tcgetattr(fd)
restored = bool(attrs[3] & termios.ICANON) and bool(attrs[3] & termios.ECHO)
print(f"raw={raw} io={ok_io} winch={ok_winch} restored={restored} exit={os.waitstatus_to_exitcode(status)}")
print("tail:", tail)
