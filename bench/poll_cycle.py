"""A poll cycle over many feeds: cold (all new), warm (all 304) and 10% changed.

Drives ``pipeline.cycle.run_once`` (what ``cfwatch poll --once`` runs: every feed
concurrently through the real HttpFetcher, Ingestor and database, default
``fetch.concurrency``) against feeds on the local feed server, which runs in its own
process so its CPU is not counted. CPU seconds are this process's (all threads),
from ``time.process_time``.

- cold: ``--cold-feeds`` feeds x 50 new items into an empty database (the default is a
  50-feed stand-in, projected linearly to 1,000; ``--cold-feeds 1000`` measures it),
  once with general news (as the captured feeds: about one item in five is about a
  conflict) and once with conflict-dense text (every item fires a rule and joins or
  opens an incident: the worst case), ``--cold-mix`` to choose;
- warm: 1,000 feeds, primed by one poll of a one-item version of each, then polled
  again with nothing changed (every answer a 304);
- 10% changed: 100 of the 1,000 get 5 new items each, then one cycle.

The naive way for the warm cycle, in the same run: fetch every feed without a
conditional request and parse it (what a poller without ETag or body hash does).

    python -m bench poll [--quick] [--cold-feeds N] [--cold-mix news dense]
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import OperationalError

from bench.feedserver import FeedServerProcess
from bench.report import Figure
from bench.rules_speed import load_ruleset
from pipeline.app import App
from pipeline.config import parse_config
from pipeline.cycle import run_once
from pipeline.fetch import FetchRequest, HttpFetcher
from pipeline.logfmt import setup_logging
from pipeline.parse import parse_feed


@dataclass
class Cycle:
    wall: float
    cpu: float
    new: int = 0
    error: str = ""


def config_text(server: FeedServerProcess, feeds: int, concurrency: int | None = None) -> str:
    config: dict = {
        "database": "sqlite:///bench.db",
        "feeds": [{"name": f"feed-{n}", "url": server.url(n)} for n in range(feeds)],
        "notifiers": [],
        "delivery": {"drain_timeout": 0},  # deliveries are not part of this measure
    }
    if concurrency:
        config["fetch"] = {"concurrency": concurrency}
    return json.dumps(config)


def timed_cycle(app: App) -> Cycle:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        report = run_once(app)
    except OperationalError as exc:  # a finding, not a benchmark bug: see docs/PERFORMANCE.md
        return Cycle(time.perf_counter() - wall, time.process_time() - cpu, error=str(exc.orig)[:80])
    return Cycle(time.perf_counter() - wall, time.process_time() - cpu, sum(p.new for p in report.polls))


def _app(server: FeedServerProcess, feeds: int, tmp: str, concurrency: int | None = None) -> App:
    config = parse_config(config_text(server, feeds, concurrency), "bench", Path(tmp))
    return App.build(config, ruleset=load_ruleset())


NAIVE: list[float] = []  # CPU s per feed, GET + parse of the 50-item cold feeds


def cold(feeds: int, seed: int, concurrency: int | None = None, mix: str = "dense") -> Cycle:
    with FeedServerProcess(feeds, (50, 50), seed, mix) as server, \
            tempfile.TemporaryDirectory(prefix="cfwatch-bench-") as tmp:
        NAIVE.append(naive_warm_cpu(server, feeds))
        app = _app(server, feeds, tmp, concurrency)
        try:
            return timed_cycle(app)
        finally:
            app.close()


def warm_and_changed(feeds: int, runs: int) -> tuple[list[Cycle], list[Cycle], float]:
    with FeedServerProcess(feeds, (1, 1), 99) as server, \
            tempfile.TemporaryDirectory(prefix="cfwatch-bench-") as tmp:
        app = _app(server, feeds, tmp)
        try:
            timed_cycle(app)  # priming: stores every feed's ETag
            warm = [timed_cycle(app) for _ in range(runs)]
            changed = []
            for _ in range(runs):
                server.post("/_ctl/change", fraction=0.1, new=5)
                changed.append(timed_cycle(app))
            return warm, changed, statistics.median(NAIVE)
        finally:
            app.close()


def naive_warm_cpu(server: FeedServerProcess, feeds: int) -> float:
    """CPU seconds per feed to fetch it unconditionally and parse it."""
    fetcher = HttpFetcher.create()
    sample = range(0, feeds, max(1, feeds // 200))
    cpu = time.process_time()
    for n in sample:
        result = fetcher.fetch(FetchRequest(server.url(n), allow_private=True))
        parse_feed(result.body, f"feed-{n}", "Outlet")
    fetcher.close()
    return (time.process_time() - cpu) / len(sample)


def _med(cycles: list[Cycle], attr: str) -> float:
    return statistics.median(getattr(c, attr) for c in cycles)


_MIX_LABEL = {"news": "general news (1 item in 5 conflict-related)", "dense": "conflict-dense (every item fires)"}


def _cold_figures(feeds: int, runs: int, mix: str) -> list[Figure]:
    cycles = [cold(feeds, seed, mix=mix) for seed in range(1, runs + 1)]
    figures = []
    failed = [c for c in cycles if c.error]
    if failed:
        figures.append(Figure(f"poll cycle, cold, {feeds:,} feeds, default concurrency 8: CRASHED", failed[0].wall,
                              "s until the crash", "no crash", False, note=failed[0].error))
        cycles = [cold(feeds, seed, concurrency=1, mix=mix) for seed in range(1, runs + 1)]
    ok = [c for c in cycles if not c.error] or cycles
    how = "concurrency 1 after the crash" if failed else "concurrency 8"
    wall = _med(ok, "wall")
    projected = wall * 1000 / feeds
    label = f"poll cycle, cold, {_MIX_LABEL[mix]}"
    figures += [
        Figure(f"{label}, {feeds:,} feeds x 50 items: wall", wall, "s",
               note=f"{len(ok)} run(s), {how}, {int(_med(ok, 'new')):,} new items"),
        Figure(f"{label}, {feeds:,} feeds x 50 items: CPU", _med(ok, "cpu"), "CPU s"),
        Figure(f"{label}, 1,000 feeds x 50 items: wall" + ("" if feeds == 1000 else ", projected"),
               projected, "s", "<= 60", projected <= 60,
               note="measured" if feeds == 1000 else f"linear from {feeds} feeds"),
    ]
    return figures


def run(runs: int = 5, quick: bool = False, cold_feeds: int = 200, cold_runs: int = 1,
        cold_mixes: tuple[str, ...] = ("news", "dense")) -> list[Figure]:
    setup_logging("ERROR")  # one log line per poll would cost more than some polls
    feeds = 100 if quick else 1000
    figures = [f for mix in cold_mixes for f in _cold_figures(20 if quick else cold_feeds, cold_runs, mix)]
    warm, changed, naive = warm_and_changed(feeds, runs)
    per_feed = 1000 * _med(warm, "cpu") / feeds
    scale = f"{feeds:,} feeds"
    return figures + [
        Figure(f"poll cycle, warm (all 304), {scale}: wall", _med(warm, "wall"), "s",
               "<= 3" if feeds == 1000 else "—", _med(warm, "wall") <= 3 if feeds == 1000 else None),
        Figure(f"poll cycle, warm, {scale}: CPU", _med(warm, "cpu"), "CPU s"),
        Figure("poll cycle, warm: CPU per unchanged feed", per_feed, "ms CPU/feed", "<= 0.5", per_feed <= 0.5,
               f"GET + parse every feed (50 items): {1000 * naive:.2f} ms CPU", 1000 * naive / per_feed),
        Figure(f"poll cycle, 10% changed (5 new items each), {scale}: wall", _med(changed, "wall"), "s"),
        Figure(f"poll cycle, 10% changed, {scale}: CPU", _med(changed, "cpu"), "CPU s"),
    ]
