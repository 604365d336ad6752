"""CPU per conditional GET answered 304: the fetch part of a warm poll, alone.

The feed server runs in its own process (bench.feedserver), so the figure is only the
poller's CPU (``time.process_time``, which counts every thread of this process: the
deadline watchdog included). Feeds are fetched once to learn their ETags, then again
with them, one after another on one thread, all from one host (as a news site's
section feeds are).

Four ways, measured in the same run and interleaved pass by pass (another process
busy on the same cores then slows them all alike, so their ratios hold):

- HttpFetcher with keep-alive (the default: idle connections reused, every guard
  re-run on each reuse);
- HttpFetcher with ``keep_alive=False`` (a new connection per fetch, ``Connection: close``);
- the floors: a bare ``http.client`` GET with the same headers and no safety checks,
  on a new connection each time and on one reused connection: what any HTTP client
  must spend.

    python -m bench fetch [--quick]
    python -m bench.fetch_cpu [FEEDS]      # the figures only, for quick comparisons
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.feedserver import FeedServerProcess
from bench.report import Figure
from pipeline.fetch import FetchRequest, HttpFetcher

_HEADERS = {"User-Agent": "ceasefire-watch", "Accept-Encoding": "gzip, deflate"}


@dataclass
class Measured:
    """Median CPU seconds per 304 of each way, and how many of the feeds answered 304."""

    keep_alive: float
    no_keep_alive: float
    bare_new: float
    bare_reused: float
    not_modified: int


def _bare_get(conn: http.client.HTTPConnection, path: str, etag: str | None, close: bool) -> int:
    headers = {**_HEADERS, "If-None-Match": etag or ""}
    if close:
        headers["Connection"] = "close"
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _bare_new(url: str, etag: str | None) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        return _bare_get(conn, parts.path, etag, close=True)
    finally:
        conn.close()


def _bare_reused(conn: http.client.HTTPConnection) -> Callable[[FetchRequest], int]:
    def get(request: FetchRequest) -> int:
        return _bare_get(conn, urlsplit(request.url).path, request.etag, close=False)
    return get


def cpu_per_fetch(fetch: Callable[[FetchRequest], object], requests: list[FetchRequest]) -> float:
    """CPU seconds per fetch over one pass of ``requests``."""
    started = time.process_time()
    for request in requests:
        fetch(request)
    return (time.process_time() - started) / len(requests)


def measure(feeds: int, runs: int) -> Measured:
    with FeedServerProcess(feeds, (1, 1), 5) as server:
        kept, fresh = HttpFetcher.create(keep_alive=True), HttpFetcher.create(keep_alive=False)
        parts = urlsplit(server.base)
        bare = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            first = [kept.fetch(FetchRequest(server.url(n), allow_private=True)) for n in range(feeds)]
            requests = [FetchRequest(server.url(n), etag=r.etag, last_modified=r.last_modified, allow_private=True)
                        for n, r in enumerate(first)]
            outcomes = [kept.fetch(r).outcome for r in requests]
            fresh.fetch(requests[0])
            ways: dict[str, Callable[[FetchRequest], object]] = {
                "keep_alive": kept.fetch, "no_keep_alive": fresh.fetch,
                "bare_new": lambda r: _bare_new(r.url, r.etag), "bare_reused": _bare_reused(bare)}
            samples: dict[str, list[float]] = {name: [] for name in ways}
            for _ in range(max(1, runs)):  # interleaved: a busy neighbour slows every way alike
                for name, way in ways.items():
                    samples[name].append(cpu_per_fetch(way, requests))
        finally:
            kept.close()
            fresh.close()
            bare.close()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return Measured(not_modified=outcomes.count("not_modified"), **medians)


def run(runs: int = 5, quick: bool = False) -> list[Figure]:
    feeds = 100 if quick else 300
    m = measure(feeds, runs)
    note = f"{m.not_modified} of {feeds} feeds answered 304; one host, one thread"
    return [
        Figure("fetch: CPU per conditional GET answered 304 (HttpFetcher, keep-alive)", m.keep_alive * 1000,
               "ms CPU/fetch", naive=f"keep-alive off: {m.no_keep_alive * 1000:.3f} ms",
               ratio=m.no_keep_alive / m.keep_alive if m.keep_alive else None, note=note),
        Figure("fetch: CPU per 304, HttpFetcher, keep-alive off", m.no_keep_alive * 1000, "ms CPU/fetch",
               naive=f"bare http.client GET, new connection, no guards: {m.bare_new * 1000:.3f} ms",
               ratio=m.bare_new / m.no_keep_alive if m.no_keep_alive else None),
        Figure("fetch: CPU per 304, bare http.client on one reused connection (the floor)", m.bare_reused * 1000,
               "ms CPU/fetch"),
    ]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    got = measure(count, 5)
    print(f"HttpFetcher 304, keep-alive on: {got.keep_alive * 1000:.3f} ms CPU/fetch; "
          f"keep-alive off: {got.no_keep_alive * 1000:.3f} ms (on/off = {got.keep_alive / got.no_keep_alive:.2f})")
    print(f"bare http.client: {got.bare_new * 1000:.3f} ms on a new connection, "
          f"{got.bare_reused * 1000:.3f} ms on a reused one; {got.not_modified}/{count} answered 304")
