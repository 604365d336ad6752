"""HTTP fetching of feed bodies (I/O only; parsing is elsewhere).

Conditional GET (ETag / Last-Modified), connect and read timeouts plus a total
deadline, a cap on decoded bytes (gzip is decoded while streaming, so a small
compressed body cannot blow up in memory), redirects followed by hand and bounded,
Retry-After kept for 429/503. Every outcome is a value, never an exception, so one
bad feed cannot stop the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    max_bytes: int = 10 * 1024 * 1024


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


class HttpFetcher:
    """Thread-safe fetcher over one pooled httpx.Client."""

    def __init__(self, client: httpx.Client, *, total_timeout: float = 30.0, max_redirects: int = 5) -> None:
        self.client = client
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects

    @classmethod
    def create(cls, *, connect_timeout: float = 10.0, read_timeout: float = 20.0, total_timeout: float = 30.0,
               max_redirects: int = 5, user_agent: str = "ceasefire-watch", max_connections: int = 16) -> HttpFetcher:
        timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=total_timeout)
        client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent,
                     "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"},
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            trust_env=False,
        )
        return cls(client, total_timeout=total_timeout, max_redirects=max_redirects)

    def close(self) -> None:
        self.client.close()

    def fetch(self, request: FetchRequest) -> FetchResult:
        started = time.monotonic()
        deadline = started + self.total_timeout
        try:
            result = self._fetch(request, deadline)
        except _TooLarge:
            result = FetchResult("error", request.url, error=f"response larger than {request.max_bytes} bytes; aborted")
        except (_Deadline, httpx.TimeoutException) as exc:
            kind = "total deadline" if isinstance(exc, _Deadline) else type(exc).__name__
            result = FetchResult("error", request.url, error=f"timed out ({kind})")
        except httpx.HTTPError as exc:
            result = FetchResult("error", request.url, error=f"{type(exc).__name__}: {exc}"[:500])
        return _with_elapsed(result, time.monotonic() - started)

    def _fetch(self, request: FetchRequest, deadline: float) -> FetchResult:
        url, moved_to = request.url, None
        headers = _conditional_headers(request)
        for _hop in range(self.max_redirects + 1):
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code in REDIRECTS:
                    target = _redirect_target(url, response)
                    if target is None:
                        return FetchResult("error", request.url, response.status_code,
                                           error="redirect to a missing or non-http(s) location")
                    if response.status_code in (301, 308) and moved_to is None and _hop == 0:
                        moved_to = target
                    url = target
                    continue
                return self._complete(request, url, response, deadline, moved_to)
        return FetchResult("error", request.url, error=f"too many redirects (more than {self.max_redirects})")

    def _complete(self, request: FetchRequest, url: str, response: httpx.Response, deadline: float,
                  moved_to: str | None) -> FetchResult:
        status = response.status_code
        if status == 304:
            return FetchResult("not_modified", url, status, etag=request.etag,
                               last_modified=request.last_modified, moved_to=moved_to)
        if status >= 400:
            retry_after = parse_retry_after(response.headers.get("retry-after")) if status in (429, 503) else None
            return FetchResult("error", url, status, error=f"HTTP {status} {response.reason_phrase}".strip(),
                               retry_after=retry_after, moved_to=moved_to)
        body = _read_capped(response, request.max_bytes, deadline)
        return FetchResult("ok", url, status, body=body, etag=response.headers.get("etag"),
                           last_modified=response.headers.get("last-modified"), moved_to=moved_to)


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes and "content-encoding" not in response.headers:
        raise _TooLarge()
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():  # decoded (gzip/deflate) bytes
        size += len(chunk)
        if size > max_bytes:
            raise _TooLarge()
        if time.monotonic() > deadline:
            raise _Deadline()
        chunks.append(chunk)
    return b"".join(chunks)


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
    target = urljoin(url, location.strip())
    return target if urlsplit(target).scheme in ("http", "https") else None


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


def _with_elapsed(result: FetchResult, elapsed: float) -> FetchResult:
    return replace(result, elapsed=elapsed)
