#!/usr/bin/env python3
"""Attacks on umswitch's uml_switch protocol by a local client; prints "ok: ..." or
"FAIL: ..." per attempt (tests/e2e/umswitch_attacks.bats counts them).

    umswitch_attacks.py CTLPATH VICTIM_DGRAM_PATH
VICTIM_DGRAM_PATH is a datagram socket owned by another user (a VM's mconsole, say)."""
import os, socket, struct, sys

ctl, victim = sys.argv[1], sys.argv[2]
MAGIC, REQ_NEW_CONTROL = 0xfeedface, 0
failures = 0

def check(what, ok, detail=""):
    global failures
    print(("ok: %s" if ok else "FAIL: %s (" + detail + ")") % what, flush=True)
    failures += 0 if ok else 1

def sockaddr(name, abstract):
    path = (b"\0" + name if abstract else name).ljust(108, b"\0")
    return struct.pack("=H", socket.AF_UNIX) + path

def register(data_addr_bytes):
    """Sends a v3 request; returns (control socket, the port's address or None)."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(ctl)
    c.sendall(struct.pack("=III", MAGIC, 3, REQ_NEW_CONTROL) + data_addr_bytes + b"attacker".ljust(128, b"\0"))
    c.settimeout(5)
    try:
        reply = c.recv(110)
    except (socket.timeout, ConnectionError):
        reply = b""
    return c, (reply if len(reply) == 110 else None)

def name_of(reply):
    return reply[2:]

# A legitimate client: its own abstract datagram socket.
own = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
own.bind(b"\0attacker-data-%d" % os.getpid())
c1, port1 = register(sockaddr(b"attacker-data-%d" % os.getpid(), True))
check("a client with its own data socket gets a port", port1 is not None, "refused")
c2, port2 = register(sockaddr(b"attacker-data-%d" % os.getpid(), True))
names = [name_of(port1 or b"\0\0"), name_of(port2 or b"\0\0")]
def random_part(n):
    n = n.rstrip(b"\0")
    return n[len(b"\0umswitch."):] if n.startswith(b"\0umswitch.") else n
r1, r2 = random_part(names[0]), random_part(names[1])
differing = sum(a != b for a, b in zip(r1, r2))
check("port names carry 96 random bits, not a pid and a counter", len(r1) == len(r2) == 24 and differing >= 8,
      repr(names))

# The switch's own port as a data address: refused (no port, no reply).
if port1:
    c3, port3 = register(port1[:2] + port1[2:])
    check("a data address that is one of the switch's own ports is refused", port3 is None, "accepted")
    c3.close()
# Its own control socket (a stream socket): refused.
c4, port4 = register(sockaddr(ctl.encode(), False))
check("the switch's control socket as a data address is refused", port4 is None, "accepted")
c4.close()
# Another user's datagram socket (a VM's mconsole): refused.
c5, port5 = register(sockaddr(victim.encode(), False))
check("another user's datagram socket as a data address is refused", port5 is None, "accepted")
c5.close()
# A path that does not exist, and an empty address.
c6, port6 = register(sockaddr(b"/nonexistent/socket", False))
check("a data address nobody listens on is refused", port6 is None, "accepted")
c6.close()
c7, port7 = register(sockaddr(b"", False))
check("an empty data address is refused", port7 is None, "accepted")
c7.close()
# The switch is still serving: a fresh legitimate client still gets a port.
c8, port8 = register(sockaddr(b"attacker-data-%d" % os.getpid(), True))
check("legitimate clients are still served afterwards", port8 is not None, "refused")

# Connection limits (128 pending control requests, 32 management sessions): idle
# connections past them push out the oldest idle one, never the client that talks.
idle = []
for _ in range(200):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(ctl)
        idle.append(s)
    except OSError:
        s.close()
check("200 idle control connections are accepted (the oldest dropped past 128)", len(idle) >= 190,
      "%d connected" % len(idle))
c9, port9 = register(sockaddr(b"attacker-data-%d" % os.getpid(), True))
check("a client that sends its request gets a port while idle connections fill the limit",
      port9 is not None, "refused")
mgmt = ctl[:-4] + ".mgmt" if ctl.endswith(".ctl") else ctl + ".mgmt"
def mgmt_query(line):
    m = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    m.settimeout(5)
    try:
        m.connect(mgmt)
        m.sendall(line)
        out = b""
        while True:
            b = m.recv(65536)
            if not b:
                return out
            out += b
    except OSError:
        return None
    finally:
        m.close()
idle_mgmt = []
for _ in range(50):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(mgmt)
        idle_mgmt.append(s)
    except OSError:
        s.close()
stats = mgmt_query(b"stats\n")
check("a management query is answered while 50 idle sessions fill the limit of 32",
      stats is not None and b"frames_in" in stats, repr(stats))
for s in idle + idle_mgmt:
    s.close()

# Ports are capped (--max-ports, default 32): registering more is refused, then the switch
# serves again once they are gone.
held = []
for _ in range(40):
    c, p = register(sockaddr(b"attacker-data-%d" % os.getpid(), True))
    if p is None:
        c.close()
        break
    held.append(c)
check("ports stop at --max-ports (32, with the ones above)", 20 <= len(held) <= 32,
      "%d more ports" % len(held))
for c in held:
    c.close()
import time
for _ in range(50):
    c10, port10 = register(sockaddr(b"attacker-data-%d" % os.getpid(), True))
    if port10 is not None:
        break
    c10.close()
    time.sleep(0.1)
check("freed ports are given to the next client", port10 is not None, "refused")

# A broadcast storm from one port is cut at its share (5000 frames/s): a receiver sees a
# fraction, the switch counts the rest in drop_storm, and unicast between others still flows.
def port_with_socket(tag):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = b"attacker-%s-%d" % (tag, os.getpid())
    s.bind(b"\0" + name)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    c, reply = register(sockaddr(name, True))
    dest = reply[2:] if reply else None  # the full 108 bytes: the switch binds them all
    return s, c, dest
def eth(dst, src, n):
    return dst + src + b"\x88\xb5" + struct.pack("=I", n) + b"\0" * 42
storm, cs, sdest = port_with_socket(b"storm")
rx, cr, rdest = port_with_socket(b"rx")
if sdest and rdest:
    bcast, mac_s, mac_r = b"\xff" * 6, b"\x02\0\0\0\0\x51", b"\x02\0\0\0\0\x52"
    rx.sendto(eth(bcast, mac_r, 0), rdest)  # the receiver's MAC is learned
    before = mgmt_query(b"stats\n") or b""
    sent = 0
    for n in range(30000):
        try:
            storm.sendto(eth(bcast, mac_s, n), socket.MSG_DONTWAIT, sdest)
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
    time.sleep(0.5)
    got = 0
    rx.setblocking(False)
    while True:
        try:
            rx.recv(2048)
            got += 1
        except BlockingIOError:
            break
    after = mgmt_query(b"stats\n") or b""
    def field(text, name):
        for line in text.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return int(parts[1])
        return -1
    dropped = field(after, "drop_storm") - max(0, field(before, "drop_storm"))
    print("storm: sent %d broadcasts, the other port received %d, drop_storm %d" % (sent, got, dropped))
    check("a broadcast storm from one port reaches the others only up to its share",
          got < sent and dropped > 0, "sent %d, received %d, drop_storm %d" % (sent, got, dropped))
else:
    check("storm ports registered", False, "refused")
print("failures: %d" % failures)
sys.exit(1 if failures else 0)
