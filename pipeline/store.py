"""Database reads and writes for ingest (I/O only; decisions live in pipeline.decide).

Lookups are batched per feed (one ``IN`` query for all keys of a poll) because an
"already stored?" query per item costs tens of times more than one per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from pipeline.articles import ParsedArticle
from pipeline.config import FeedConfig
from pipeline.models import Alert, Article, ArticleKey, ArticleSource, Delivery, Feed, MatchRow

_IN_CHUNK = 500  # stay well under SQLite's bound-parameter limit


def sync_feeds(session: Session, feeds: Sequence[FeedConfig]) -> dict[str, int]:
    """Make sure every configured feed has a row; a changed URL resets its cache state."""
    rows = {f.name: f for f in session.scalars(select(Feed))}
    for cfg in feeds:
        row = rows.get(cfg.name)
        if row is None:
            row = Feed(name=cfg.name, url=cfg.url, error_count=0, polls=0, items_seen=0)
            session.add(row)
            rows[cfg.name] = row
        elif row.url != cfg.url:
            row.url, row.etag, row.last_modified, row.body_hash = cfg.url, None, None, None
    session.flush()
    return {name: row.id for name, row in rows.items()}


def known_keys(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """Map of the given identity keys that are already stored to their article id."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        rows = session.execute(select(ArticleKey.key, ArticleKey.article_id).where(ArticleKey.key.in_(chunk)))
        found.update({key: article_id for key, article_id in rows})
    return found


# New articles go in through Core statements built once, not ORM objects: an ORM insert
# with a flush per article, its keys, source and matches cost several times the rest of
# the work, and building a statement per row costs as much as running it.
_INSERT_ARTICLE = Article.__table__.insert().returning(Article.__table__.c.id)
_INSERT_KEY = ArticleKey.__table__.insert()
_INSERT_SOURCE = ArticleSource.__table__.insert()
_INSERT_MATCH = MatchRow.__table__.insert()

def insert_article(session: Session, feed_id: int, article: ParsedArticle, now: datetime,
                   skip_reason: str | None, *, story_id: int | None = None,
                   facts: dict[str, Any] | None = None) -> int:
    """The article row, its identity keys and its first source; returns its id."""
    article_id = int(session.execute(_INSERT_ARTICLE, {
        "feed_id": feed_id, "guid": article.guid, "url": article.url, "title": article.title, "text": article.text,
        "outlet": article.outlet, "fingerprint": article.fingerprint, "published_at": article.published,
        "fetched_at": now, "skip_reason": skip_reason, "story_id": story_id, "facts": facts}).scalar_one())
    session.execute(_INSERT_KEY, [{"key": key, "article_id": article_id} for key in article.keys])
    session.execute(_INSERT_SOURCE, {"article_id": article_id, "feed_id": feed_id, "outlet": article.outlet,
                                     "url": article.url or "", "title": article.title, "seen_at": now})
    return article_id


_SOURCE_KNOWN = select(ArticleSource.__table__.c.id).where(
    ArticleSource.__table__.c.article_id == bindparam("article_id"),
    ArticleSource.__table__.c.feed_id == bindparam("feed_id"), ArticleSource.__table__.c.url == bindparam("url"))


def add_source(session: Session, article_id: int, feed_id: int, article: ParsedArticle, now: datetime) -> bool:
    """Record that a stored article was also seen here; False when this exact source is known."""
    url = article.url or ""
    if session.execute(_SOURCE_KNOWN, {"article_id": article_id, "feed_id": feed_id, "url": url}).first():
        return False
    session.execute(_INSERT_SOURCE, {"article_id": article_id, "feed_id": feed_id, "outlet": article.outlet,
                                     "url": url, "title": article.title, "seen_at": now})
    return True


def insert_matches(session: Session, article_id: int, matches: Sequence[dict[str, Any]]) -> None:
    if matches:
        session.execute(_INSERT_MATCH, [{"article_id": article_id, "rule": m["rule"], "category": m["category"],
                                            "severity": m["severity"], "words": list(m.get("text") or [])}
                                           for m in matches])


