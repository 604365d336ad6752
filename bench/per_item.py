"""Cost per new item, stage by stage, at 1k, 100k and 1M stored articles.

For each archive size (bench.archive), feeds of 50 new general-news items are put
through the stages a poll runs, each timed on its own: parse (feedparser on the RSS
bytes, shared by 50 items), the rules stage (``RuleSet.classify``, as ingest calls it),
and ``Processor.process`` in one transaction per feed as ingest does, split into the
story lookup (signature + ``find_story`` + ``create_story``, timed by wrapping those
functions here, not by changing them) and the rest (identity lookup, insert, source,
matches, incident, alert, outbox rows, commit), reported as "store".

Naive ways, measured in the same run on the same database: "already stored?" as one
ORM session and query per item instead of one batched ``IN`` per feed; and a story
lookup that compares the new signature with every stored one (timed on a sample of
stored signatures and scaled to the archive, as bench.stories does).

    python -m bench per-item [--sizes 1000 100000 1000000] [--quick]
"""

from __future__ import annotations

import contextlib
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench import archive
from bench.load import make_item, news_mix, rss, utcnow
from bench.report import Figure
from bench.rules_speed import load_ruleset
from pipeline import process as process_module
from pipeline import story_store
from pipeline.config import parse_config
from pipeline.db import make_engine
from pipeline.models import ArticleKey, Story
from pipeline.parse import parse_feed
from pipeline.process import Processor, Source
from pipeline.stories import Signature, same_story, signature
from rules import RuleSet

ITEMS = 50  # per feed poll


@dataclass
class Stages:
    """Seconds spent per stage over ``items`` new items."""

    items: int = 0
    parse: float = 0.0
    match: float = 0.0
    story: float = 0.0
    incident: float = 0.0  # finding the incident a story belongs to (Processor._match)
    process: float = 0.0  # all of Processor.process + commit, story and incident included

    def ms(self) -> dict[str, float]:
        n = max(self.items, 1)
        return {"parse": 1000 * self.parse / n, "match": 1000 * self.match / n, "story": 1000 * self.story / n,
                "incident": 1000 * self.incident / n,
                "store": 1000 * (self.process - self.story - self.incident) / n}


@dataclass
class _Acc:
    seconds: dict[str, float] = field(default_factory=lambda: {"story": 0.0, "incident": 0.0})
    patched: list[tuple[Any, str, Any]] = field(default_factory=list)


# Where Processor looks these up at call time, and which stage their time belongs to.
_TARGETS = [(process_module, "signature", "story"), (story_store, "find_story", "story"),
            (story_store, "create_story", "story"), (Processor, "_match", "incident")]


