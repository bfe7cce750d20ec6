#!/usr/bin/env python3
"""Fault-injection TCP servers for the Lua conformance corpus.

Listens on one free loopback port per behaviour (plus one unix-domain socket),
prints a single JSON line  {"echo": PORT, ..., "unix_echo": "/path"}  on stdout
once every listener is ready, and runs until it is killed or its stdin is closed
(pass --ignore-stdin to keep running with stdin at EOF, e.g. under nohup).

Behaviours (one port each):
  echo            echoes every byte back; closes when the client closes
  close_mid_line  sends "hello wor" then closes
  close_now       accepts and closes at once (no bytes)
  reset           sends "partial" then, 100 ms later, resets the connection (SO_LINGER 0)
  mute            accepts, never answers; silently discards what it is sent; keeps the connection open
  greet_lines     sends "line1\\r\\nline2\\nlast-no-newline" then closes
  http            reads a request head (up to CRLFCRLF) and answers
                  "HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\nConnection: close\\r\\n\\r\\nhello", then closes
  slow_drip       sends SLOW_DRIP_PAYLOAD one byte every 50 ms, then closes
  stall           sends "hello " at once, then "world\\r\\n" 500 ms later, then closes
  no_read         never reads (SO_RCVBUF 4096 on the listener) so the client's sends block: send timeouts
  full_backlog    listen(backlog=1), never accepts, its queue filled by the server's own client
                  connections, so further connects hang: connect timeouts
  read_then_close waits for a request, reads until the client has been quiet for 100 ms,
                  then closes (shutdown(SHUT_WR), no RST): "the server hung up after my request"
  boundary        sends BOUNDARY_PAYLOAD then closes
  big             sends BIG_SIZE bytes ("0123456789" repeated) then closes
  unix_echo       echo server on a unix-domain socket (its path is printed instead of a port)
  udp_echo        UDP: answers each datagram with the same bytes; "burst" is answered with
                  three datagrams "one", "two", "three"
  udp_mute        UDP: reads datagrams and never answers: read timeouts
  unix_dgram_echo datagram unix-domain socket answering as udp_echo (a path)
"""

import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

SLOW_DRIP_PAYLOAD = b"hello--abc--world\r\n"
BOUNDARY_PAYLOAD = b"first--abcsecond---abcthird--ab--abcfourth--a"
BIG_SIZE = 100000
HTTP_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                 b"Connection: close\r\n\r\nhello")

_keep = []  # sockets that must stay open for the life of the process


