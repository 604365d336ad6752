"""HTTP fetching of feed bodies (I/O only; parsing is elsewhere).

Conditional GET (ETag / Last-Modified); connect and read timeouts bounded by a TOTAL
deadline that a watchdog enforces by shutting the socket down (pipeline.watchdog:
one thread for every fetch's deadline, not a thread per fetch), so neither a server
that accepts and never answers nor one that drips a byte a second can hold a poll
longer than ``total_timeout``; a cap on decoded bytes (gzip/deflate are decoded here
with ``max_length``, so a bomb never expands past the cap even inside one chunk);
redirects followed by hand, at most ``max_redirects``, http(s) only, each hop and
the address actually connected to checked by pipeline.netguard before a request
is sent; Retry-After kept for 429/503. Every outcome is a value, never an
exception, so one bad feed cannot stop the others.

Requests go straight to an httpx transport, not through ``httpx.Client``: the
client's layers (cookie jar, auth flow, redirect machinery, default headers merged
per request) cost about as much CPU as the request itself and we need none of them:
redirects are followed here, by hand, and a feed must not carry cookies from one
feed to another. The default transport is pipeline.plainhttp (http.client: half the
CPU of httpx's pool); tests hand in their own.

Keep-alive (``fetch.keep_alive``, on by default): pipeline.plainhttp keeps idle
connections and sends the same trace event for a reused connection as for a new one,
so every fetch checks the address it is really talking to against its own policy
and registers the socket with its own deadline, before its request is written, on
a connection it opened or one another feed of the same host left. A connection is
only handed on by a fetch that ended without an error before its deadline
(``_Watchdog.release``, which also drops the socket from this fetch's watchdog so
a late deadline cannot cut the next fetch's request). With any other transport
(which may pool without those checks) requests say ``Connection: close``, as they
all did before.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline import watchdog as deadlines
from pipeline.netguard import DestinationNotAllowed, Guard, Policy
from pipeline.plainhttp import PlainTransport

REDIRECTS = {301, 302, 303, 307, 308}
_SLACK = 65536  # a compressed body may be a little larger than its decoded form


@dataclass(frozen=True)
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    max_bytes: int = 10 * 1024 * 1024
    allow_private: bool = False


@dataclass(frozen=True)
class FetchResult:
    """``outcome`` is ``ok``, ``not_modified`` or ``error``."""

    outcome: str
    url: str
    status: int | None = None
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry_after: float | None = None
    # A permanent redirect seen on the way, so the feed's stored URL can follow it.
    moved_to: str | None = None
    elapsed: float = 0.0


class Fetcher(Protocol):
    def fetch(self, request: FetchRequest) -> FetchResult: ...


class _TooLarge(Exception):
    pass


class _Deadline(Exception):
    pass


@dataclass
class _Watchdog:
    """Shuts down every socket of one fetch at its deadline, unblocking any read."""

    deadline: float
    guard: Guard
    policy: Policy
    fired: bool = False
    failed: bool = False  # set when the fetch raised: its connection is closed, never handed on
    streams: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, watchdog: deadlines.Watchdog) -> deadlines.Deadline:
        return watchdog.arm(self.deadline, self._fire)

    def _fire(self) -> None:
        with self.lock:
            self.fired = True
            for stream in self.streams:
                _shutdown(stream)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore trace hook: sees each new connection before any request is written."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        if stream is None:
            return
        if event == "connection.connect_tcp.complete":
            peer = stream.get_extra_info("server_addr")
            try:
                self.guard.check_ip(str(peer[0]) if peer else "?", self.policy)
            except DestinationNotAllowed:
                stream.close()
                raise
        with self.lock:
            self.streams.append(stream)
            if self.fired:
                _shutdown(stream)

    def release(self, stream: Any) -> bool:
        """Asked by the transport before it pools this fetch's connection for another fetch.

        Yes only if the fetch raised nothing and its deadline has not come (the watchdog
        may already have shut the socket, or is about to); and then the socket leaves
        this watchdog, under the lock ``_fire`` takes, so this deadline can never cut a
        request another fetch sends on it (that fetch registers it with its own)."""
        with self.lock:
            if self.fired or self.failed or time.monotonic() >= self.deadline:
                return False
            sock = stream.get_extra_info("socket")
            self.streams = [s for s in self.streams if s.get_extra_info("socket") is not sock]
            return True


def _shutdown(stream: Any) -> None:
    sock = stream.get_extra_info("socket")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass


_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


class HttpFetcher:
    """Thread-safe fetcher over one httpx transport (see the module docstring on keep-alive)."""

    def __init__(self, transport: httpx.BaseTransport, *, total_timeout: float = 30.0, max_redirects: int = 5,
                 connect_timeout: float = 10.0, read_timeout: float = 20.0, guard: Guard | None = None,
                 user_agent: str = "ceasefire-watch", watchdog: deadlines.Watchdog | None = None) -> None:
        self.transport = transport
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.guard = guard or Guard()
        self.watchdog = watchdog or deadlines.shared()
        self.headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate", "Accept": _ACCEPT}
        if not isinstance(transport, PlainTransport):
            # Another transport may reuse a connection without sending the trace event the
            # address check and the deadline hang on: make the server close each one.
            # PlainTransport says Connection: close itself when its keep-alive is off.
            self.headers["Connection"] = "close"

    @classmethod
    def create(cls, *, connect_timeout: float = 10.0, read_timeout: float = 20.0, total_timeout: float = 30.0,
               max_redirects: int = 5, user_agent: str = "ceasefire-watch", max_connections: int = 16,
               guard: Guard | None = None, transport: httpx.BaseTransport | None = None,
               keep_alive: bool = True) -> HttpFetcher:
        # max_connections is kept for callers: fetches at once are bounded by the
        # polling threads (fetch.concurrency); PlainTransport bounds only idle connections.
        transport = transport or PlainTransport(keep_alive=keep_alive)
        return cls(transport, total_timeout=total_timeout, max_redirects=max_redirects,
                   connect_timeout=connect_timeout, read_timeout=read_timeout, guard=guard,
                   user_agent=user_agent)

    def close(self) -> None:
        self.transport.close()

    def fetch(self, request: FetchRequest) -> FetchResult:
        started = time.monotonic()
        try:
            host = urlsplit(request.url).hostname
        except ValueError as exc:  # "http://[127.0.0.1/": urlsplit refuses it
            return replace(_error(request, f"invalid URL: {exc}"), elapsed=time.monotonic() - started)
        watch = _Watchdog(started + self.total_timeout, self.guard, self.guard.policy(host, request.allow_private))
        armed = watch.start(self.watchdog)
        try:
            result = self._fetch(request, watch)
        except _TooLarge:
            result = _error(request, f"response larger than {request.max_bytes} bytes; aborted")
        except DestinationNotAllowed as exc:
            result = _error(request, str(exc))
        except (_Deadline, httpx.TimeoutException, httpx.HTTPError, httpx.InvalidURL) as exc:
            result = _error(request, _describe(exc, watch.fired))
        except ValueError as exc:  # a redirect to a URL urlsplit refuses
            result = _error(request, f"invalid URL: {exc}")
        finally:
            armed.cancel()
        return replace(result, elapsed=time.monotonic() - started)

    def _timeout(self, deadline: float) -> dict[str, float]:
        left = max(0.01, deadline - time.monotonic())
        read = min(self.read_timeout, left)
        return {"connect": min(self.connect_timeout, left), "read": read, "write": read, "pool": left}

    def _send(self, url: str, headers: dict[str, str], watch: _Watchdog) -> httpx.Response:
        request = httpx.Request("GET", _parsed_url(url), headers=headers,
                                extensions={"timeout": self._timeout(watch.deadline), "trace": watch.trace,
                                            "keep_alive_release": watch.release, "deadline": watch.deadline})
        return self.transport.handle_request(request)

    def _fetch(self, request: FetchRequest, watch: _Watchdog) -> FetchResult:
        url, moved_to = request.url, None
        headers = {**self.headers, **_conditional_headers(request)}
        for hop in range(self.max_redirects + 1):
            self._check_hop(url, watch.policy)
            response = self._send(url, headers, watch)
            try:
                self._check_peer(response, watch.policy)
                if response.status_code in REDIRECTS:
                    target = _redirect_target(url, response)
                    if target is None:
                        return FetchResult("error", request.url, response.status_code,
                                           error="redirect without a Location")
                    if response.status_code in (301, 308) and hop == 0:
                        moved_to = target
                    url = target
                    continue
                return self._complete(request, url, response, watch, moved_to)
            except BaseException:
                watch.failed = True  # before close() below, which is when the transport asks
                raise
            finally:
                response.close()
        return _error(request, f"too many redirects (more than {self.max_redirects})")

    def _check_hop(self, url: str, policy: Policy) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise DestinationNotAllowed(f"destination not allowed: {parts.scheme or 'no'} URL (http/https only)")
        self.guard.check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), policy)

    def _check_peer(self, response: httpx.Response, policy: Policy) -> None:
        """The address this response really came from (also covers a connection not seen by trace)."""
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if peer:
            self.guard.check_ip(str(peer[0]), policy)

    def _complete(self, request: FetchRequest, url: str, response: httpx.Response, watch: _Watchdog,
                  moved_to: str | None) -> FetchResult:
        status = response.status_code
        if status == 304:
            return FetchResult("not_modified", url, status, etag=request.etag,
                               last_modified=request.last_modified, moved_to=moved_to)
        if status >= 400:
            retry_after = parse_retry_after(response.headers.get("retry-after")) if status in (429, 503) else None
            return FetchResult("error", url, status, error=f"HTTP {status} {response.reason_phrase}".strip(),
                               retry_after=retry_after, moved_to=moved_to)
        body = read_capped(response.headers, response.iter_raw(), request.max_bytes, watch.deadline)
        return FetchResult("ok", url, status, body=body, etag=response.headers.get("etag"),
                           last_modified=response.headers.get("last-modified"), moved_to=moved_to)


@lru_cache(maxsize=4096)
def _parsed_url(url: str) -> httpx.URL:
    """httpx's URL parsing is ~70 us, more than the rest of a 304 fetch's Python work;
    feeds are fetched again and again from the same URLs (URL objects are immutable)."""
    return httpx.URL(url)


def _error(request: FetchRequest, message: str) -> FetchResult:
    return FetchResult("error", request.url, error=message)


def _describe(exc: Exception, deadline_fired: bool) -> str:
    if deadline_fired or isinstance(exc, _Deadline):
        return "timed out (total deadline)"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"[:500]


def read_capped(headers: httpx.Headers, raw: Iterator[bytes], max_bytes: int, deadline: float) -> bytes:
    """The decoded body, refusing more than ``max_bytes`` decoded (and raw) bytes."""
    encoding = headers.get("content-encoding", "identity").strip().lower()
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + (_SLACK if encoding != "identity" else 0):
        raise _TooLarge()
    decoder = _Decoder(encoding, max_bytes)
    received = 0
    for chunk in raw:
        received += len(chunk)
        if received > max_bytes + _SLACK:
            raise _TooLarge()
        if time.monotonic() > deadline:
            raise _Deadline()
        decoder.feed(chunk)
    if time.monotonic() > deadline:  # the watchdog's shutdown looks like a clean end of body
        raise _Deadline()
    return decoder.finish()


class _Decoder:
    """identity, gzip or deflate (zlib or raw), never producing more than the cap."""

    def __init__(self, encoding: str, max_bytes: int) -> None:
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise httpx.DecodingError(f"unsupported content-encoding {encoding[:40]!r}")
        self.encoding = encoding if encoding in ("gzip", "deflate") else ("gzip" if encoding == "x-gzip" else "")
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.size = 0
        wbits = 16 + zlib.MAX_WBITS if self.encoding == "gzip" else zlib.MAX_WBITS
        self.zlib = zlib.decompressobj(wbits) if self.encoding else None
        self.first = True

    def feed(self, data: bytes) -> None:
        if self.zlib is None:
            return self._keep(data)
        try:
            self._inflate(data)
        except zlib.error as exc:
            if not (self.first and self.encoding == "deflate"):
                raise httpx.DecodingError(f"bad {self.encoding} body: {exc}") from None
            self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # servers send raw deflate too
            self._inflate(data)
        self.first = False

    def _inflate(self, data: bytes) -> None:
        assert self.zlib is not None
        while data:
            # max_length: one 64 KB chunk of a bomb would otherwise inflate to ~64 MB at once.
            self._keep(self.zlib.decompress(data, self.max_bytes - self.size + 1))
            data = self.zlib.unconsumed_tail

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise _TooLarge()
        self.parts.append(data)

    def finish(self) -> bytes:
        if self.zlib is not None:
            self._keep(self.zlib.flush(self.max_bytes - self.size + 1))
        return b"".join(self.parts)


def _conditional_headers(request: FetchRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    return headers


def _redirect_target(url: str, response: httpx.Response) -> str | None:
    location = response.headers.get("location")
    if not location:
        return None
    return urljoin(url, location.strip())  # the scheme and address are checked as the next hop


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
