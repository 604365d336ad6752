"""Keep-alive in the feed fetcher: reuse, and every guard on a reused connection.

Every server here is a raw HTTP/1.1 listener on 127.0.0.x written for these tests
(it counts the connections it accepts and numbers the requests on each), so a test
can say exactly which connection carried which request, and misbehave on purpose:
close an idle connection, send stray bytes, drop a request unanswered, answer
``Connection: close`` or HTTP/1.0 while keeping the socket open (so only the client's
own rules decide whether it is reused). Nothing here connects outside 127.0.0.0/8,
and no network library is mocked.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from conftest import make_certificate
from pipeline import netguard
from pipeline.fetch import FetchRequest, HttpFetcher, _Watchdog
from pipeline.netguard import Guard, Policy
from pipeline.plainhttp import PlainTransport


@dataclass
class Seen:
    conn: int    # which accepted connection carried it (1 = the first)
    index: int   # its place on that connection (0 = the connection's first request)
    path: str
    headers: dict[str, str]


Reply = Callable[[socket.socket, Seen], bool]  # sends the answer; False: the server closes the connection


class Server:
    """HTTP/1.1 on one 127.0.0.x address; ``routes`` maps a path to a Reply."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Reply] = {}
        self.seen: list[Seen] = []
        self.accepted = 0
        self.ended_by_client = 0  # connections the client closed (EOF where a request could start)
        self.tls = tls
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server((host, 0))
        self.host, self.port = self.listener.getsockname()[:2]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}{path}"

    def hits(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.close()
                except OSError:
                    pass

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                number = self.accepted
                self.sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        try:
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True)
            data, index = b"", 0
            while True:
                while b"\r\n\r\n" not in data:
                    piece = sock.recv(65536)
                    if not piece:
                        with self.lock:
                            self.ended_by_client += 1
                        return
                    data += piece
                head, data = data.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                seen = Seen(number, index, lines[0].split(" ")[1], headers)
                with self.lock:
                    self.seen.append(seen)
                index += 1
                if not self.routes.get(seen.path, answer(b"not found", "404 Not Found"))(sock, seen):
                    return
        except (OSError, ssl.SSLError):
            return  # the client hung up or reset: what several tests do on purpose
        finally:
            sock.close()


