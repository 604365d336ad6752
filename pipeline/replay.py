"""Replay articles through rules, stories and incidents with a simulated clock.

Nothing real is touched: a temporary database holds the replayed state, no notifier
is called, and the alert records that would have been sent are returned. Run on the
last week of the archive after a rule change, it shows what the change would do
("+12 / -3 new alerts").
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.articles import ParsedArticle, canonical_url, fingerprint, identity_keys, plain_text
from pipeline.config import Config
from pipeline.db import make_engine, migrate
from pipeline.models import Alert, Article, Feed
from pipeline.process import Processor, Source
from rules import RuleSet


class ReplayInputError(ValueError):
    """A line of the input that is not a usable article (the CLI exits 2)."""


def read_jsonl(handle: TextIO, name: str) -> Iterator[tuple[str, ParsedArticle]]:
    """(feed, article) per line of ``{"id","title","text","url","published","outlet","feed"}``."""
    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            published = _when(doc.get("published"))
        except ValueError as exc:
            raise ReplayInputError(f"{name}:{number}: {exc}") from None
        if not isinstance(doc, dict):
            raise ReplayInputError(f"{name}:{number}: not a JSON object")
        feed = str(doc.get("feed") or doc.get("outlet") or "replay")
        yield feed, _article(doc, feed, published)


def _when(value: Any) -> datetime:
    if not value:
        raise ValueError("missing 'published' (replay orders articles by it)")
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _article(doc: dict[str, Any], feed: str, published: datetime) -> ParsedArticle:
    title, text = plain_text(str(doc.get("title") or "")), plain_text(str(doc.get("text") or ""))
    url = canonical_url(doc.get("url"))
    guid = str(doc.get("id")) if doc.get("id") is not None else url
    base = ParsedArticle(title=title, text=text, url=url, guid=guid, published=published,
                         outlet=str(doc.get("outlet") or feed), fingerprint=fingerprint(title, text))
    return replace(base, keys=identity_keys(base, feed))


def from_archive(session: Session, since: datetime) -> list[tuple[str, ParsedArticle]]:
    """Stored articles fetched since ``since``, as replay input."""
    rows = session.execute(select(Article, Feed.name).join(Feed, Feed.id == Article.feed_id)
                           .where(Article.fetched_at >= since))
    out = []
    for article, feed in rows:
        published = article.published_at or article.fetched_at
        base = ParsedArticle(title=article.title, text=article.text, url=article.url, guid=article.guid,
                             published=published, outlet=article.outlet, fingerprint=article.fingerprint)
        out.append((feed, replace(base, keys=identity_keys(base, feed))))
    return out


def replay(config: Config, ruleset: RuleSet, items: Iterable[tuple[str, ParsedArticle]]) -> list[dict[str, Any]]:
    """Alert records the pipeline would have produced, in order."""
    ordered = sorted(items, key=lambda item: item[1].published or datetime.min.replace(tzinfo=timezone.utc))
    with tempfile.TemporaryDirectory(prefix="cfwatch-replay-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'replay.db'}")
        try:
            migrate(engine)
            sessions = sessionmaker(engine, expire_on_commit=False)
            _run(config, ruleset, ordered, sessions)
            with sessions() as session:
                return [a.record for a in session.scalars(select(Alert).order_by(Alert.id))]
        finally:
            engine.dispose()


def _run(config: Config, ruleset: RuleSet, ordered: list[tuple[str, ParsedArticle]],
         sessions: sessionmaker[Session]) -> None:
    processor = Processor(config)
    feed_ids: dict[str, int] = {}

    def classify(article: ParsedArticle) -> Any:
        return ruleset.classify(article.title, article.text, when=article.published)

    for feed, article in ordered:
        now = article.published or datetime.now(timezone.utc)
        with sessions.begin() as session:
            if feed not in feed_ids:
                row = Feed(name=feed, url="replay:", error_count=0, polls=0, items_seen=0)
                session.add(row)
                session.flush()
                feed_ids[feed] = row.id
            processor.flush_updates(session, now)
            cfg = config.feed(feed)
            source = Source(feed_ids[feed], feed, tuple(cfg.tags) if cfg else ())
            processor.process(session, source, [article], {}, now, classify)
    if ordered:
        with sessions.begin() as session:
            processor.flush_updates(session, ordered[-1][1].published or datetime.now(timezone.utc), force=True)


def compare(replayed: list[dict[str, Any]], actual: list[dict[str, Any]]) -> tuple[int, int]:
    """(+added, -removed) new-incident alerts, matched by the first report's URL or title."""
    def keys(records: list[dict[str, Any]]) -> set[str]:
        return {str(r.get("url") or r.get("title")) for r in records if r.get("event") == "new"}

    mine, theirs = keys(replayed), keys(actual)
    return len(mine - theirs), len(theirs - mine)
