"""kill -9 experiment on the real daemon: nothing lost, nothing doubled.

Serves ``--alerts`` distinct incident reports from local feeds (tests/feedserver.py)
and a local webhook receiver (tests/receiver.py, answering each POST after a short
delay so kills land mid-delivery), then runs ``cfwatch run`` as a subprocess and
kills it with SIGKILL at random points, restarting it each time, ``--kills`` times;
a last run (stopped with SIGTERM) finishes delivery. Then it counts, by delivery id
at the receiver: lost (never arrived), repeats of the one delivery in flight at a
kill (expected: a webhook cannot be asked whether it got a message), and true
duplicates (anything else), plus ``PRAGMA integrity_check`` on SQLite.

    python -m bench.killtest --kills 100 --alerts 1000 --seeds 3
    python -m bench.killtest --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

With ``--postgres`` each seed runs on a fresh schema of that database (dropped after).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from feedserver import FeedServer, rss  # noqa: E402
from receiver import Receiver  # noqa: E402

SYLLABLES = ("ka", "zor", "vel", "mi", "tra", "dun", "pe", "lo", "shu", "rin", "bax", "qe", "tol", "nar", "ves",
             "gri", "mu", "fen", "dro", "yil")


@dataclass
class Result:
    seed: int
    kills: int
    alerts: int
    deliveries: int
    lost: int
    inflight_repeats: int
    duplicates: int
    integrity: str
    final_stop_s: float
    seconds: float


class SlowReceiver(Receiver):
    """Takes a moment per POST, as a real endpoint does, so kills land mid-delivery."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        super().__init__()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        time.sleep(self.delay)
        super()._handle(handler)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def reports(count: int, rng: random.Random) -> list[dict[str, object]]:
    """Distinct events: invented place words, so no two share places, words or a story."""
    now = datetime.now(timezone.utc)
    out = []
    for n in range(count):
        place, unit, other = _word(rng).capitalize(), _word(rng).capitalize(), _word(rng)
        filler = " ".join(_word(rng) for _ in range(25))
        # Headlines share one word at most: the incident matcher joins headlines sharing three.
        out.append({"title": f"{place} shelled by {unit} {n}",
                    "description": f"Artillery shelling hit {place} {other}, officials said. {filler}.",
                    "link": f"https://news.example/{n}", "guid": f"https://news.example/{n}",
                    "published": now - timedelta(minutes=rng.randint(1, 600))})
    return out