def spawn(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def safe_close(conn):
    try:
        conn.close()
    except OSError:
        pass


def drain_until_eof(conn):
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


# ---- per-connection behaviours -------------------------------------------

def h_echo(conn):
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    safe_close(conn)


def h_close_mid_line(conn):
    try:
        conn.sendall(b"hello wor")
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    time.sleep(0.05)
    safe_close(conn)


def h_close_now(conn):
    safe_close(conn)


def h_reset(conn):
    try:
        conn.sendall(b"partial")
        time.sleep(0.1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    safe_close(conn)


def h_mute(conn):
    drain_until_eof(conn)
    safe_close(conn)


def h_greet_lines(conn):
    try:
        conn.sendall(b"line1\r\nline2\nlast-no-newline")
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    time.sleep(0.05)
    safe_close(conn)


def h_http(conn):
    buf = b""
    try:
        conn.settimeout(10)
        while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
        conn.sendall(HTTP_RESPONSE)
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.05)
    except OSError:
        pass
    safe_close(conn)


def h_slow_drip(conn):
    try:
        for i in range(len(SLOW_DRIP_PAYLOAD)):
            conn.sendall(SLOW_DRIP_PAYLOAD[i:i + 1])
            time.sleep(0.05)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    time.sleep(0.05)
    safe_close(conn)


def h_stall(conn):
    try:
        conn.sendall(b"hello ")
        time.sleep(0.5)
        conn.sendall(b"world\r\n")
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    time.sleep(0.05)
    safe_close(conn)


def h_no_read(conn):
    # Never read; keep the connection until the peer goes away (poll for
    # POLLRDHUP-ish conditions is not portable, so just hold it for a while).
    _keep.append(conn)


def h_read_then_close(conn):
    # wait for a request, read until the client is quiet for 100 ms, then close
    # gracefully (nothing unread, so a FIN and no RST)
    try:
        data = conn.recv(65536)
        conn.settimeout(0.1)
        while data:
            try:
                data = conn.recv(65536)
            except socket.timeout:
                break
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(2)
        drain_until_eof(conn)
    except OSError:
        pass
    safe_close(conn)


def h_boundary(conn):
    try:
        conn.sendall(BOUNDARY_PAYLOAD)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    time.sleep(0.05)
    safe_close(conn)


def h_big(conn):
    try:
        conn.sendall((b"0123456789" * (BIG_SIZE // 10 + 1))[:BIG_SIZE])
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    drain_until_eof(conn)
    safe_close(conn)


BEHAVIOURS = {
    "echo": h_echo,
    "close_mid_line": h_close_mid_line,
    "close_now": h_close_now,
    "reset": h_reset,
    "mute": h_mute,
    "greet_lines": h_greet_lines,
    "http": h_http,
    "slow_drip": h_slow_drip,
    "stall": h_stall,
    "no_read": h_no_read,
    "read_then_close": h_read_then_close,
    "boundary": h_boundary,
    "big": h_big,
}


# ---- listeners -------------------------------------------------------------

def accept_loop(lsock, handler):
    while True:
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        spawn(handler, conn)


def tcp_listener(rcvbuf=None, backlog=128):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("127.0.0.1", 0))
    s.listen(backlog)
    return s


def make_full_backlog():
    """A listener with backlog 1 that never accepts, its accept queue filled
    by our own connections so that any further connect hangs (SYN dropped)."""
    s = tcp_listener(backlog=1)
    _keep.append(s)
    addr = s.getsockname()
    filled = 0
    for _ in range(16):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        err = c.connect_ex(addr)
        if err not in (0, 115, 36, 10035):  # EINPROGRESS variants
            c.close()
            break
        _, w, _ = select.select([], [c], [], 0.3)
        if not w or c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            # this connect hangs: the queue is full
            c.close()
            break
        _keep.append(c)
        filled += 1
    return s


def udp_echo_loop(sock):
    while True:
        try:
            data, peer = sock.recvfrom(65536)
            replies = [b"one", b"two", b"three"] if data == b"burst" else [data]
            for reply in replies:
                sock.sendto(reply, peer)
        except OSError:
            if sock.fileno() < 0:
                return


def udp_mute_loop(sock):
    while True:
        try:
            sock.recvfrom(65536)
        except OSError:
            return


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("127.0.0.1", 0))
    _keep.append(s)
    return s


def main():
    ignore_stdin = "--ignore-stdin" in sys.argv[1:]
    # SIGTERM/SIGHUP: leave through the finally below, removing the unix socket
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(0))
    ports = {}
    for name, handler in BEHAVIOURS.items():
        rcvbuf = 4096 if name == "no_read" else None
        ls = tcp_listener(rcvbuf=rcvbuf)
        _keep.append(ls)
        ports[name] = ls.getsockname()[1]
        spawn(accept_loop, ls, handler)

    fb = make_full_backlog()
    ports["full_backlog"] = fb.getsockname()[1]

    tmpdir = tempfile.mkdtemp(prefix="cosocket-fault-")
    upath = os.path.join(tmpdir, "echo.sock")
    us = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    us.bind(upath)
    us.listen(128)
    _keep.append(us)
    spawn(accept_loop, us, h_echo)
    ports["unix_echo"] = upath

    for name, loop in (("udp_echo", udp_echo_loop), ("udp_mute", udp_mute_loop)):
        us = udp_socket()
        ports[name] = us.getsockname()[1]
        spawn(loop, us)
    dpath = os.path.join(tmpdir, "echo.dgram")
    ds = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ds.bind(dpath)
    _keep.append(ds)
    spawn(udp_echo_loop, ds)
    ports["unix_dgram_echo"] = dpath

    sys.stdout.write(json.dumps(ports) + "\n")
    sys.stdout.flush()

    try:
        if ignore_stdin:
            while True:
                time.sleep(3600)
        else:
            while sys.stdin.buffer.read(65536):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        try:
            os.unlink(upath)
            os.unlink(dpath)
            os.rmdir(tmpdir)
        except OSError:
            pass


if __name__ == "__main__":
    main()
