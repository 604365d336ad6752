"""The HTTP fetcher against a real local server: conditional GET, caps, redirects, errors."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

import hostileserver as hs
from conftest import make_certificate
from pipeline import netguard
from pipeline.fetch import FetchRequest, HttpFetcher, parse_retry_after
from pipeline.plainhttp import PlainTransport
from pipeline.watchdog import Watchdog


def fetcher(**kwargs) -> HttpFetcher:
    return HttpFetcher.create(connect_timeout=2, read_timeout=2, total_timeout=kwargs.pop("total", 5), **kwargs)


def test_conditional_get_sends_validators_and_gets_304(feed_server):
    url = feed_server.set("/f.xml", "<rss/>", etag='"e1"', last_modified="Wed, 01 Jan 2026 00:00:00 GMT")
    client = fetcher()
    first = client.fetch(FetchRequest(url))
    assert first.outcome == "ok" and first.etag == '"e1"' and first.body == b"<rss/>"
    second = client.fetch(FetchRequest(url, etag=first.etag, last_modified=first.last_modified))
    assert second.outcome == "not_modified"
    assert feed_server.hits("/f.xml")[-1].headers["if-modified-since"] == "Wed, 01 Jan 2026 00:00:00 GMT"


def test_decoded_size_cap_applies_to_gzip(feed_server):
    bomb = gzip.compress(b"<rss>" + b" " * 5_000_000)
    url = feed_server.set("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    result = fetcher().fetch(FetchRequest(url, max_bytes=1_000_000))
    assert result.outcome == "error" and "larger than" in result.error
    ok = fetcher().fetch(FetchRequest(url, max_bytes=10_000_000))
    assert ok.outcome == "ok" and len(ok.body) == 5_000_005


def test_redirects_are_followed_and_bounded(feed_server):
    target = feed_server.set("/new.xml", "<rss/>")
    feed_server.set("/old.xml", "", status=301, headers={"Location": "/new.xml"})
    moved = fetcher().fetch(FetchRequest(feed_server.url("/old.xml")))
    assert moved.outcome == "ok" and moved.moved_to == target
    feed_server.set("/loop.xml", "", status=302, headers={"Location": "/loop.xml"})
    loop = fetcher(max_redirects=3).fetch(FetchRequest(feed_server.url("/loop.xml")))
    assert loop.outcome == "error" and "too many redirects" in loop.error
    assert len(feed_server.hits("/loop.xml")) == 4
    feed_server.set("/file.xml", "", status=302, headers={"Location": "file:///etc/passwd"})
    assert "destination not allowed" in fetcher().fetch(FetchRequest(feed_server.url("/file.xml"))).error


def test_rate_limit_keeps_retry_after(feed_server):
    url = feed_server.set("/busy.xml", "slow down", status=429, headers={"Retry-After": "120"})
    result = fetcher().fetch(FetchRequest(url))
    assert result.outcome == "error" and result.status == 429 and result.retry_after == 120


def test_total_deadline_and_refused_connection(feed_server):
    url = feed_server.set("/slow.xml", "<rss/>", delay=3)
    slow = fetcher(total=1).fetch(FetchRequest(url))
    assert slow.outcome == "error" and "timed out" in slow.error
    refused = fetcher().fetch(FetchRequest("http://127.0.0.1:9/none.xml"))
    assert refused.outcome == "error" and "Connect" in refused.error


def test_parse_retry_after_forms():
    assert parse_retry_after("5") == 5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize("keep_alive", [True, False])
def test_requests_carry_no_cookies_from_earlier_fetches(feed_server, keep_alive):
    first = feed_server.set("/a.xml", "<rss/>", headers={"Set-Cookie": "session=secret; Path=/"})
    second = feed_server.set("/b.xml", "<rss/>")
    client = fetcher(keep_alive=keep_alive)
    assert client.fetch(FetchRequest(first)).outcome == "ok"
    assert client.fetch(FetchRequest(second)).outcome == "ok"  # on the same connection, with keep-alive
    sent = feed_server.hits("/b.xml")[-1].headers
    assert "cookie" not in sent
    assert sent["user-agent"] == "ceasefire-watch" and sent["accept-encoding"] == "gzip, deflate"
    # The transport owns the Connection header: close only when it will not keep the connection.
    assert sent.get("connection") == (None if keep_alive else "close")
    client.close()


def _chunked(parts: list[bytes]):
    def run(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"c1\"\r\n\r\n")
        for part in parts:
            conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        conn.sendall(b"0\r\n\r\n")
    return run


def test_chunked_bodies_are_joined_and_capped():
    server = hs.HostileServer()
    try:
        server.routes["/c"] = _chunked([b"<rss>", b"x" * 70_000, b"</rss>"])
        got = fetcher().fetch(FetchRequest(server.url("/c")))
        assert got.outcome == "ok" and got.body == b"<rss>" + b"x" * 70_000 + b"</rss>" and got.etag == '"c1"'
        capped = fetcher().fetch(FetchRequest(server.url("/c"), max_bytes=1000))
        assert capped.outcome == "error" and "larger than" in capped.error
    finally:
        server.close()


def test_the_connected_address_is_checked_before_the_request_is_written(feed_server):
    """A guard whose name check lets everything through: the check of the socket
    actually connected still refuses, and the server never sees a request."""
    url = feed_server.set("/x.xml", "<rss/>")

    class LyingGuard(netguard.Guard):
        def check_host(self, host: str, port: int, policy: netguard.Policy) -> None:
            return None

    guard = LyingGuard(classifier=lambda ip: netguard.LINK_LOCAL)  # 127.0.0.1 "is" link-local
    result = fetcher(guard=guard).fetch(FetchRequest(url, allow_private=True))
    assert result.outcome == "error" and "destination not allowed" in result.error
    assert feed_server.hits("/x.xml") == []


def test_a_malformed_url_is_an_error_value_not_an_exception():
    result = fetcher().fetch(FetchRequest("http://[127.0.0.1/feed"))
    assert result.outcome == "error" and result.error


def test_one_watchdog_thread_serves_every_fetch(feed_server, monkeypatch):
    url = feed_server.set("/w.xml", "<rss/>")
    client = fetcher()
    client.fetch(FetchRequest(url))
    started: list[str] = []
    original = threading.Thread.start

    def spy(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", spy)
    for _ in range(30):
        assert client.fetch(FetchRequest(url)).outcome == "ok"
    monkeypatch.undo()
    # The server starts a thread per request; the fetcher none (it started a Timer per fetch).
    assert [name for name in started if "process_request" not in name] == []
    assert [t.name for t in threading.enumerate()].count("fetch-deadlines") == 1


def test_watchdog_fires_due_deadlines_in_order_and_never_cancelled_ones():
    dog = Watchdog()
    fired: list[str] = []
    start = time.monotonic()
    dog.arm(start + 0.15, lambda: fired.append("late"))
    cancelled = dog.arm(start + 0.05, lambda: fired.append("cancelled"))
    dog.arm(start + 0.10, lambda: fired.append("early"))
    dog.arm(start + 0.01, lambda: 1 / 0)  # an action that raises does not stop the thread
    cancelled.cancel()
    deadline = time.monotonic() + 3
    while len(fired) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fired == ["early", "late"]
    assert time.monotonic() - start >= 0.15
    assert dog.pending() == 0  # the cancelled entry was dropped, not kept


@pytest.mark.parametrize("path", ["/feed/\u043d\u043e\u0432\u0438\u043d\u0438.xml", "/a%20b.xml?x=1&y=%C3%A9"])
def test_paths_are_sent_percent_encoded(feed_server, path):
    encoded = quote(path, safe="/%?=&")
    feed_server.set(encoded, "<rss/>")
    result = fetcher().fetch(FetchRequest(feed_server.base + path))
    assert result.outcome == "ok", result


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate made for the test."""
    cert, key = make_certificate(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/drip.xml":  # headers a line at a time: no read ever times out
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(50):
                    time.sleep(0.1)
                    self.wfile.write(b"X-A: b\r\n")
                    self.wfile.flush()
                return
            body = b"<rss>over tls</rss>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", '"t1"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.handle_error = lambda request, address: None  # the client hanging up mid-drip is the point
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/feed.xml", cert
    httpd.shutdown()
    httpd.server_close()


def test_https_is_verified_and_the_tls_socket_is_watched(tls_server):
    url, cert = tls_server
    trusted = HttpFetcher(PlainTransport(ssl.create_default_context(cafile=str(cert))), total_timeout=5)
    got = trusted.fetch(FetchRequest(url, allow_private=True))
    assert got.outcome == "ok" and got.body == b"<rss>over tls</rss>" and got.etag == '"t1"'
    # The default context (certifi's CAs) does not know this certificate: refused.
    refused = fetcher().fetch(FetchRequest(url, allow_private=True))
    assert refused.outcome == "error" and "CERTIFICATE_VERIFY_FAILED" in refused.error
    # The deadline watchdog holds the TLS socket (not only the TCP socket under it, which
    # TLS takes over): headers dripped a line at a time are cut at the total deadline.
    hurried = HttpFetcher(PlainTransport(ssl.create_default_context(cafile=str(cert))), total_timeout=1,
                          read_timeout=5)
    started = time.monotonic()
    slow = hurried.fetch(FetchRequest(url.replace("/feed.xml", "/drip.xml"), allow_private=True))
    assert slow.outcome == "error" and "timed out" in slow.error and time.monotonic() - started < 2.5
