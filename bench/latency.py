"""End-to-end latency: an item appears on a feed -> the notifier is called.

Runs the real daemon (``cfwatch run`` in a subprocess) on 20 local feeds polled every
second, with one webhook notifier pointing at a local receiver. The driver adds one
alerting item (a distinct place, so a new incident and a `new` alert) at a time and
waits for its webhook call. Three wall-clock timestamps, all on this machine:

- appeared: the feed server put the item in the feed;
- seen: the feed server first sent a 200 body carrying it (the poll that sees it);
- notified: the receiver got the webhook POST.

"After the poll" latency is notified - seen: the poll interval is taken out exactly,
by timing the poll on the server side instead of subtracting an average.

    python -m bench latency [--quick]
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.feedserver import FeedServerProcess, Receiver
from bench.report import Figure

FEEDS = 20


class _Arrivals:
    def __init__(self) -> None:
        self.by_url: dict[str, float] = {}
        self.lock = threading.Lock()

    def __call__(self, record: dict, arrived: float) -> None:
        with self.lock:
            for source in record.get("sources") or []:
                self.by_url.setdefault(source.get("url") or "", arrived)

    def wait(self, url: str, timeout: float) -> float | None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if url in self.by_url:
                    return self.by_url[url]
            time.sleep(0.01)
        return None


def _config(server: FeedServerProcess, hook: str) -> str:
    return json.dumps({
        "database": "sqlite:///bench.db",
        "feeds": [{"name": f"feed-{n}", "url": server.url(n), "every": "1s", "backfill": "all"}
                  for n in range(FEEDS)],
        "notifiers": [{"name": "hook", "type": "webhook", "url": hook}],
        # Each item is its own event; a short window keeps later ones from joining earlier incidents.
        "incidents": {"window": "1s", "update_interval": 0},
    })


def _start_daemon(tmp: Path, config: str) -> subprocess.Popen[bytes]:
    (tmp / "config.yaml").write_text(config, encoding="utf-8")
    cfwatch = Path(sys.executable).with_name("cfwatch")
    return subprocess.Popen([str(cfwatch), "--config", str(tmp / "config.yaml"), "run"], cwd=tmp,
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "daemon.log", "wb"))


def _samples(server: FeedServerProcess, arrivals: _Arrivals, count: int) -> list[tuple[float, float, float]]:
    out = []
    for n in range(count):
        link = server.post("/_ctl/add", feed=n % FEEDS)["link"]
        notified = arrivals.wait(link, 20)
        times = server.get("/_ctl/seen", link=link)
        if notified is not None and times["seen"] is not None:
            out.append((times["added"], times["seen"], notified))
        time.sleep(0.3)
    return out


def _wait_warm(log: Path, arrivals: _Arrivals, timeout: float = 180) -> None:
    """Until every feed has been polled twice and the alerts of the first polls are sent.

    The first polls store the 20-60 items of each feed (backfill: all) and alert on
    hundreds of them; an item added before that backlog is delivered would wait behind
    it, which measures the backlog, not the latency.
    """
    deadline = time.monotonic() + timeout
    quiet_since, count = time.monotonic(), -1
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        polled = all(text.count(f"event=poll feed=feed-{n} ") >= 2 for n in range(FEEDS))
        with arrivals.lock:
            now_count = len(arrivals.by_url)
        if now_count != count:
            quiet_since, count = time.monotonic(), now_count
        if polled and time.monotonic() - quiet_since > 3:
            return
        time.sleep(0.5)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def run(runs: int = 5, quick: bool = False) -> list[Figure]:
    count = 10 if quick else max(40, 8 * runs)
    arrivals = _Arrivals()
    receiver = Receiver(arrivals)
    with FeedServerProcess(FEEDS, (20, 60), 3) as server, tempfile.TemporaryDirectory(prefix="cfwatch-") as tmp:
        daemon = _start_daemon(Path(tmp), _config(server, receiver.url))
        try:
            _wait_warm(Path(tmp) / "daemon.log", arrivals)
            samples = _samples(server, arrivals, count)
        finally:
            os.kill(daemon.pid, signal.SIGTERM)
            daemon.wait(60)
            receiver.close()
    after = [1000 * (notified - seen) for _, seen, notified in samples]
    total = [1000 * (notified - added) for added, _, notified in samples]
    if not after:
        return [Figure("latency: no alert arrived", float("nan"), "ms", "p95 <= 250", False)]
    p95 = _pct(after, 0.95)
    note = f"{len(samples)} of {count} items, real daemon, feeds every 1 s"
    return [
        Figure("latency after the poll that sees the item: p50", statistics.median(after), "ms", note=note),
        Figure("latency after the poll that sees the item: p95", p95, "ms", "<= 250", p95 <= 250),
        Figure("latency from appearing on the server (poll interval included): p50", statistics.median(total),
               "ms"),
        Figure("latency from appearing on the server (poll interval included): p95", _pct(total, 0.95), "ms"),
    ]
