"""The schema: SQLAlchemy 2 declarative tables, created and changed only by Alembic.

Uniqueness that matters for "never twice" lives here as constraints, so races are
settled by the database (one key per article identity, one delivery per alert and
notifier), not by what one process happens to remember.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    LargeBinary,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python, naive UTC in the column (SQLite has no zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class Feed(Base):
    """Polling state of one configured feed, keyed by its config name."""

    __tablename__ = "feeds"
    __table_args__ = (Index("ix_feeds_due", "next_poll_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    # Health (pipeline.feedhealth). A 301/308 target is used while the config still names
    # ``moved_from``; a 410 disables the feed while the config still names ``gone_url``.
    moved_url: Mapped[str | None] = mapped_column(Text)
    moved_from: Mapped[str | None] = mapped_column(Text)
    gone_url: Mapped[str | None] = mapped_column(Text)
    gone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The operator alert open for this feed ("failing", "silent", "gone") and since when.
    alert_state: Mapped[str | None] = mapped_column(String(20))
    alert_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Work sharing (pipeline.leases): the daemon polling this feed now, until when. A
    # feed is due when ``next_poll_at`` has passed and no live lease holds it.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Article(Base):
    """One normalized feed entry; exact duplicates become ArticleSource rows instead."""

    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    outlet: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Why an article that matched did not alert (e.g. "backfill"); null otherwise.
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    # Entities the rules found (places, actors, casualties, treaties, claims...), kept
    # so an incident's alert can list everything its reports say.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ArticleKey(Base):
    """Identity keys (guid, canonical URL, fingerprints) pointing at the first article."""

    __tablename__ = "article_keys"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)


class ArticleSource(Base):
    """Every (feed, URL) an article was seen under: the story's sources."""

    __tablename__ = "article_sources"
    __table_args__ = (UniqueConstraint("article_id", "feed_id", "url"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    outlet: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MatchRow(Base):
    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    rule: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    words: Mapped[list[str]] = mapped_column(JSON)


class Story(Base):
    """Near-duplicate articles (the same wire copy or a light rewrite) from any feeds."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StoryBand(Base):
    """LSH band keys of a story's signature: the index near-duplicate lookup uses."""

    __tablename__ = "story_bands"
    band: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), primary_key=True)
    # Indexed for pruning: bands older than the story window are never looked up again
    # (pipeline.story_store.prune_bands), so the index stays the size of the window.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Incident(Base):
    """One event reported by one or more stories: the unit of alerting."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(10))
    # use_alter: articles -> stories -> incidents -> articles is a cycle of references.
    first_article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", use_alter=True))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_update: Mapped[datetime] = mapped_column(UTCDateTime)
    first_event: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    places: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    countries: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    actors: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    title_words: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    # {story id: [outlet, killed, injured]}: casualty figures per independent source.
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    # What the last alert said ({at, categories, severity, killed, sources}); null before.
    alerted: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pending_update: Mapped[bool] = mapped_column(Boolean, default=False)


class Silence(Base):
    """While active, matching alerts are stored with reason ``silenced`` and not sent."""

    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    categories: Mapped[list[str] | None] = mapped_column(JSON)
    countries: Mapped[list[str] | None] = mapped_column(JSON)
    places: Mapped[list[str] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Null for operator messages (a feed failing, deliveries given up), which have no incident.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Delivery(Base):
    """The outbox: one alert to one notifier, tracked until sent or given up."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "notifier"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    notifier: Mapped[str] = mapped_column(String(100))
    # pending -> sending -> sent | failed (permanent error or attempts exhausted)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The channel's id for the sent message (Slack ts, Message-ID): updates thread under it.
    ref: Mapped[str | None] = mapped_column(String(300))
    # Who moved it to ``sending``, and when: a row left in ``sending`` by a daemon that
    # stopped heartbeating is reconciled by another; a live daemon's rows are left alone.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Daemon(Base):
    """A running ``cfwatch run`` (or ``poll --once``) process and its heartbeat."""

    __tablename__ = "daemons"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
