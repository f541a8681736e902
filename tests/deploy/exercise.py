#!/usr/bin/env python3
"""Drives a running `dockchatd demo` through its main code paths (standard library only).

usage: exercise.py http://127.0.0.1:PORT

GET /healthz, GET /demo/users, POST /demo/token for a user, WebSocket `hello` -> `welcome`, then a
`send` to a course-mate -> `ack` (the message is committed to the database), and a normal close.
Used by tests/deploy/run.sh to record which system calls and socket families the daemon needs, so
they can be compared with the sandbox of deploy/dockchatd.service. Exit 0 on success, 1 on failure;
every step is bounded by a 10 s timeout.
"""

import json
import os
import socket
import struct
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsprobe import handshake, read_frame  # noqa: E402


def http_json(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read().decode()


def send_text(sock, text):
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        head = bytes([0x81, 0x80 | len(payload)])
    else:
        head = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload))
    sock.sendall(head + mask + masked)


def wait_type(sock, pending, wanted):
    while True:
        opcode, data, pending = read_frame(sock, pending)
        if opcode == 0x8:
            raise ConnectionError("closed while waiting for %s: %r" % (wanted, data))
        if opcode != 0x1:
            continue
        try:
            frame = json.loads(data)
        except ValueError:
            raise ValueError("bad frame (%d bytes): %r" % (len(data), data[:700]))
        if frame.get("type") == "error":
            raise ValueError("error frame while waiting for %s: %s" % (wanted, frame))
        if frame.get("type") == wanted:
            return frame, pending


def main():
    base = sys.argv[1].rstrip("/")
    host, port = base.split("//", 1)[1].split(":")
    status, body = http_json(base + "/healthz")
    assert status == 200, "healthz %s" % status
    _, body = http_json(base + "/demo/users")
    users = json.loads(body)
    # Two users sharing a course may chat.
    me, mate = None, None
    for a in users:
        for b in users:
            if a["id"] != b["id"] and {c["id"] for c in a["courses"]} & {c["id"] for c in b["courses"]}:
                me, mate = a, b
                break
        if me:
            break
    assert me, "no two demo users share a course"
    _, body = http_json(base + "/demo/token", {"user": me["id"]})
    token = json.loads(body)["token"]

    sock, pending = handshake(host, int(port), "/ws", base)
    send_text(sock, json.dumps({"type": "hello", "v": 1, "token": token, "since": 0}))
    welcome, pending = wait_type(sock, pending, "welcome")
    print("ok: welcome as %s" % welcome["user"]["fullname"])
    cid = "deploy-%d" % os.getpid()
    send_text(sock, json.dumps({"type": "send", "to": mate["id"], "cid": cid, "text": "sandbox check"}))
    ack, pending = wait_type(sock, pending, "ack")
    print("ok: message to %s stored, ack %s" % (mate["fullname"], json.dumps(ack)))
    sock.sendall(bytes([0x88, 0x82]) + b"\x00\x00\x00\x00" + struct.pack("!H", 1000))
    sock.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ConnectionError, ValueError, AssertionError, KeyError) as err:
        print("FAIL: %s" % err)
        sys.exit(1)
