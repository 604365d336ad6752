"""Read-only queries about the watcher itself: feed health, rule hits over time, /healthz.

Aggregation happens in SQL (counts grouped by feed, rule and day), so a page costs a
few grouped queries whatever the size of the archive.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from pipeline.cli_feeds import WINDOW as FEED_WINDOW, feed_state, stored_feeds
from pipeline.config import Config
from pipeline.models import Article, Feed, MatchRow
from pipeline.web.readonly import SchemaState, schema_state


@dataclass(frozen=True)
class FeedView:
    name: str
    state: str            # ok, erroring, failing, silent, gone, off, new (pipeline.cli_feeds)
    url: str
    polls: int
    items_seen: int
    errors_in_a_row: int
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    per_day: float        # new articles a day over the last seven days


def feeds(session: Session, config: Config, now: datetime) -> list[FeedView]:
    """One row per configured feed, in config order (as ``cfwatch feeds``)."""
    stored, counts = stored_feeds(session, now)
    out = []
    for cfg in config.feeds:
        row = stored.get(cfg.name)
        out.append(FeedView(
            name=cfg.name, state=feed_state(cfg, row), url=cfg.url, polls=row.polls if row else 0,
            items_seen=row.items_seen if row else 0, errors_in_a_row=row.error_count if row else 0,
            last_success=row.last_success_at if row else None, last_error=row.last_error if row else None,
            last_error_at=row.last_error_at if row else None,
            per_day=round(counts.get(row.id, 0) / FEED_WINDOW.days, 1) if row else 0.0))
    return out


@dataclass(frozen=True)
class RuleHits:
    rule: str
    category: str
    counts: list[int]     # per day, oldest first, aligned with RuleChart.days
    total: int
    surge: bool           # the last day far above the days before: a rule that fires on everything?


@dataclass(frozen=True)
class RuleChart:
    days: list[date]
    articles: list[int]   # new articles per day: how much there was to match
    rules: list[RuleHits]


def rule_hits(session: Session, now: datetime, days: int) -> RuleChart:
    """Hits per rule per day over the last ``days`` days (by the article's fetch time)."""
    first = (now - timedelta(days=days - 1)).date()
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    axis = [first + timedelta(days=i) for i in range(days)]
    index = {d.isoformat(): i for i, d in enumerate(axis)}
    day = func.date(Article.fetched_at)
    articles = [0] * days
    for value, count in session.execute(select(day, func.count()).where(Article.fetched_at >= start).group_by(day)):
        if str(value)[:10] in index:
            articles[index[str(value)[:10]]] = count
    hits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * days)
    query = (select(MatchRow.rule, MatchRow.category, day, func.count())
             .join(Article, Article.id == MatchRow.article_id).where(Article.fetched_at >= start)
             .group_by(MatchRow.rule, MatchRow.category, day))
    for rule, category, value, count in session.execute(query):
        if str(value)[:10] in index:
            hits[(rule, category)][index[str(value)[:10]]] += count
    rules = [RuleHits(rule, category, counts, sum(counts), surging(counts))
             for (rule, category), counts in hits.items()]
    rules.sort(key=lambda r: (-r.total, r.rule))
    return RuleChart(axis, articles, rules)


def surging(counts: list[int]) -> bool:
    """The last day more than three times the average of the days before, and not a handful."""
    if len(counts) < 2:
        return False
    before = counts[:-1]
    return counts[-1] > 3 * (sum(before) / len(before)) + 5


@dataclass(frozen=True)
class Health:
    database: str                     # "ok" or why not
    schema: SchemaState | None
    scheduler: str                    # alive, stopped, dead, none, unknown
    scheduler_detail: str
    last_success: datetime | None     # the newest successful poll of any feed
    poll_age: float | None            # seconds
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        from pipeline.records import iso

        return {"status": "ok" if self.ok else "unhealthy", "problems": self.problems,
                "database": self.database, "schema": self.schema.describe() if self.schema else None,
                "scheduler": self.scheduler, "scheduler_detail": self.scheduler_detail,
                "last_successful_poll": iso(self.last_success),
                "last_successful_poll_age_seconds": None if self.poll_age is None else round(self.poll_age, 1)}


def health(session: Session, now: datetime, *, stale_after: timedelta) -> Health:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        return Health(f"unreachable: {reason}", None, "unknown", "", None, None, [f"database unreachable: {reason}"])
    schema = schema_state(session)
    problems = [] if schema.at_head else [f"schema {schema.describe()}"]
    if schema.current is None:
        return Health("ok", schema, "unknown", "", None, None, problems)
    last = session.scalar(select(func.max(Feed.last_success_at)))
    age = (now - last).total_seconds() if last else None
    if last is None:
        problems.append("no successful poll yet")
    elif age is not None and age > stale_after.total_seconds():
        problems.append(f"last successful poll {int(age)} s ago (more than {int(stale_after.total_seconds())} s)")
    scheduler, detail = scheduler_state(session, now)
    if scheduler == "dead":
        problems.append(f"scheduler {scheduler}: {detail}")
    return Health("ok", schema, scheduler, detail, last, age, problems)


def scheduler_state(session: Session, now: datetime) -> tuple[str, str]:
    """``alive``, ``stopped``, ``dead``, ``none`` or ``unknown``, from the daemons' heartbeats.

    Read defensively: a database (or a code version) without the ``daemons`` table is
    "unknown", not an error. Only ``dead`` (the newest process never stopped and stopped
    beating) is a problem: a clean stop with ``poll --once`` from cron is a way to run,
    and stale polls are caught by the poll age anyway.
    """
    try:
        from pipeline.models import Daemon  # type: ignore[attr-defined]
    except ImportError:
        return "unknown", "this version has no daemon heartbeat table"
    if not inspect(session.connection()).has_table(Daemon.__tablename__):
        return "unknown", "the database has no daemon heartbeat table yet"
    try:
        from pipeline.daemons import DEAD_AFTER as dead_after
    except ImportError:
        dead_after = timedelta(seconds=30)
    live = session.scalar(select(func.count()).select_from(Daemon).where(
        Daemon.stopped_at.is_(None), Daemon.heartbeat_at >= now - dead_after)) or 0
    newest = session.scalars(select(Daemon).order_by(Daemon.heartbeat_at.desc()).limit(1)).first()
    if newest is None:
        return "none", "no daemon or poll has registered on this database"
    beat = f"last heartbeat {int((now - newest.heartbeat_at).total_seconds())} s ago"
    if live:
        return "alive", f"{live} process{'es' if live != 1 else ''} running, {beat}"
    where = f"{newest.host} pid {newest.pid}"
    if newest.stopped_at is not None:
        return "stopped", f"{where} stopped cleanly at {newest.stopped_at.isoformat()}"
    return "dead", f"{where} never stopped and has not beaten for {dead_after} ({beat}): crashed or killed?"
