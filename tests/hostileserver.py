"""A raw TCP server on a 127.0.0.x address that misbehaves on purpose, for the fault suite.

Each path maps to a behaviour: a huge body streamed with or without Content-Length,
gzip/deflate bombs, a slow drip, accepting and never answering, redirects, or a
plain answer. Bodies are generated while sending, so a 100 MB response costs the
test process no memory. Every request line is recorded, so a test can assert that
nothing reached a listener.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Callable
from functools import lru_cache

Behaviour = Callable[[socket.socket], None]


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(body: bytes, status: str = "200 OK", **headers: str) -> Behaviour:
    def run(conn: socket.socket) -> None:
        conn.sendall(_head(status, {"Content-Type": "application/rss+xml", "Content-Length": str(len(body)),
                                    **headers}) + body)
    return run


def redirect(location: str, status: str = "302 Found") -> Behaviour:
    return answer(b"", status, Location=location)


def huge(size: int, content_length: bool) -> Behaviour:
    def run(conn: socket.socket) -> None:
        headers = {"Content-Type": "application/rss+xml"}
        if content_length:
            headers["Content-Length"] = str(size)
        conn.sendall(_head("200 OK", headers) + b"<rss>")
        chunk = b" " * 65536
        for _ in range(size // len(chunk)):
            conn.sendall(chunk)
    return run


@lru_cache(maxsize=4)
def bomb_bytes(kind: str, size: int) -> bytes:
    """``size`` bytes of spaces compressed as gzip or zlib-deflate (about 1000:1)."""
    wbits = 31 if kind == "gzip" else 15
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    chunk = b" " * (1 << 20)
    parts = [packer.compress(b"<rss>")] + [packer.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


def bomb(kind: str, size: int) -> Behaviour:
    return answer(bomb_bytes(kind, size), **{"Content-Encoding": kind})


def drip(every: float = 0.2) -> Behaviour:
    def run(conn: socket.socket) -> None:
        conn.sendall(_head("200 OK", {"Content-Type": "application/rss+xml"}) + b"<rss>")
        for _ in range(10_000):
            time.sleep(every)
            conn.sendall(b" ")
    return run


def header_drip(every: float = 0.2) -> Behaviour:
    def run(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(10_000):
            time.sleep(every)
            conn.sendall(b"X-A: b\r\n")
    return run


def never_answer(hold: float = 30.0) -> Behaviour:
    def run(conn: socket.socket) -> None:
        time.sleep(hold)
    return run


class HostileServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Behaviour] = {}
        self.requests: list[str] = []
        self.connections = 0
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._handle(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.tcp = socketserver.ThreadingTCPServer((host, 0), Handler)
        self.tcp.daemon_threads = True
        threading.Thread(target=self.tcp.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.host, self.port = self.tcp.server_address[:2]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def hits(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r == path)

    def _handle(self, conn: socket.socket) -> None:
        self.connections += 1
        conn.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            piece = conn.recv(4096)
            if not piece:
                return
            data += piece
        path = data.split(b" ", 2)[1].decode("latin-1") if data.count(b" ") >= 2 else "?"
        self.requests.append(path)
        behaviour = self.routes.get(path, answer(b"not found", "404 Not Found"))
        try:
            behaviour(conn)
        except OSError:
            pass  # the client hung up: that is what most of these tests want

    def close(self) -> None:
        self.tcp.shutdown()
        self.tcp.server_close()