def write_config(work: Path, feed_urls: list[str], hook_url: str, database: str) -> Path:
    doc = {
        "database": database,
        "feeds": [{"name": f"f{i}", "url": url, "every": "2s", "backfill": "all"} for i, url in enumerate(feed_urls)],
        "rules": {"packs": ["ceasefire"]},
        "notifiers": [{"name": "hook", "type": "webhook", "url": hook_url, "timeout": 10}],
        "fetch": {"connect_timeout": 2, "read_timeout": 5, "total_timeout": 10},
        "delivery": {"backoff": "1s", "max_backoff": "2s", "max_attempts": 1000},
        "incidents": {"update_interval": "0s"},
    }
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _spawn(config: Path, work: Path, run: int) -> subprocess.Popen[bytes]:
    log = (work / f"run{run:04d}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "run"],
                            stdout=log, stderr=log, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_started(log: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if b"event=started" in log.read_bytes():
            return
        time.sleep(0.05)
    raise RuntimeError(f"daemon did not start (see {log})")


def _rows(db: str, sql: str) -> list[tuple]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _sending(db: str) -> list[int]:
    try:
        return [i for (i,) in _rows(db, "select id from deliveries where status = 'sending'")]
    except SQLAlchemyError:  # killed before the schema existed
        return []


def _settled(db: str, feeds: int) -> bool:
    polled = _rows(db, "select count(*) from feeds where last_success_at is not null")[0][0]
    open_ = _rows(db, "select count(*) from deliveries where status in ('pending', 'sending')")[0][0]
    return polled == feeds and open_ == 0


def _finish(config: Path, work: Path, db: str, feeds: int, run: int) -> float:
    """A last run until every feed was read and every delivery sent; SIGTERM; seconds to stop."""
    proc = _spawn(config, work, run)
    deadline = time.monotonic() + 600
    time.sleep(3)  # let it poll everything once more
    while time.monotonic() < deadline and not _settled(db, feeds):
        time.sleep(0.5)
    time.sleep(2.5)  # one more poll round: nothing new may appear
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    if code != 0:
        raise RuntimeError(f"daemon exited {code} on SIGTERM (see {work})")
    return time.monotonic() - started


def experiment(*, kills: int, alerts: int, seed: int, feeds: int = 20, work: Path | None = None,
               postgres: str | None = None) -> Result:
    rng = random.Random(seed)
    schema = f"cfw_kill_{seed}_{os.getpid()}"
    if postgres:
        _execute(postgres, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    work = work or Path(tempfile.mkdtemp(prefix=f"killtest-{seed}-"))
    server, hook = FeedServer(), SlowReceiver(delay=max(0.002, kills * 0.8 / max(alerts, 1)))
    for httpd in (server.httpd, hook.httpd):  # a killed daemon resets its connections: expected, not news
        httpd.handle_error = lambda *_args: None  # type: ignore[method-assign]
    started = time.monotonic()
    try:
        items = reports(alerts, rng)
        urls = [server.set(f"/f{i}.xml", rss(items[i::feeds])) for i in range(feeds)]
        db = f"{postgres}?options=-csearch_path%3D{schema}" if postgres else f"sqlite:///{work / 'cfwatch.db'}"
        config = write_config(work, urls, hook.url, db)
        inflight: Counter[int] = Counter()
        for run in range(kills):
            proc = _spawn(config, work, run)
            if rng.random() < 0.1:  # now and then during start-up (imports, migrations, recovery)
                time.sleep(rng.uniform(0.0, 1.5))
            else:  # mostly while it works: polls, ingest transactions, deliveries
                _wait_started(work / f"run{run:04d}.log", proc)
                time.sleep(rng.uniform(0.0, 2.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            inflight.update(_sending(db))
        stop_s = _finish(config, work, db, feeds, kills)
        return _tally(seed, kills, db, hook, inflight, stop_s, time.monotonic() - started)
    finally:
        server.close()
        hook.close()
        if postgres:
            _execute(postgres, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in sql.split(";"):
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _tally(seed: int, kills: int, db: str, hook: Receiver, inflight: Counter[int], stop_s: float,
           seconds: float) -> Result:
    received = Counter(int(h["x-cfwatch-delivery"]) for h, _ in hook.posts)
    ids = [i for (i,) in _rows(db, "select id from deliveries")]
    alert_count = _rows(db, "select count(*) from alerts where event != 'operator'")[0][0]
    integrity = _rows(db, "pragma integrity_check")[0][0] if db.startswith("sqlite") else "n/a (PostgreSQL)"
    lost = sum(1 for i in ids if received[i] == 0)
    extra = {i: n - 1 for i, n in received.items() if n > 1}
    expected = sum(min(n, inflight[i]) for i, n in extra.items())
    duplicates = sum(extra.values()) - expected + sum(1 for i in received if i not in set(ids))
    return Result(seed, kills, alert_count, len(ids), lost, expected, duplicates, integrity, round(stop_s, 2),
                  round(seconds, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="one JSON line per seed")
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL (a fresh schema per seed)")
    args = parser.parse_args(argv)
    results = []
    for seed in range(1, args.seeds + 1):
        result = experiment(kills=args.kills, alerts=args.alerts, seed=seed, feeds=args.feeds, postgres=args.postgres)
        results.append(result)
        print(json.dumps(asdict(result)) if args.json else
              f"seed {result.seed}: kills {result.kills}, alerts {result.alerts}, deliveries {result.deliveries}, "
              f"lost {result.lost}, in-flight repeats {result.inflight_repeats}, duplicates {result.duplicates}, "
              f"integrity {result.integrity}, SIGTERM stop {result.final_stop_s}s, {result.seconds}s", flush=True)
    intact = {"ok", "n/a (PostgreSQL)"}
    bad = any(r.lost or r.duplicates or r.integrity not in intact for r in results)
    print(f"total: kills {sum(r.kills for r in results)}, alerts {sum(r.alerts for r in results)}, "
          f"lost {sum(r.lost for r in results)}, in-flight repeats {sum(r.inflight_repeats for r in results)}, "
          f"duplicates {sum(r.duplicates for r in results)}, "
          f"integrity {'ok' if all(r.integrity in intact for r in results) else 'FAILED'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
