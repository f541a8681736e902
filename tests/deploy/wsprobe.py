#!/usr/bin/env python3
"""WebSocket probe for the deploy checks (standard library only).

usage: wsprobe.py HOST PORT PATH ORIGIN

Opens a WebSocket through HOST:PORT (the reverse proxy under test) at PATH with the given Origin,
expects `101 Switching Protocols`, sends one `hello` frame with an invalid token, and expects the
daemon to answer with any frame (an `error` text frame or a close frame): proof that frames cross
the proxy in both directions. Prints what it saw; exit 0 on success, 1 on failure. Every step is
bounded by a 10 s socket timeout.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_frame(sock, pending):
    """Reads one message: a frame, or a fragmented message's frames put together (dockchatd
    fragments messages over 512 bytes); control frames in between are skipped. `pending` holds
    bytes already received after the HTTP head."""
    opcode, fin, data, pending = read_one_frame(sock, pending)
    while not fin and opcode in (0x1, 0x2):
        more_op, fin, more, pending = read_one_frame(sock, pending)
        if more_op & 0x8:
            fin = False
            continue
        data += more
    return opcode, data, pending


def read_one_frame(sock, pending):
    """Reads one frame: (opcode, fin, payload, pending)."""

    def take(n):
        nonlocal pending
        if len(pending) >= n:
            out, pending = pending[:n], pending[n:]
            return out
        out = pending + recv_exact(sock, n - len(pending))
        pending = b""
        return out

    b0, b1 = take(2)
    opcode = b0 & 0x0F
    fin = bool(b0 & 0x80)
    length = b1 & 0x7F
    if length == 126:
        length = struct.unpack("!H", take(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", take(8))[0]
    if b1 & 0x80:
        take(4)  # servers must not mask, but tolerate it
    return opcode, fin, take(length), pending


def handshake(host, port, path, origin):
    """Opens a WebSocket; returns (socket, bytes received after the HTTP head). Raises on failure."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection((host, port), timeout=10)
    sock.settimeout(10)
    request = (
        "GET %s HTTP/1.1\r\n"
        "Host: %s:%d\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Origin: %s\r\n"
        "\r\n" % (path, host, port, key, origin)
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed during the handshake: %r" % head)
        head += chunk
    head, _, pending = head.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        raise ValueError("expected 101 Switching Protocols, got %r" % lines[0])
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    if headers.get("sec-websocket-accept") != accept:
        raise ValueError("wrong Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))
    print("ok: %s" % lines[0])
    return sock, pending


def main():
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    host, port, path, origin = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock, pending = handshake(host, port, path, origin)

    payload = json.dumps({"type": "hello", "v": 1, "token": "not-a-token", "since": 0}).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        frame = bytes([0x81, 0x80 | len(payload)])
    else:
        frame = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload))
    sock.sendall(frame + mask + masked)

    while True:
        opcode, data, pending = read_frame(sock, pending)
        if opcode == 0x1:
            print("ok: text frame back through the proxy: %s" % data.decode("utf-8", "replace")[:200])
            return 0
        if opcode == 0x8:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
            print("ok: close frame back through the proxy: code %s %s" % (code, data[2:].decode("utf-8", "replace")))
            return 0
        # ping/pong: keep reading


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ConnectionError, ValueError) as err:
        print("FAIL: %s" % err)
        sys.exit(1)
