"""Fault suite, fetching: huge bodies, compression bombs, slow drips, silent servers.

Every server is a 127.0.0.1 listener (tests/hostileserver.py). Memory is measured in
a child process (its VmHWM), so the test runner's own footprint does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hostileserver as hs
from pipeline.fetch import FetchRequest, HttpFetcher

pytestmark = pytest.mark.faults
ROOT = Path(__file__).resolve().parents[1]
CAP = 10 * 1024 * 1024
HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture
def hostile() -> Iterator[hs.HostileServer]:
    server = hs.HostileServer()
    yield server
    server.close()


def _child_fetch(urls: list[str], total: float = 10.0) -> dict[str, object]:
    """Fetch in a fresh interpreter; returns each outcome and the child's peak RSS in MB."""
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        from hostile_docs import peak_rss_mb
        from pipeline.fetch import FetchRequest, HttpFetcher
        fetcher = HttpFetcher.create(connect_timeout=2, read_timeout=5, total_timeout={total})
        out = {{}}
        for url in {urls!r}:
            r = fetcher.fetch(FetchRequest(url, max_bytes={CAP}))
            out[url] = [r.outcome, r.error, len(r.body), round(r.elapsed, 2)]
        out["rss_mb"] = peak_rss_mb()
        print(json.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_huge_bodies_and_bombs_stop_at_the_cap_with_little_memory(hostile):
    hostile.routes.update({
        "/cl": hs.huge(HUNDRED_MB, content_length=True),
        "/chunked": hs.huge(HUNDRED_MB, content_length=False),
        "/gzip": hs.bomb("gzip", HUNDRED_MB),
        "/deflate": hs.bomb("deflate", HUNDRED_MB),
    })
    urls = [hostile.url(p) for p in ("/cl", "/chunked", "/gzip", "/deflate")]
    result = _child_fetch(urls)
    for url in urls:
        outcome, error, size, _elapsed = result[url]  # type: ignore[misc]
        assert outcome == "error" and "larger than" in error and size == 0, (url, error)
    assert result["rss_mb"] < 200, result


def test_a_bomb_under_the_cap_decodes_in_full(hostile):
    hostile.routes["/small"] = hs.bomb("deflate", 4 * 1024 * 1024)
    got = HttpFetcher.create(total_timeout=10).fetch(FetchRequest(hostile.url("/small"), max_bytes=CAP))
    assert got.outcome == "ok" and len(got.body) == 4 * 1024 * 1024 + 5


@pytest.mark.parametrize("behaviour", ["drip", "header_drip", "never_answer"])
def test_slow_and_silent_servers_end_at_the_total_deadline(hostile, behaviour):
    hostile.routes["/slow"] = getattr(hs, behaviour)()
    fetcher = HttpFetcher.create(connect_timeout=1, read_timeout=5, total_timeout=1.5)
    started = time.monotonic()
    result = fetcher.fetch(FetchRequest(hostile.url("/slow")))
    took = time.monotonic() - started
    assert result.outcome == "error" and "timed out" in (result.error or ""), result
    assert 1.4 <= took < 2.2, took


def test_other_feeds_keep_their_schedule_while_two_hang(hostile, feed_server):
    hostile.routes["/drip"] = hs.drip()
    hostile.routes["/silent"] = hs.never_answer()
    good = feed_server.set("/good.xml", "<rss version='2.0'><channel><title>t</title></channel></rss>")
    fetcher = HttpFetcher.create(connect_timeout=1, read_timeout=5, total_timeout=2)
    stuck = [threading.Thread(target=fetcher.fetch, args=(FetchRequest(hostile.url(p)),)) for p in ("/drip", "/silent")]
    for thread in stuck:
        thread.start()
    timings = []
    for _ in range(5):  # the good feed is polled on its own schedule meanwhile
        started = time.monotonic()
        assert fetcher.fetch(FetchRequest(good)).outcome == "ok"
        timings.append(time.monotonic() - started)
        time.sleep(0.1)
    for thread in stuck:
        thread.join(5)
    assert max(timings) < 0.5, timings
    assert not any(t.is_alive() for t in stuck)