@contextlib.contextmanager
def _timing(acc: _Acc) -> Iterator[None]:
    """Wrap the story and incident-match functions for one batch, adding their time to ``acc``."""
    for owner, name, stage in _TARGETS:
        original = getattr(owner, name)

        def wrapper(*args: Any, __f: Callable[..., Any] = original, __s: str = stage, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return __f(*args, **kwargs)
            finally:
                acc.seconds[__s] += time.perf_counter() - started
        setattr(owner, name, wrapper)
        acc.patched.append((owner, name, original))
    try:
        yield
    finally:
        for owner, name, original in reversed(acc.patched):
            setattr(owner, name, original)
        acc.patched.clear()


def _feed_bodies(rng: random.Random, feeds: int, now: Any) -> list[bytes]:
    """RSS documents of ``ITEMS`` new general-news items each (rss() of real feed text)."""
    bodies = []
    for feed in range(feeds):
        items = [make_item(rng, feed, n, now) for n in range(ITEMS)]
        items = [type(i)(i.guid, *news_mix(rng), i.link, i.published) for i in items]
        bodies.append(rss(f"feed-{feed}", items))
    return bodies


def _poll_one(sessions: sessionmaker[Session], processor: Processor, ruleset: RuleSet, body: bytes,
              feed_id: int, stages: Stages) -> None:
    started = time.perf_counter()
    parsed = parse_feed(body, f"feed-{feed_id - 1}", "Outlet")
    stages.parse += time.perf_counter() - started
    started = time.perf_counter()
    results = {id(a): ruleset.classify(a.title, a.text).to_record() for a in parsed.articles}
    stages.match += time.perf_counter() - started
    acc = _Acc()
    source = Source(feed_id, f"feed-{feed_id - 1}")
    started = time.perf_counter()
    with _timing(acc), sessions.begin() as session:
        processor.process(session, source, parsed.articles, results, utcnow(), ruleset.classify)
    stages.process += time.perf_counter() - started
    stages.story += acc.seconds["story"]
    stages.incident += acc.seconds["incident"]
    stages.items += len(parsed.articles)


def _naive_lookup_ms(sessions: sessionmaker[Session], keys: list[str]) -> float:
    """'Already stored?' the naive way: a new session and one query per key."""
    started = time.perf_counter()
    for key in keys:
        with sessions() as session:
            session.execute(select(ArticleKey.article_id).where(ArticleKey.key == key)).first()
    return 1000 * (time.perf_counter() - started) / len(keys)


def _batched_lookup_ms(sessions: sessionmaker[Session], keys: list[str]) -> float:
    from pipeline.store import known_keys

    started = time.perf_counter()
    for start in range(0, len(keys), ITEMS * 3):
        with sessions.begin() as session:
            known_keys(session, keys[start:start + ITEMS * 3])
    return 1000 * (time.perf_counter() - started) / len(keys)


def _naive_story_ms(sessions: sessionmaker[Session], stored: int, rng: random.Random) -> float:
    """Compare a new signature with every stored one; timed on up to 5,000, scaled to all."""
    with sessions() as session:
        raws = session.scalars(select(Story.signature).order_by(Story.id.desc()).limit(5000)).all()
    sigs = [Signature.from_bytes(r) for r in raws if r]
    probes = [signature(*news_mix(rng)) for _ in range(5)]
    started = time.perf_counter()
    for probe in probes:
        any(same_story(probe, other) for other in sigs if probe is not None)
    per_signature = (time.perf_counter() - started) / (len(probes) * max(len(sigs), 1))
    return 1000 * per_signature * stored


@dataclass
class SizeResult:
    size: int
    ms: dict[str, float]           # median per stage over the runs
    lookup_ms: float               # batched "already stored?" per item
    naive_lookup_ms: float
    naive_story_ms: float
    fill_s: float


def _open(path: Path) -> tuple[Any, sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{path}")
    return engine, sessionmaker(engine, expire_on_commit=False)


def _one_run(path: Path, processor: Processor, ruleset: RuleSet, bodies: list[bytes]) -> dict[str, float]:
    engine, sessions = _open(path)
    stages = Stages()
    for n, body in enumerate(bodies):
        _poll_one(sessions, processor, ruleset, body, n % archive.FEEDS + 1, stages)
    engine.dispose()
    return stages.ms()


def measure_size(size: int, runs: int, feeds: int, tmp: Path, ruleset: RuleSet,
                 processor: Processor) -> SizeResult:
    pristine, work = tmp / f"archive-{size}.db", tmp / "work.db"
    started = time.perf_counter()
    archive.create(pristine, size, utcnow())
    fill_s = time.perf_counter() - started
    rng = random.Random(size)
    per_run: list[dict[str, float]] = []
    for run in range(runs):
        # Small archives are restored before each run so that the runs' own items do
        # not grow them; 1M rows are not changed measurably by a few hundred more.
        target = pristine if size >= 1_000_000 else work
        if target is work:
            shutil.copyfile(pristine, work)
        per_run.append(_one_run(target, processor, ruleset, _feed_bodies(rng, feeds, utcnow())))
    engine, sessions = _open(pristine)
    keys = [k for body in _feed_bodies(rng, 2, utcnow())
            for a in parse_feed(body, "feed-x", "Outlet").articles for k in a.keys]
    keys += [f"fp:{n:064x}" for n in range(0, size, max(1, size // len(keys)))][: len(keys)]
    result = SizeResult(size, {k: statistics.median(r[k] for r in per_run) for k in per_run[0]},
                        _batched_lookup_ms(sessions, keys) * 3, _naive_lookup_ms(sessions, keys) * 3,
                        _naive_story_ms(sessions, (size + 2) // 3, rng), fill_s)
    engine.dispose()
    return result


def _figures(results: list[SizeResult]) -> list[Figure]:
    figures: list[Figure] = []
    for r in results:
        total = r.ms["match"] + r.ms["story"] + r.ms["incident"] + r.ms["store"]
        label = f"{r.size:,} stored"
        figures += [
            Figure(f"per item, {label}: parse share", r.ms["parse"], "ms/item"),
            Figure(f"per item, {label}: match (rules stage)", r.ms["match"], "ms/item"),
            Figure(f"per item, {label}: story lookup + create", r.ms["story"], "ms/item",
                   naive=f"compare with every stored signature: {r.naive_story_ms:,.1f} ms",
                   ratio=r.naive_story_ms / r.ms["story"] if r.ms["story"] else None),
            Figure(f"per item, {label}: incident match (Processor._match)", r.ms["incident"], "ms/item"),
            Figure(f"per item, {label}: store (rows, incident update, alert, outbox, commit)", r.ms["store"],
                   "ms/item"),
            Figure(f"per item, {label}: match + story + store (all of the above but parse)", total, "ms/item",
                   "<= 0.5", total <= 0.5),
            Figure(f"per item, {label}: 'already stored?' lookup, batched per feed", r.lookup_ms, "ms/item",
                   naive=f"session + query per item: {r.naive_lookup_ms:.3f} ms",
                   ratio=r.naive_lookup_ms / r.lookup_ms if r.lookup_ms else None),
        ]
    if len(results) > 1:
        first, last = results[0], results[-1]
        def total(r: SizeResult) -> float:
            return sum(r.ms[k] for k in ("match", "story", "incident", "store"))
        ratio = total(last) / total(first)
        figures.append(Figure(f"per item: {last.size:,} vs {first.size:,} stored (match + story + store)", ratio,
                              "x", "<= 2x", ratio <= 2))
        if len(results) > 2:
            flat = total(last) / total(results[-2])
            figures.append(Figure(f"per item: {last.size:,} vs {results[-2].size:,} stored", flat, "x",
                                  note="both archives span more than a day: the window is full in both"))
    return figures


def run(runs: int = 5, quick: bool = False, sizes: list[int] | None = None) -> list[Figure]:
    sizes = sizes or ([1000, 20_000] if quick else [1000, 100_000, 1_000_000])
    ruleset = load_ruleset()
    config = parse_config("notifiers: [{name: archive, type: jsonl, path: alerts.jsonl}]", "bench", Path("."))
    processor = Processor(config)
    results = []
    with tempfile.TemporaryDirectory(prefix="cfwatch-bench-") as tmp:
        for size in sizes:
            results.append(measure_size(size, runs, 2 if quick else 6, Path(tmp), ruleset, processor))
            for leftover in Path(tmp).glob("*.db*"):
                leftover.unlink()  # 1M rows take ~3 GB; one size at a time
    figures = _figures(results)
    for r in results:
        figures.append(Figure(f"(setup) fill {r.size:,} stored articles", r.fill_s, "s", note="not a target"))
    return figures