_ALERTS = Alert.__table__
_INSERT_ALERT = _ALERTS.insert().returning(_ALERTS.c.id)
_SET_RECORD = (_ALERTS.update().where(_ALERTS.c.id == bindparam("alert_id"))
               .values(record=bindparam("alert_record", type_=_ALERTS.c.record.type)))
_INSERT_DELIVERY = Delivery.__table__.insert()


def create_alert(session: Session, incident_id: int, event: str, reason: str, severity: str,
                 now: datetime) -> int:
    """A new alert row (its record is set once its id is known); returns the id."""
    return int(session.execute(_INSERT_ALERT, {"incident_id": incident_id, "event": event, "reason": reason,
                                               "severity": severity, "record": {}, "created_at": now}).scalar_one())


def set_alert_record(session: Session, alert_id: int, record: dict[str, Any]) -> None:
    session.execute(_SET_RECORD, {"alert_id": alert_id, "alert_record": record})


def enqueue(session: Session, alert_id: int, notifiers: Iterable[str], now: datetime) -> None:
    """Outbox rows, written in the alert's own transaction so neither exists without the other."""
    rows = [{"alert_id": alert_id, "notifier": name, "status": "pending", "attempts": 0, "next_attempt_at": now,
             "created_at": now} for name in notifiers]
    if rows:
        session.execute(_INSERT_DELIVERY, rows)


_FEEDS = Feed.__table__
_fc = _FEEDS.c
# A successful poll, the commonest write of all (every 304): one statement built once.
# It ends the poller's lease (and no one else's) and starts the silence clock when asked.
_POLL_SUCCEEDED = (
    _FEEDS.update().where(_fc.id == bindparam("feed_id"))
    .values(etag=bindparam("etag"), last_modified=bindparam("last_modified"), body_hash=bindparam("body_hash"),
            last_polled_at=bindparam("now", type_=_fc.last_polled_at.type),
            last_success_at=bindparam("now", type_=_fc.last_success_at.type), last_status=bindparam("status"),
            error_count=0, next_poll_at=bindparam("next_poll_at", type_=_fc.next_poll_at.type),
            polls=_fc.polls + 1, items_seen=_fc.items_seen + bindparam("new"),
            last_new_at=case((bindparam("fresh"), bindparam("now", type_=_fc.last_new_at.type)),
                             else_=_fc.last_new_at),
            lease_owner=case((_fc.lease_owner == bindparam("owner"), None), else_=_fc.lease_owner),
            lease_until=case((_fc.lease_owner == bindparam("owner"), None), else_=_fc.lease_until)))


def success_row(feed_id: int, *, owner: str, now: datetime, next_poll_at: datetime, etag: str | None,
                last_modified: str | None, body_hash: str | None, status: int | None, new: int,
                fresh: bool) -> dict[str, Any]:
    """The parameters of ``_POLL_SUCCEEDED`` for one poll."""
    return {"feed_id": feed_id, "etag": etag, "last_modified": last_modified, "body_hash": body_hash, "now": now,
            "status": status, "next_poll_at": next_poll_at, "new": new, "fresh": fresh, "owner": owner}


def record_successes(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Several polls' successes (``success_row``) in one executemany."""
    if rows:
        session.execute(_POLL_SUCCEEDED, list(rows))


def record_poll(session: Session, feed_id: int, new_items: int = 0, **values: Any) -> None:
    session.execute(update(Feed).where(Feed.id == feed_id)
                    .values(polls=Feed.polls + 1, items_seen=Feed.items_seen + new_items, **values))


def recent_alerts(session: Session, limit: int) -> list[Alert]:
    return list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)))


def delivery_counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(select(Delivery.notifier, Delivery.status, func.count())
                           .group_by(Delivery.notifier, Delivery.status))
    return {(notifier, status): count for notifier, status, count in rows}
