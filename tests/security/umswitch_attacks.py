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
print("failures: %d" % failures)
sys.exit(1 if failures else 0)
