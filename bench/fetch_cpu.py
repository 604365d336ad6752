"""CPU per conditional GET answered 304: the fetch part of a warm poll, alone.

The feed server runs in its own process (bench.feedserver), so the figure is only the
poller's CPU (``time.process_time``, which counts every thread of this process: the
deadline watchdog included). Feeds are fetched once to learn their ETags, then again
with them, one after another on one thread. The floor is a bare ``http.client``
GET with the same headers and no safety checks: what any HTTP client must spend.

    python -m bench fetch [--quick]
    python -m bench.fetch_cpu [FEEDS]      # the figures only, for quick comparisons
"""

from __future__ import annotations

import http.client
import sys
import time
from urllib.parse import urlsplit

from bench.feedserver import FeedServerProcess
from bench.report import Figure, median_runs
from pipeline.fetch import FetchRequest, HttpFetcher


def _bare_get(url: str, etag: str | None) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("GET", parts.path, headers={"If-None-Match": etag or "", "User-Agent": "ceasefire-watch",
                                                 "Accept-Encoding": "gzip, deflate", "Connection": "close"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def cpu_per_fetch(fetch: object, requests: list[FetchRequest], runs: int) -> float:
    """Median CPU seconds per fetch over ``runs`` passes."""
    def one() -> float:
        started = time.process_time()
        for request in requests:
            fetch(request)  # type: ignore[operator]
        return (time.process_time() - started) / len(requests)
    return median_runs(runs, one)


def measure(feeds: int, runs: int) -> tuple[float, float, int]:
    """(CPU s per 304 through HttpFetcher, CPU s per bare GET, 304s seen)."""
    with FeedServerProcess(feeds, (1, 1), 5) as server:
        fetcher = HttpFetcher.create()
        try:
            first = [fetcher.fetch(FetchRequest(server.url(n), allow_private=True)) for n in range(feeds)]
            requests = [FetchRequest(server.url(n), etag=r.etag, last_modified=r.last_modified, allow_private=True)
                        for n, r in enumerate(first)]
            outcomes = [fetcher.fetch(r).outcome for r in requests]
            ours = cpu_per_fetch(fetcher.fetch, requests, runs)
            bare = cpu_per_fetch(lambda r: _bare_get(r.url, r.etag), requests, runs)
        finally:
            fetcher.close()
    return ours, bare, outcomes.count("not_modified")


def run(runs: int = 5, quick: bool = False) -> list[Figure]:
    feeds = 100 if quick else 300
    ours, bare, not_modified = measure(feeds, runs)
    return [Figure("fetch: CPU per conditional GET answered 304 (HttpFetcher, one thread)", ours * 1000,
                   "ms CPU/fetch", naive=f"bare http.client GET, no guards: {bare * 1000:.2f} ms",
                   ratio=bare / ours if ours else None,
                   note=f"{not_modified} of {feeds} feeds answered 304")]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    mine, floor, seen = measure(count, 5)
    print(f"HttpFetcher 304: {mine * 1000:.3f} ms CPU/fetch; bare http.client: {floor * 1000:.3f} ms; "
          f"{seen}/{count} answered 304")