def answer(body: bytes = b"", status: str = "200 OK", version: str = "HTTP/1.1", length: bool = True,
           **headers: str) -> Reply:
    def run(sock: socket.socket, seen: Seen) -> bool:
        lines = [f"{version} {status}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
        if length:
            lines.append(f"Content-Length: {len(body)}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return length  # without a length the body ends when the server closes
    return run


NOT_MODIFIED = answer(status="304 Not Modified", ETag='"v1"')


def then_close(reply: Reply) -> Reply:
    """Answer, then close the connection (an idle-timeout close, without saying so)."""
    def run(sock: socket.socket, seen: Seen) -> bool:
        reply(sock, seen)
        return False
    return run


def drop(sock: socket.socket, seen: Seen) -> bool:
    """Close without a byte of answer: a keep-alive timeout racing our request."""
    return False


def first_request_only(reply: Reply) -> Reply:
    """Answer each connection's first request; drop any later one (the server just closed it)."""
    def run(sock: socket.socket, seen: Seen) -> bool:
        return reply(sock, seen) if seen.index == 0 else drop(sock, seen)
    return run


def with_stray_bytes(reply: Reply) -> Reply:
    """Answer, then a moment later send bytes nobody asked for (a forged next response)."""
    def run(sock: socket.socket, seen: Seen) -> bool:
        reply(sock, seen)
        time.sleep(0.05)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
        return True
    return run


def dripped(size: int = 1000, every: float = 0.1) -> Reply:
    def run(sock: socket.socket, seen: Seen) -> bool:
        sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n<rss>".encode())
        for _ in range(size):
            time.sleep(every)
            sock.sendall(b" ")
        return True
    return run


def header_drip(every: float = 0.1) -> Reply:
    """Headers a line at a time: no read ever times out, and no body check runs."""
    def run(sock: socket.socket, seen: Seen) -> bool:
        sock.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):
            time.sleep(every)
            sock.sendall(b"X-A: b\r\n")
        return False
    return run


@pytest.fixture
def server() -> Iterator[Server]:
    made = Server()
    yield made
    made.close()


def make(transport: PlainTransport | None = None, total: float = 5, guard: Guard | None = None) -> HttpFetcher:
    return HttpFetcher(transport or PlainTransport(), total_timeout=total, connect_timeout=2, read_timeout=5,
                       guard=guard)


def conditional(url: str, **kwargs: object) -> FetchRequest:
    return FetchRequest(url, etag='"v1"', **kwargs)  # type: ignore[arg-type]


def test_fetches_to_one_host_share_one_connection(server):
    server.routes["/a.xml"] = NOT_MODIFIED
    server.routes["/b.xml"] = answer(b"<rss/>", ETag='"b"')
    fetcher = make()
    outcomes = [fetcher.fetch(conditional(server.url(p))).outcome for p in ("/a.xml", "/b.xml", "/a.xml", "/b.xml")]
    assert outcomes == ["not_modified", "ok", "not_modified", "ok"]
    assert server.accepted == 1 and [s.index for s in server.seen] == [0, 1, 2, 3]
    assert "connection" not in server.seen[-1].headers  # HTTP/1.1: persistent unless someone says close
    fetcher.close()


def test_keep_alive_false_says_close_and_never_pools(server):
    server.routes["/a.xml"] = NOT_MODIFIED  # the server would keep the connection: the client must not
    transport = PlainTransport(keep_alive=False)
    fetcher = make(transport)
    for _ in range(3):
        assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"
    assert server.accepted == 3 and transport.pool.count() == 0
    assert all(s.headers.get("connection") == "close" for s in server.seen)
    app_made = HttpFetcher.create(keep_alive=False)  # fetch.keep_alive: false in the config
    assert isinstance(app_made.transport, PlainTransport) and app_made.transport.keep_alive is False


def test_an_idle_connection_the_server_closed_is_not_reused(server):
    server.routes["/a.xml"] = then_close(NOT_MODIFIED)
    fetcher = make()
    first = fetcher.fetch(conditional(server.url("/a.xml")))
    time.sleep(0.1)  # the server's FIN has arrived: the check before reuse sees EOF
    second = fetcher.fetch(conditional(server.url("/a.xml")))
    assert first.outcome == second.outcome == "not_modified"
    assert server.accepted == 2 and [s.index for s in server.seen] == [0, 0]


def test_stray_bytes_on_an_idle_connection_discard_it(server):
    server.routes["/a.xml"] = with_stray_bytes(answer(b"<rss>real</rss>"))
    fetcher = make()
    assert fetcher.fetch(FetchRequest(server.url("/a.xml"))).body == b"<rss>real</rss>"
    time.sleep(0.2)  # the forged response is waiting on the idle connection
    again = fetcher.fetch(FetchRequest(server.url("/a.xml")))
    assert again.outcome == "ok" and again.body == b"<rss>real</rss>"
    assert server.accepted == 2  # the connection with bytes on it was closed, not read


def test_a_connection_the_server_drops_as_we_reuse_it_is_retried_once(server):
    server.routes["/a.xml"] = first_request_only(NOT_MODIFIED)
    fetcher = make()
    assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"
    again = fetcher.fetch(conditional(server.url("/a.xml")))
    assert again.outcome == "not_modified", again
    # conn 1: the first fetch, then the dropped reuse; conn 2: the retry.
    assert [(s.conn, s.index) for s in server.seen] == [(1, 0), (1, 1), (2, 0)]


def test_only_a_reused_connection_is_retried_and_only_once(server):
    answered: list[int] = []

    def once_ever(sock: socket.socket, seen: Seen) -> bool:
        if answered:
            return drop(sock, seen)
        answered.append(1)
        return NOT_MODIFIED(sock, seen)

    server.routes["/a.xml"] = once_ever
    fetcher = make()
    assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"
    failed = fetcher.fetch(conditional(server.url("/a.xml")))
    assert failed.outcome == "error" and "RemoteDisconnected" in (failed.error or ""), failed
    assert [(s.conn, s.index) for s in server.seen] == [(1, 0), (1, 1), (2, 0)]  # one retry, fresh
    fresh = fetcher.fetch(conditional(server.url("/a.xml")))  # nothing pooled: a fresh failure
    assert fresh.outcome == "error" and len(server.seen) == 4 and server.accepted == 3


@pytest.mark.parametrize("reply", [
    answer(b"<rss/>", Connection="close"),
    answer(b"<rss/>", version="HTTP/1.0"),
    answer(b"<rss/>", length=False),  # the body ends when the server closes
], ids=["connection-close", "http-1.0", "no-length"])
def test_responses_that_end_the_connection_are_not_pooled(server, reply):
    # The server keeps the socket open after Connection: close and HTTP/1.0: only the
    # client's reading of the response decides.
    server.routes["/a.xml"] = reply
    transport = PlainTransport()
    fetcher = make(transport)
    for _ in range(2):
        assert fetcher.fetch(FetchRequest(server.url("/a.xml"))).body == b"<rss/>"
    assert server.accepted == 2 and transport.pool.count() == 0


def test_a_chunked_body_read_to_its_last_chunk_is_pooled(server):
    def chunked(sock: socket.socket, seen: Seen) -> bool:
        parts = [b"<rss>", b"x" * 70_000, b"</rss>"]
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n")
        return True

    server.routes["/c.xml"] = chunked
    fetcher = make()
    for _ in range(2):
        assert fetcher.fetch(FetchRequest(server.url("/c.xml"))).body == b"<rss>" + b"x" * 70_000 + b"</rss>"
    assert server.accepted == 1


def test_http_1_0_keep_alive_with_a_length_is_pooled(server):
    server.routes["/a.xml"] = answer(b"<rss/>", version="HTTP/1.0", Connection="keep-alive")
    fetcher = make()
    for _ in range(2):
        assert fetcher.fetch(FetchRequest(server.url("/a.xml"))).body == b"<rss/>"
    assert server.accepted == 1


def test_a_reused_connection_is_checked_against_the_policy_of_the_fetch_using_it():
    """Two feeds of one host name that resolves to a private address: the one with
    allow_private opens (and pools) the connection; the other must not send a byte on it."""
    private = Server("127.0.0.3")
    private.routes["/a.xml"] = NOT_MODIFIED

    class NameGuard(Guard):
        """The feed URL is treated as a name (its own class is not opened up) whose DNS
        answer passes: only the check of the address really connected can refuse."""

        def policy(self, feed_url_host: str | None, allow_private: bool = False) -> Policy:
            return Policy(frozenset({netguard.PUBLIC} | (netguard.OPENABLE if allow_private else set())))

        def check_host(self, host: str, port: int, policy: Policy) -> None:
            return None

    guard = NameGuard(classifier=lambda ip: netguard.PRIVATE if str(ip) == "127.0.0.3" else netguard.classify(ip))
    transport = PlainTransport()
    fetcher = make(transport, guard=guard)
    try:
        assert fetcher.fetch(conditional(private.url("/a.xml"), allow_private=True)).outcome == "not_modified"
        assert transport.pool.count() == 1
        refused = fetcher.fetch(conditional(private.url("/a.xml")))
        assert refused.outcome == "error" and "destination not allowed" in (refused.error or ""), refused
        assert len(private.seen) == 1  # nothing written on the pooled connection
        assert transport.pool.count() == 0 and private.accepted == 1  # closed, and no retry on a new one
        time.sleep(0.1)
        assert private.ended_by_client == 1
        # The feed allowed to reach it still can (on a new connection).
        assert fetcher.fetch(conditional(private.url("/a.xml"), allow_private=True)).outcome == "not_modified"
    finally:
        private.close()


@pytest.mark.parametrize("slow_reply", [header_drip(), dripped()], ids=["headers", "body"])
def test_the_deadline_of_the_fetch_using_a_reused_connection_cuts_it(server, slow_reply):
    server.routes["/a.xml"] = NOT_MODIFIED
    server.routes["/drip.xml"] = slow_reply
    transport = PlainTransport()
    # Read timeout 5 s and a byte every 0.1 s: only the watchdog holding the *reused*
    # socket for this fetch can end dripped headers at the 1 s deadline.
    fetcher = make(transport, total=1)
    assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"
    started = time.monotonic()
    slow = fetcher.fetch(FetchRequest(server.url("/drip.xml")))
    assert slow.outcome == "error" and "timed out" in (slow.error or ""), slow
    assert time.monotonic() - started < 1.6
    assert [(s.conn, s.index) for s in server.seen] == [(1, 0), (1, 1)]  # the drip came on the reused one
    assert transport.pool.count() == 0  # and a connection cut mid-response is not pooled
    assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"
    assert server.accepted == 2


def test_a_fetch_that_failed_after_reading_its_whole_body_does_not_hand_it_on(server):
    server.routes["/bad.xml"] = answer(b"not gzip at all", Content_Encoding="gzip")  # complete, undecodable
    transport = PlainTransport()
    fetcher = make(transport)
    result = fetcher.fetch(FetchRequest(server.url("/bad.xml")))
    assert result.outcome == "error" and "DecodingError" in (result.error or "")
    assert transport.pool.count() == 0


def test_unread_bodies_and_redirects_close_the_connection(server):
    server.routes["/gone.xml"] = answer(b"gone for good" * 100, "410 Gone")  # the fetcher never reads it
    server.routes["/old.xml"] = answer(b"moved", "301 Moved Permanently", Location="/new.xml")
    server.routes["/new.xml"] = NOT_MODIFIED
    transport = PlainTransport()
    fetcher = make(transport)
    assert fetcher.fetch(FetchRequest(server.url("/gone.xml"))).status == 410
    assert transport.pool.count() == 0
    moved = fetcher.fetch(conditional(server.url("/old.xml")))
    assert moved.outcome == "not_modified" and moved.moved_to == server.url("/new.xml")
    assert [(s.path, s.conn) for s in server.seen] == [("/gone.xml", 1), ("/old.xml", 2), ("/new.xml", 3)]
    assert transport.pool.count() == 1  # the 304 at the end of the redirect


def test_release_hands_the_socket_over_and_a_late_deadline_leaves_it_alone(server):
    """The race behind pooling: the fetch that pooled a connection has a deadline that may
    still fire; once released, it must not shut the socket the next fetch is using."""
    sock = socket.create_connection((server.host, server.port))
    try:
        from pipeline.plainhttp import _Stream

        stream = _Stream(sock)
        watch = _Watchdog(time.monotonic() + 60, Guard(), Guard().policy("127.0.0.1"))
        watch.trace("connection.connect_tcp.complete", {"return_value": stream})
        assert watch.release(stream) is True and watch.streams == []
        watch._fire()
        sock.settimeout(0.2)
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")  # still open both ways
        assert sock.recv(100).startswith(b"HTTP/1.1 404")
        failed = _Watchdog(time.monotonic() + 60, Guard(), Guard().policy("127.0.0.1"), failed=True)
        late = _Watchdog(time.monotonic() - 1, Guard(), Guard().policy("127.0.0.1"))
        fired = _Watchdog(time.monotonic() + 60, Guard(), Guard().policy("127.0.0.1"), fired=True)
        assert not any(w.release(stream) for w in (failed, late, fired))
    finally:
        sock.close()


def test_idle_connections_expire_and_are_bounded():
    servers = [Server() for _ in range(3)]
    for made in servers:
        made.routes["/slow.xml"] = lambda sock, seen: (time.sleep(0.2), NOT_MODIFIED(sock, seen))[1]
    transport = PlainTransport(max_idle_per_host=2, max_idle=3, idle_timeout=0.5)
    fetcher = make(transport)
    try:
        threads = [threading.Thread(target=fetcher.fetch, args=(conditional(made.url("/slow.xml")),))
                   for made in servers for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert [made.accepted for made in servers] == [4, 4, 4]  # 4 at once: 4 connections each
        keys = [("http", made.host, made.port) for made in servers]
        assert all(transport.pool.count(key) <= 2 for key in keys) and transport.pool.count() == 3
        time.sleep(0.6)  # past the idle timeout: not reused, and dropped from the pool
        assert fetcher.fetch(conditional(servers[0].url("/slow.xml"))).outcome == "not_modified"
        assert servers[0].accepted == 5 and transport.pool.count() == 1
        fetcher.close()
        assert transport.pool.count() == 0
        time.sleep(0.1)
        assert sum(made.ended_by_client for made in servers) == 13  # every connection was closed by us
    finally:
        for made in servers:
            made.close()


def test_a_forked_child_does_not_use_the_parents_idle_connections(server):
    import os

    server.routes["/a.xml"] = NOT_MODIFIED
    transport = PlainTransport()
    fetcher = make(transport)
    assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"
    assert transport.pool.count() == 1
    pid = os.fork()
    if pid == 0:  # the child: its own connection, or none
        code = 0 if transport.pool.count() == 0 else 1
        code = code or (0 if fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified" else 2)
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"  # ours still works
    assert server.accepted == 2 and [(s.conn, s.index) for s in server.seen] == [(1, 0), (2, 0), (1, 1)]


@pytest.fixture
def tls_context(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a certificate made for the test."""
    cert, key = make_certificate(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    return server_side, ssl.create_default_context(cafile=str(cert))


def test_tls_connections_are_reused_and_still_cut_at_the_deadline(tls_context):
    server_side, client_side = tls_context
    server = Server(tls=server_side)
    server.routes["/a.xml"] = NOT_MODIFIED
    server.routes["/drip.xml"] = header_drip()
    try:
        fetcher = make(PlainTransport(client_side), total=1)
        for _ in range(3):  # TLS 1.3 session tickets after the handshake must not look like stray bytes
            assert fetcher.fetch(conditional(server.url("/a.xml"))).outcome == "not_modified"
        assert server.accepted == 1
        started = time.monotonic()
        slow = fetcher.fetch(FetchRequest(server.url("/drip.xml")))
        assert slow.outcome == "error" and "timed out" in (slow.error or "") and time.monotonic() - started < 1.6
        assert server.hits("/drip.xml")[0].conn == 1
    finally:
        server.close()
