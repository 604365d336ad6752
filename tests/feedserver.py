"""A real HTTP server on 127.0.0.1 serving fixture feeds, for tests.

Routes are set per test: body, status, headers, ETag / Last-Modified (answering 304
to a matching conditional request), and a delay. Every request is recorded so tests
can assert what the client sent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    content_type: str = "application/rss+xml; charset=utf-8"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when it arrived, for schedule checks


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms delay per keep-alive request
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                server._serve(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def set(self, path: str, body: bytes | str = b"", **kwargs: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(Request(handler.path, {k.lower(): v for k, v in handler.headers.items()}))
        route = self.routes.get(handler.path)
        if route is None:
            return self._reply(handler, 404, b"not found", {"Content-Type": "text/plain"})
        if route.delay:
            time.sleep(route.delay)
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if (route.etag and handler.headers.get("If-None-Match") == route.etag) or (
                route.last_modified and handler.headers.get("If-Modified-Since") == route.last_modified):
            return self._reply(handler, 304, b"", headers)
        self._reply(handler, route.status, route.body, headers)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if body and status != 304:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def rss(items: list[dict[str, object]], title: str = "Test feed") -> str:
    """An RSS 2.0 document; items have title, link, guid, description, published (datetime)."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
             "<link>http://127.0.0.1/</link><description>fixture</description>"]
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description"):
            if item.get(key) is not None:
                parts.append(f"<{key}>{escape(str(item[key]))}</{key}>")
        published = item.get("published")
        if isinstance(published, datetime):
            parts.append(f"<pubDate>{format_datetime(published.astimezone(timezone.utc), usegmt=True)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)
