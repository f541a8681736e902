#!/usr/bin/env python3
"""A restart under socket activation refuses no connection (standard library only).

usage: restart.py PATH/TO/dockchatd

Plays systemd's part of dockchatd.socket + dockchatd.service: this script binds the listening
socket and keeps it open, starts `dockchatd demo` with it as fd 3 (LISTEN_PID/LISTEN_FDS), restarts
the daemon (SIGTERM, wait for the exit, start a new one on the same socket, same database), and
meanwhile:
- a client sends GET /healthz back to back, before, during and after the restart: every request
  must be answered 200 (connections made while no daemon runs wait in the socket's queue), none
  refused;
- a logged-in WebSocket client must get close code 1012, reconnect to the new daemon with its
  token, resume (`hello` with `since`), and send again.
Prints what happened; exit 0 on success, 1 on failure. Every wait is bounded.
"""

import json
import os
import queue
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exercise import http_json, send_text, wait_type  # noqa: E402
from wsprobe import handshake, read_frame  # noqa: E402


def spawn(daemon, lsock, dburl):
    """Starts the daemon with `lsock` as its fd 3, the way systemd does; returns (pid, stdout fd)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(w, 1)
            if lsock.fileno() == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(lsock.fileno(), 3)
            env = dict(os.environ)
            for k in ("LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
                env.pop(k, None)
            env.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", DOCKCHAT_LOG="warn")
            # --listen names a port nobody uses: the daemon must serve on fd 3 instead.
            os.execve(daemon, [daemon, "demo", "--listen", "127.0.0.1:9", "--database-url", dburl], env)
        finally:
            os._exit(127)
    os.close(w)
    return pid, r


def wait_url(fd, limit=60):
    deadline = time.time() + limit
    buf = b""
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
            for line in buf.decode("utf-8", "replace").splitlines():
                if line.startswith("dockchat demo: open http://"):
                    return line.split("open ", 1)[1].rstrip("/")
    raise TimeoutError("no 'dockchat demo: open' line within %d s: %r" % (limit, buf))


def wait_exit(pid, limit=20):
    deadline = time.time() + limit
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise TimeoutError("daemon %d did not exit within %d s of SIGTERM" % (pid, limit))


def hammer(addr, stop, results):
    """GET /healthz back to back on fresh connections until `stop` is set."""
    while not stop.is_set():
        started = time.time()
        try:
            s = socket.create_connection(addr, timeout=30)
            s.settimeout(30)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "no response"
            results.put((started, status, time.time() - started))
        except ConnectionRefusedError:
            results.put((started, "REFUSED", time.time() - started))
        except OSError as err:
            results.put((started, "error: %s" % err, time.time() - started))


def main():
    daemon = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="dockchat-restart-")
    dburl = "sqlite://%s/demo.sqlite" % tmp
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4096)
    addr = lsock.getsockname()
    pids = []
    try:
        pid_a, out_a = spawn(daemon, lsock, dburl)
        pids.append(pid_a)
        base = wait_url(out_a)
        if base != "http://%s:%d" % addr:
            print("FAIL: the daemon announced %s, not the inherited socket %s:%d" % (base, *addr))
            return 1
        print("ok: first daemon (pid %d) serves the inherited socket %s" % (pid_a, base))

        # A logged-in client with one message sent.
        _, body = http_json(base + "/demo/users")
        users = json.loads(body)
        me, mate = None, None
        for a in users:
            for b in users:
                if a["id"] != b["id"] and {c["id"] for c in a["courses"]} & {c["id"] for c in b["courses"]}:
                    me, mate = me or a, mate or b
        _, body = http_json(base + "/demo/token", {"user": me["id"]})
        token = json.loads(body)["token"]
        ws, pending = handshake(addr[0], addr[1], "/ws", base)
        send_text(ws, json.dumps({"type": "hello", "v": 1, "token": token, "since": 0}))
        welcome, pending = wait_type(ws, pending, "welcome")
        send_text(ws, json.dumps({"type": "send", "to": mate["id"], "cid": "r-1", "text": "before restart"}))
        ack, pending = wait_type(ws, pending, "ack")
        cursor = ack["id"]
        print("ok: logged in as %s, message %d stored" % (welcome["user"]["fullname"], cursor))

        stop = threading.Event()
        results = queue.Queue()
        clients = [threading.Thread(target=hammer, args=(addr, stop, results)) for _ in range(2)]
        for t in clients:
            t.start()
        time.sleep(0.5)

        restart_at = time.time()
        os.kill(pid_a, signal.SIGTERM)
        # The WebSocket is told to come back: 1012.
        code = None
        while True:
            opcode, data, pending = read_frame(ws, pending)
            if opcode == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                break
        ws.close()
        rc = wait_exit(pid_a)
        pids.remove(pid_a)
        gap_start = time.time()
        # Nobody accepts for a moment, as during `systemctl restart`; connections queue meanwhile.
        time.sleep(1.0)
        pid_b, out_b = spawn(daemon, lsock, dburl)
        pids.append(pid_b)
        wait_url(out_b)
        gap = time.time() - gap_start
        print("ok: second daemon (pid %d) started; %.1f s without a daemon" % (pid_b, gap))
        time.sleep(1.0)
        stop.set()
        for t in clients:
            t.join(60)

        failures = 0
        if code != 1012:
            print("FAIL: the WebSocket was closed with %s, not 1012" % code)
            failures += 1
        else:
            print("ok: the WebSocket client got close code 1012")
        if rc != 0:
            print("FAIL: the first daemon exited with %s after SIGTERM" % rc)
            failures += 1
        answered = []
        while not results.empty():
            answered.append(results.get())
        during = [r for r in answered if r[0] >= restart_at]
        bad = [r for r in answered if r[1] != "200"]
        waited = max((r[2] for r in during), default=0)
        print("%s: %d requests (%d sent after SIGTERM, longest wait %.1f s), %d not answered 200%s"
              % ("ok" if not bad and during else "FAIL", len(answered), len(during), waited, len(bad),
                 ": %s" % sorted({r[1] for r in bad}) if bad else ""))
        if bad or not during:
            failures += 1

        # The client comes back to the new daemon and resumes.
        ws, pending = handshake(addr[0], addr[1], "/ws", base)
        send_text(ws, json.dumps({"type": "hello", "v": 1, "token": token, "since": cursor}))
        welcome, pending = wait_type(ws, pending, "welcome")
        send_text(ws, json.dumps({"type": "send", "to": mate["id"], "cid": "r-2", "text": "after restart"}))
        ack2, pending = wait_type(ws, pending, "ack")
        if ack2["id"] <= cursor:
            print("FAIL: message after the restart got id %s, not above %s" % (ack2["id"], cursor))
            failures += 1
        else:
            print("ok: reconnected with the same token, resumed from %d, message %d stored" % (cursor, ack2["id"]))
        ws.close()
        return 1 if failures else 0
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
                wait_exit(pid)
            except (OSError, TimeoutError):
                pass
        lsock.close()
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ConnectionError, ValueError, AssertionError, KeyError, TimeoutError) as err:
        print("FAIL: %s" % err)
        sys.exit(1)
