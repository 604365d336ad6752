"""Peak RSS with 1,000 feeds and 100k stored articles after an hour of simulated polling.

``cfwatch run`` takes its clock from APScheduler and ``datetime.now`` and cannot be
given another one without a code change, so this measures what it runs instead, in
a child process of its own: ``pipeline.app.App.build`` from a config of 1,000 local
feeds (every 10 minutes) over a database already holding 100k articles
(bench.archive), with an injected clock that the driver moves through one hour.
Every feed is polled when due through the real HttpFetcher and Ingestor (6,000
polls), each simulated minute 1% of the feeds get 2 new items, batched incident
updates are flushed every 30 s and due deliveries sent to a JSONL notifier every
minute, as the daemon's jobs do. The figure is the child's peak resident set
(``VmHWM``): the whole process (interpreter, gazetteer, SQLAlchemy, buffers), not a
Python heap estimate. Not ``ru_maxrss``: Linux keeps that across ``execve``, and a
child started with vfork + exec (as ``subprocess`` does) begins with the *parent's*
peak, here the ~280 MB of filling the archive: the figure this measure printed
before was the parent's, not the daemon's.

What it leaves out: APScheduler itself; the polls run on a thread pool of
``fetch.concurrency`` threads, like the daemon's.

    python -m bench memory [--quick]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from bench import archive
from bench.feedserver import FeedServerProcess
from bench.load import ROOT, utcnow
from bench.report import Figure


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _rss_mb(field: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of this process, MB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def _config(server: FeedServerProcess, feeds: int) -> str:
    return json.dumps({"database": "sqlite:///bench.db",
                       "feeds": [{"name": f"feed-{n}", "url": server.url(n)} for n in range(feeds)],
                       "notifiers": [{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"}]})


def _simulate(app: object, server: FeedServerProcess, clock: SimClock, minutes: int) -> int:
    """Poll each feed when due for ``minutes`` simulated minutes; returns the polls made.

    The polls due in each 30-second step run on ``fetch.concurrency`` threads (8 by
    default), as the daemon's pool runs them: their stacks, sessions and buffers at
    once are part of the peak, and two cores make the hour pass twice as fast."""
    feeds = app.feeds  # type: ignore[attr-defined]
    due = {f.name: clock.now + timedelta(seconds=600 * n / len(feeds)) for n, f in enumerate(feeds)}
    polls, end = 0, clock.now + timedelta(minutes=minutes)
    workers = app.config.fetch.concurrency  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
        while clock.now < end:
            step = clock.now + timedelta(seconds=30)
            batch = [feed for feed in feeds if due[feed.name] <= step]
            for feed in batch:
                due[feed.name] += feed.every
            list(pool.map(app.ingestor.poll, batch))  # type: ignore[attr-defined]
            polls += len(batch)
            clock.now = step
            app.ingestor.flush_updates()  # type: ignore[attr-defined]
            if step.second == 0:
                app.outbox.deliver_due()  # type: ignore[attr-defined]
                server.post("/_ctl/change", fraction=0.01, new=2)
    return polls


def child(tmp: Path, feeds: int, minutes: int) -> None:
    """The measured process: nothing but the App, the simulated hour and a feed-server client."""
    from pipeline.app import App
    from pipeline.config import parse_config
    from pipeline.daemon import cap_malloc_arenas
    from pipeline.logfmt import setup_logging

    cap_malloc_arenas()  # as `cfwatch run` does, before any thread
    setup_logging("ERROR")
    # One item per feed at first (the first poll of 1,000 feeds x 50 items would take
    # many minutes here; bench poll measures that); changes add items up to 50.
    with FeedServerProcess(feeds, (1, 1), 11) as server:
        clock = SimClock(utcnow())
        app = App.build(parse_config(_config(server, feeds), "bench", tmp), clock=clock)
        built = _rss_mb("VmRSS")
        polls = _simulate(app, server, clock, minutes)
        app.close()
    print(json.dumps({"peak_mb": _rss_mb(), "after_build_mb": built, "end_mb": _rss_mb("VmRSS"), "polls": polls}))


def run(runs: int = 5, quick: bool = False) -> list[Figure]:
    feeds, stored, minutes = (100, 5000, 10) if quick else (1000, 100_000, 60)
    with tempfile.TemporaryDirectory(prefix="cfwatch-bench-") as tmp:
        archive.create(Path(tmp) / "bench.db", stored, utcnow())  # filled here, so the child's RSS excludes it
        out = subprocess.run([sys.executable, "-m", "bench.memory", tmp, str(feeds), str(minutes)],
                             cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    peak = float(result["peak_mb"])
    what = f"{feeds:,} feeds, {stored:,} stored, {minutes} simulated min, {result['polls']:,} polls"
    return [Figure("peak RSS: App + Ingestor with injected clock", peak, "MB",
                   "<= 150" if not quick else "—", peak <= 150 if not quick else None, note=what),
            Figure("RSS after App.build (before any poll; the gazetteer loads at the first article)",
                   float(result["after_build_mb"]), "MB"),
            Figure("RSS at the end of the simulated time", float(result["end_mb"]), "MB")]


if __name__ == "__main__":
    child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
