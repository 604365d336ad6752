"""A stored archive of N articles, filled fast, for measures that depend on its size.

Rows go in through plain ``sqlite3`` ``executemany`` on a database migrated to head by
the project's own Alembic migrations, so the schema and indexes are the real ones.
The archive grows at a steady rate (``PER_DAY`` articles a day), so a larger archive
means a longer history, not a busier recent window: that is the claim under test
("the cost per article does not grow with the archive").

What is stored, per article: one row, three identity keys, one source; every third
article has a story (32 LSH band rows while it is within the story window: the daemon
prunes older bands, so a large archive holds the bands of its last three days only)
and every twentieth an incident. The newest
``REAL`` stories carry real signatures of generated news text so that new items can
find near-duplicates; older ones carry random signatures and band keys, which is
what hashed bands look like to the index.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from bench.load import title_summary
from pipeline.db import make_engine, migrate
from pipeline.process import STORY_WINDOW
from pipeline.stories import BANDS, signature

PER_DAY = 5000
FEEDS = 1000
REAL = 2000
CHUNK = 50_000
_FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime in SQLite


def create(path: Path, size: int, now: datetime, seed: int = 1) -> list[tuple[str, str]]:
    """Fill a new database at ``path``; returns the texts of the newest stories (for rewrites)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    rng = random.Random(seed)
    recent = [title_summary(rng) for _ in range(min(REAL, size // 3 + 1))]
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # a scratch database: durability is not the point of the fill
    with con:
        con.executemany("INSERT INTO feeds (id, name, url, error_count, polls, items_seen) VALUES (?,?,?,0,0,0)",
                        [(n + 1, f"feed-{n}", f"http://127.0.0.1:1/feed/{n}") for n in range(FEEDS)])
        _articles(con, size, now, recent)
        _stories(con, size, now, recent)
        _incidents(con, size, now)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return recent


def _when(n: int, size: int, now: datetime) -> str:
    """Article n of size (n = size - 1 is the newest) at the steady archive rate."""
    return (now - timedelta(days=(size - 1 - n) / PER_DAY)).strftime(_FMT)


def _chunks(size: int) -> Iterator[range]:
    for start in range(0, size, CHUNK):
        yield range(start, min(start + CHUNK, size))


def _articles(con: sqlite3.Connection, size: int, now: datetime, recent: list[tuple[str, str]]) -> None:
    for part in _chunks(size):
        rows, keys, sources = [], [], []
        for n in part:
            head, text = recent[n % len(recent)]
            when, url = _when(n, size, now), f"http://news{n % 97}.example/a/{n}"
            story = n // 3 + 1 if n % 3 == 0 else None
            rows.append((n + 1, n % FEEDS + 1, url, url, head, text, "Outlet", f"{n:064x}", when, when, story))
            digest = hashlib.blake2b(str(n).encode(), digest_size=32).hexdigest()
            keys += [(f"{kind}:{digest}", n + 1) for kind in ("fp", "url", "guid")]
            sources.append((n + 1, n % FEEDS + 1, "Outlet", url, head, when))
        con.executemany("INSERT INTO articles (id, feed_id, guid, url, title, text, outlet, fingerprint, "
                        "published_at, fetched_at, story_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        con.executemany("INSERT INTO article_keys (key, article_id) VALUES (?,?)", keys)
        con.executemany("INSERT INTO article_sources (article_id, feed_id, outlet, url, title, seen_at) "
                        "VALUES (?,?,?,?,?,?)", sources)


def _stories(con: sqlite3.Connection, size: int, now: datetime, recent: list[tuple[str, str]]) -> None:
    count = (size + 2) // 3
    window_start = (now - STORY_WINDOW).strftime(_FMT)
    real = {count - 1 - i: signature(*recent[i]) for i in range(min(len(recent), count))}
    rng = np.random.default_rng(7)
    for part in _chunks(count):
        rows, bands_ = [], []
        random_sigs = rng.integers(0, 2**32, size=(len(part), 64), dtype=np.uint32)
        for i, s in enumerate(part):
            when = _when(min(s * 3, size - 1), size, now)
            sig = real.get(s)
            raw = sig.to_bytes() if sig is not None else b"b" + random_sigs[i].astype("<u4").tobytes()
            rows.append((s + 1, raw, when))
            keys = set(sig.bands) if sig is not None else rng.integers(-2**62, 2**62, BANDS).tolist()
            if when >= window_start:  # older bands are pruned by the daemon (Ingestor.prune_story_index)
                bands_ += [(int(k), s + 1, when) for k in keys]
        con.executemany("INSERT INTO stories (id, signature, created_at) VALUES (?,?,?)", rows)
        bands_.sort()  # index order: appends to the B-tree instead of random page splits
        con.executemany("INSERT OR IGNORE INTO story_bands (band, story_id, created_at) VALUES (?,?,?)", bands_)


def _incidents(con: sqlite3.Connection, size: int, now: datetime) -> None:
    rows = []
    for i in range(0, size, 20):
        when = _when(i, size, now)
        rows.append((i // 20 + 1, f"article:{i + 1}", f"Incident {i}", json.dumps(["shelling"]), "high", i + 1,
                     when, when, when, when, json.dumps([f"place {i % 5000}"]), json.dumps(["UA"]),
                     json.dumps([]), json.dumps(["shelling", f"word{i % 997}"]), json.dumps({}),
                     json.dumps({"at": when.replace(" ", "T") + "+00:00", "categories": ["shelling"],
                                 "severity": "high", "killed": None, "sources": 1})))
    con.executemany("INSERT INTO incidents (id, key, title, categories, severity, first_article_id, first_seen, "
                    "last_update, first_event, last_event, places, countries, actors, title_words, figures, "
                    "alerted, pending_update) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)", rows)
    con.execute("UPDATE stories SET incident_id = (id - 1) / 7 + 1 WHERE (id - 1) / 7 + 1 <= ?", (len(rows),))
