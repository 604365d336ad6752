"""Realistic load for the benchmarks: news-like items and RSS documents.

Text comes from the real evaluation corpus (``../shared/corpus``: ACLED event notes,
UCDP wire headlines, real news sentences), read at run time and never copied into
the repository (its licence forbids redistribution). Where the corpus is absent a
synthetic vocabulary stands in, so ``python -m bench`` still runs anywhere; the
table then says so, since figures on synthetic text are not comparable.
"""

from __future__ import annotations

import csv
import json
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CFWATCH_CORPUS", ROOT.parent / "shared" / "corpus"))

_SYNTHETIC = ("shelling artillery drone strike village town border troops forces ministry said killed "
              "wounded civilians ceasefire violation overnight officials region attack positions army "
              "rebels police houses school hospital bridge road convoy checkpoint reported denied "
              "fighting clashes gunfire residents fled morning statement spokesman market prices "
              "election parliament football weather festival talks minister visit trade").split()


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    summary: str
    link: str
    published: datetime


@dataclass(frozen=True)
class Pool:
    """Real text to draw from: ACLED notes (bodies) and wire headlines (titles)."""

    notes: tuple[str, ...]
    headlines: tuple[str, ...]
    sentences: tuple[str, ...]
    real: bool  # False: synthetic stand-in (no corpus on this machine)
    # General news as feeds carry it: (title, description) of captured real feed items,
    # and news sentences of every kind (cooperation, statements, conflict).
    feed_items: tuple[tuple[str, str], ...] = ()
    news: tuple[str, ...] = ()


def corpus_available() -> bool:
    return (CORPUS / "acled_events.csv").exists()


@lru_cache(maxsize=1)
def pool() -> Pool:
    if not corpus_available():
        return _synthetic_pool()
    with (CORPUS / "acled_events.csv").open(encoding="utf-8", newline="") as handle:
        notes = tuple(dict.fromkeys(r["notes"].strip() for r in csv.DictReader(handle) if r["notes"].strip()))
    headlines: list[str] = []
    with (CORPUS / "ucdp_headline_clusters.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            headlines += [a["headline"] for a in json.loads(line)["articles"] if a.get("headline")]
    with (CORPUS / "real_sentences.jsonl").open(encoding="utf-8") as handle:
        sentences = tuple(json.loads(line)["text"] for line in handle if line.strip())
    return Pool(notes, tuple(dict.fromkeys(headlines)), sentences, True, _feed_items(), _news_sentences())


def _feed_items() -> tuple[tuple[str, str], ...]:
    """Title and plain-text description of every item in the captured real feeds."""
    from pipeline.parse import NotAFeed, parse_feed

    found: list[tuple[str, str]] = []
    for folder in ("realfeeds", "rss_fixtures"):
        for path in sorted((CORPUS / folder).glob("*.xml")):
            try:
                found += [(a.title, a.text) for a in parse_feed(path.read_bytes(), "corpus", "corpus").articles]
            except NotAFeed:
                continue
    return tuple(found)


def _news_sentences() -> tuple[str, ...]:
    path = CORPUS / "conflibert_cameo_pentaclass.jsonl"
    with path.open(encoding="utf-8") as handle:
        return tuple(json.loads(line)["text"] for line in handle if line.strip())


def _synthetic_pool() -> Pool:
    rng = random.Random(7)
    notes = tuple(" ".join(rng.choice(_SYNTHETIC) for _ in range(45)).capitalize() + "." for _ in range(4000))
    heads = tuple(" ".join(rng.choice(_SYNTHETIC) for _ in range(9)).capitalize() for _ in range(1000))
    return Pool(notes, heads, notes[:300], False)


def body(rng: random.Random, size: int) -> str:
    """About ``size`` characters of real event notes and sentences, as paragraphs."""
    p = pool()
    parts: list[str] = []
    length = 0
    while length < size:
        # Mostly event notes; now and then a quoted news sentence, as articles mix both.
        part = rng.choice(p.sentences) if rng.random() < 0.2 else rng.choice(p.notes)
        parts.append(part)
        length += len(part) + 2
    return "\n\n".join(parts)[: size + 200]


def title(rng: random.Random) -> str:
    """A wire headline half the time, else the opening words of an event note."""
    p = pool()
    if rng.random() < 0.5:
        return rng.choice(p.headlines)
    words = rng.choice(p.notes).split()
    return " ".join(words[:rng.randint(8, 14)]).rstrip(",.;")


def title_summary(rng: random.Random) -> tuple[str, str]:
    """Title + summary, about 700 characters together (what most feeds carry)."""
    head = title(rng)
    return head, body(rng, 700 - len(head))


def news_mix(rng: random.Random, size: int = 700) -> tuple[str, str]:
    """A general-news item of about ``size`` characters: a real feed item's title and
    description, continued with real news sentences of every kind. About one feed item
    in five is conflict-related, as in the captured feeds (MANIFEST: 85 of 453)."""
    p = pool()
    if not p.feed_items:
        return title_summary(rng)
    head, text = rng.choice(p.feed_items)
    parts = [text] if text else []
    while sum(map(len, parts)) + len(head) < size:
        parts.append(rng.choice(p.news))
    return head, " ".join(parts)[: size - len(head) + 100]


def full_article(rng: random.Random) -> tuple[str, str]:
    """Title + full article body, about 3 KB."""
    head = title(rng)
    return head, body(rng, 3000 - len(head))


def acled_notes(limit: int | None = None) -> list[str]:
    notes = list(pool().notes)
    return notes[:limit] if limit else notes


MIXES = ("dense", "news")  # conflict-dense (title_summary: almost every item fires) or news_mix


def make_item(rng: random.Random, feed: int, serial: int, now: datetime, *, full: bool = False,
              mix: str = "dense") -> Item:
    head, text = full_article(rng) if full else news_mix(rng) if mix == "news" else title_summary(rng)
    link = f"http://news{feed % 97}.example/{feed}/{serial}-{rng.randrange(10**9)}"
    published = now - timedelta(minutes=rng.uniform(0, 600))
    return Item(guid=link, title=head, summary=text, link=link, published=published)


def rss(name: str, items: list[Item]) -> bytes:
    """An RSS 2.0 document as outlets serve it (HTML-escaped summaries, RFC 822 dates)."""
    entries = "".join(
        f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
        f"<guid isPermaLink=\"true\">{escape(i.guid)}</guid><pubDate>{format_datetime(i.published)}</pubDate>"
        f"<description>{escape('<p>' + i.summary.replace(chr(10) * 2, '</p><p>') + '</p>')}</description></item>"
        for i in items)
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>{escape(name)}"
            f"</title><link>http://{escape(name)}.example/</link><description>bench feed</description>"
            f"{entries}</channel></rss>").encode("utf-8")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
