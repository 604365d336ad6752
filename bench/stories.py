"""Story lookup cost as the archive grows: 1k vs 100k stored stories.

Fills a SQLite database with N stories (signatures of generated news-like text and
their LSH bands), then times ``find_story`` + ``create_story`` for fresh articles, half
of them light rewrites of stored ones. Prints ms per article at each size, and the
same lookup done the naive way (compare with every stored signature) for reference.

    python -m bench.stories [--sizes 1000 100000] [--probes 500]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from pipeline.db import make_engine, migrate
from pipeline.models import Story, StoryBand
from pipeline.stories import same_story, signature
from pipeline.story_store import create_story, find_story

WORDS = ("shelling artillery drone strike village town border troops forces ministry said killed wounded "
         "civilians ceasefire violation overnight officials region attack positions army rebels militants "
         "police houses school hospital bridge road power station convoy checkpoint reported denied claims "
         "fighting clashes heavy gunfire residents fled morning evening statement spokesman according").split()
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def text(rng: random.Random, n: int = 60) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(400)) for _ in range(n))


def rewrite(rng: random.Random, original: str) -> str:
    words = original.split()
    for _ in range(len(words) // 10):  # a light edit: one word in ten changed
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def fill(sessions: sessionmaker, size: int, rng: random.Random) -> list[str]:
    texts = [text(rng) for _ in range(size)]
    with sessions.begin() as session:
        for n, body in enumerate(texts):
            sig = signature("", body)
            created = NOW - timedelta(minutes=n % 2000)
            story = Story(signature=sig.to_bytes(), created_at=created)
            session.add(story)
            session.flush()
            session.add_all(StoryBand(band=b, story_id=story.id, created_at=created) for b in set(sig.bands))
    return texts


def probe(sessions: sessionmaker, texts: list[str], probes: int, rng: random.Random,
          batch: int = 50) -> tuple[float, float]:
    """(ms per article, share of rewrites found); one transaction per ``batch`` articles, as per feed poll."""
    times, found = [], 0
    for start in range(0, probes, batch):
        bodies = [(n % 2 == 0, rewrite(rng, rng.choice(texts)) if n % 2 == 0 else text(rng))
                  for n in range(start, min(start + batch, probes))]
        started = time.perf_counter()
        with sessions.begin() as session:
            for is_rewrite, body in bodies:
                sig = signature("", body)
                hit = find_story(session, sig, NOW - timedelta(days=3))
                if hit is None:
                    create_story(session, sig, NOW)
                found += is_rewrite and hit is not None
        times.append((time.perf_counter() - started) * 1000 / len(bodies))
    return statistics.median(times), found / (probes / 2)


def naive_ms(texts: list[str], rng: random.Random, probes: int = 20) -> float:
    sigs = [signature("", t) for t in texts]
    started = time.perf_counter()
    for _ in range(probes):
        sig = signature("", text(rng))
        any(same_story(sig, other) for other in sigs)
    return (time.perf_counter() - started) * 1000 / probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--probes", type=int, default=500)
    args = parser.parse_args()
    print("| stored stories | lookup + insert, ms/article (median) | rewrites found | naive scan, ms/article |")
    print("|---:|---:|---:|---:|")
    for size in args.sizes:
        rng = random.Random(size)
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            migrate(engine)
            sessions = sessionmaker(engine, expire_on_commit=False)
            texts = fill(sessions, size, rng)
            ms, recall = probe(sessions, texts, args.probes, rng)
            naive = naive_ms(texts[: min(size, 20000)], rng) * size / min(size, 20000)
            engine.dispose()
        print(f"| {size:,} | {ms:.3f} | {recall:.0%} | {naive:.1f} |")


if __name__ == "__main__":
    main()
