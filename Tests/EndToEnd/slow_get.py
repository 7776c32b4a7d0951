#!/usr/bin/env python3
"""slow_get.py HOST PORT PATH RATE [RANGE] — a slow HTTP/1.1 reader (used by the `shutdown` check).

One plain-HTTP GET (Connection: close; `Range: bytes=RANGE` if given) read at RATE bytes per second
through a small socket receive buffer (64 KiB asked for), so that most of a transfer still sits in
the server process rather than in the kernel while it runs — like a client on a slow link. Prints
one line: "STATUS CONTENT-LENGTH BYTES-READ sha256:HEX" (CONTENT-LENGTH "-" if absent); a socket
error goes to stderr and the line shows what arrived before it. Bounded: 30 s per socket operation.
"""
import hashlib
import socket
import sys
import time

host, port, path, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
rng = sys.argv[5] if len(sys.argv) > 5 else ""

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # before connect: fixes the TCP window
s.settimeout(30)
s.connect((host, port))
request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
if rng:
    request += f"Range: bytes={rng}\r\n"
s.sendall((request + "\r\n").encode())

buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
head, _, body = buf.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
status = lines[0].split(" ")[1] if lines and " " in lines[0] else "000"
clen = next((l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("content-length:")), "-")

h = hashlib.sha256(body)
n = len(body)
t0 = time.monotonic()
while True:
    try:
        d = s.recv(65536)
    except OSError as e:
        print(f"slow_get.py: {e}", file=sys.stderr)
        break
    if not d:
        break
    h.update(d)
    n += len(d)
    delay = t0 + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(status, clen, n, "sha256:" + h.hexdigest())
