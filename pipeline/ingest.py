"""One poll of one feed: fetch -> parse -> store -> rules -> alert -> outbox.

The orchestration: it calls the I/O (fetcher, database) around pure steps (parse,
rules, decide). Fetching, parsing and rule matching happen outside any database
transaction; everything a poll writes (articles, sources, matches, incident, alert,
delivery rows, feed state) commits in one transaction, so a crash leaves either all
of it or none of it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipeline import db, feedhealth, leases, locks, store, story_store
from pipeline.articles import ParsedArticle
from pipeline.config import Config, FeedConfig
from pipeline.fetch import Fetcher, FetchRequest, FetchResult
from pipeline.logfmt import log_event
from pipeline.models import Feed
from pipeline.operator import Operator
from pipeline.parse import NotAFeed, ParsedFeed, parse_feed
from pipeline.process import STORY_WINDOW, Processor, Source
from pipeline.schedule import next_poll
from rules import RuleSet

log = logging.getLogger("cfwatch.poll")
_PRUNE_MARGIN = timedelta(hours=1)  # daemons' clocks may differ a little


@dataclass
class PollReport:
    """What one poll did; logged as one line and summed by ``poll --once``."""

    feed: str
    outcome: str  # new_items | unchanged | not_modified | error | skipped | disabled
    status: int | None = None
    items: int = 0
    new: int = 0
    duplicates: int = 0
    alerts: int = 0
    error: str | None = None
    ms: float = 0.0


@dataclass(frozen=True)
class _FeedState:
    id: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_poll_at: datetime | None
    error_count: int
    first_poll: bool
    url: str  # what to fetch: the config URL, or where a 301/308 moved it
    gone: bool  # 410 Gone for the URL the config names now
    alert_state: str | None  # the feed's open operator alert, if any


class _Pending:
    """Success rows of unchanged polls waiting to be written together.

    A warm cycle is a thousand polls that each only end a lease and move a clock: one
    transaction and statement each cost more than the fetch's own Python work.
    Written when ``size`` are waiting, or by ``take`` once the oldest has waited
    ``linger`` seconds.
    """

    def __init__(self, size: int = 100, linger: float = 0.5) -> None:
        self.size, self.linger = size, linger
        self._rows: list[dict[str, Any]] = []
        self._since = 0.0
        self._lock = threading.Lock()

    def add(self, row: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Keep ``row``; returns the batch to write now when it is full."""
        with self._lock:
            if not self._rows:
                self._since = time.monotonic()
            self._rows.append(row)
            if len(self._rows) < self.size:
                return None
            rows, self._rows = self._rows, []
            return rows

    def take(self, *, force: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            if not self._rows or not (force or time.monotonic() - self._since >= self.linger):
                return []
            rows, self._rows = self._rows, []
            return rows


class Ingestor:
    def __init__(self, *, config: Config, sessions: sessionmaker[Session], ruleset: RuleSet, fetcher: Fetcher,
                 clock: Callable[[], datetime], owner: str = "local", rng: random.Random | None = None) -> None:
        self.config = config
        self.owner = owner  # this process's id on feed leases (pipeline.daemons)
        self.lease = leases.lease_period(config.fetch.total_timeout)
        self._strays: list[str] | None = None
        self.sessions = sessions
        self.ruleset = ruleset
        self.fetcher = fetcher
        self.clock = clock
        self.rng = rng or random.Random()
        self.processor = Processor(config)
        self.operator = Operator(config, sessions, clock)
        # Unchanged polls (a 304, the same bytes) are written in batches when the caller
        # turns this on and calls flush_unchanged(): the daemon's poll loop and poll --once.
        # Their rows only move the feed's clock and end its lease, so losing a batch to a
        # crash costs a poll again once the leases run out, never data.
        self.defer_unchanged = False
        self._unchanged = _Pending()
        bind = sessions.kw.get("bind")
        self._reads = sessionmaker(db.reading(bind)) if bind is not None else sessions
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writes: AbstractContextManager[Any] = threading.Lock() if sqlite else nullcontext()

    def claim_due(self, feeds: dict[str, FeedConfig], limit: int) -> list[tuple[FeedConfig, leases.FeedRow]]:
        """Lease up to ``limit`` due feeds for this process (the daemon's dispatcher)."""
        if self._strays is None:  # feed rows the config no longer names: never claimed
            with self.sessions.begin() as session:
                self._strays = sorted(set(session.scalars(select(Feed.name))) - set(feeds))
        with self.sessions.begin() as session:
            rows = leases.claim(session, self.owner, None, self.clock(), self.lease, limit=limit,
                                skip=self._strays)
        claimed = [(feeds[row.name], row) for row in rows if row.name in feeds]
        if len(claimed) < len(rows):  # another daemon runs a config that adds feeds: leave them
            with self.sessions.begin() as session:
                for row in rows:
                    if row.name not in feeds:
                        session.execute(update(Feed).where(Feed.id == row.id)
                                        .values(**leases.release_values(self.owner)))
        return claimed

    def claim_all(self, feeds: list[FeedConfig]) -> dict[str, leases.FeedRow]:
        """Lease every feed no other process is polling now, due or not (``poll --once``)."""
        with self.sessions.begin() as session:
            rows = leases.claim(session, self.owner, [f.name for f in feeds], self.clock(), self.lease,
                                limit=len(feeds), force=True)
        return {row.name: row for row in rows}

    def poll(self, feed: FeedConfig, *, force: bool = False, leased: leases.FeedRow | None = None) -> PollReport:
        """Poll one feed; never raises for the feed's own faults (they are stored on it).

        ``leased`` is the feed's row as the dispatcher claimed it; without it the feed is
        claimed here, and left alone while another process's lease holds it.
        """
        now = self.clock()
        if leased is None:
            with self.sessions.begin() as session:
                claimed = leases.claim(session, self.owner, [feed.name], now, self.lease, limit=1, force=True)
                leased = claimed[0] if claimed else None
                holder = None if leased else leases.holder(session, feed.name, now)
            if leased is None:
                return PollReport(feed.name, "skipped", error=f"being polled by {holder or 'another process'}")
        state = self._state_of(feed, leased)
        if state.gone:
            self._release(feed, state, now)
            return PollReport(feed.name, "disabled", error="410 Gone: disabled until its URL changes")
        # A direct call (tests, `poll --once` without force) polls a healthy feed whenever
        # asked; the stored next poll time holds back a feed that is failing (backoff) or
        # was told to wait (Retry-After). The dispatcher only claims feeds that are due.
        if not force and state.error_count and state.next_poll_at is not None and state.next_poll_at > now:
            self._release(feed, state, None)
            return PollReport(feed.name, "skipped")
        request = FetchRequest(state.url, state.etag, state.last_modified,
                               feed.max_bytes or self.config.fetch.max_bytes, allow_private=feed.allow_private)
        result = self.fetcher.fetch(request)
        try:
            report = self._handle(feed, state, result, now)
        except SQLAlchemyError as exc:  # the database, not the feed: keep going, try again next poll
            report = self._store_failed(feed, state, exc, now)
        report.ms = round(result.elapsed * 1000, 1)
        log_event(log, logging.WARNING if report.outcome == "error" else logging.INFO, "poll",
                  feed=report.feed, outcome=report.outcome, status=report.status, items=report.items,
                  new=report.new, duplicates=report.duplicates, alerts=report.alerts, ms=report.ms,
                  error=report.error)
        return report

    def _handle(self, feed: FeedConfig, state: _FeedState, result: FetchResult, now: datetime) -> PollReport:
        if result.moved_to and result.outcome != "error":
            self._moved(feed, state, result.moved_to)
        if result.outcome == "error":
            return self._failed(feed, state, result.error or "fetch failed", result.status, result.retry_after, now)
        if result.outcome == "not_modified":
            self._succeeded(feed, state, now, result, state.body_hash, new=0)
            return PollReport(feed.name, "not_modified", result.status)
        digest = hashlib.sha256(result.body).hexdigest()
        if digest == state.body_hash:  # no ETag support upstream, same bytes: skip parsing
            self._succeeded(feed, state, now, result, digest, new=0)
            return PollReport(feed.name, "unchanged", result.status)
        try:
            parsed = parse_feed(result.body, feed.name, feed.outlet_name)
        except NotAFeed as exc:
            return self._failed(feed, state, f"not a feed: {exc}", result.status, None, now)
        if parsed.warning:
            log_event(log, logging.INFO, "malformed_feed_kept_entries", feed=feed.name,
                      entries=len(parsed.articles), problem=parsed.warning[:200])
        return self._ingest(feed, state, result, digest, parsed, now)

    def _ingest(self, feed: FeedConfig, state: _FeedState, result: FetchResult, digest: str,
                parsed: ParsedFeed, now: datetime) -> PollReport:
        report = PollReport(feed.name, "new_items", result.status, items=len(parsed.articles))
        all_keys = [k for a in parsed.articles for k in a.keys]
        with self._reads.begin() as session:  # only reads: waits for no writer
            known = store.known_keys(session, all_keys)
        # Rules run outside the write transaction; only articles not seen before.
        results = {id(a): self._classify(a).to_record()
                   for a in parsed.articles if not any(k in known for k in a.keys)}
        source = Source(state.id, feed.name, tuple(feed.tags), feed.backfill, state.first_poll)
        # Known keys are checked again in here, under the write lock. With SQLite, writers
        # from this process queue on a lock of ours rather than on the database's: many
        # threads spinning on SQLite's busy timeout starve each other on a cold start.
        with self._writes, self.sessions.begin() as session:
            locks.hold_for_transaction(session, "process")  # one writer of incidents across daemons
            outcome = self.processor.process(session, source, parsed.articles, results, now, self._classify)
            self._record_success(session, feed, state, now, result, digest, outcome.new)
        report.new, report.duplicates, report.alerts = outcome.new, outcome.duplicates, outcome.alerts
        return report

    def _store_failed(self, feed: FeedConfig, state: _FeedState, exc: SQLAlchemyError, now: datetime) -> PollReport:
        """Nothing of the poll was committed (its body hash neither), so the next poll redoes it."""
        log.error("storing the poll of feed %s failed", feed.name, exc_info=exc)
        error = f"database error while storing: {type(exc.orig or exc).__name__}: {str(exc.orig or exc)[:200]}"
        try:
            return self._failed(feed, state, error, None, None, now)
        except SQLAlchemyError:
            return PollReport(feed.name, "error", error=error)

    def flush_updates(self, *, force: bool = False) -> int:
        """Send batched incident updates that are due (all pending ones when ``force``)."""
        with self._writes, self.sessions.begin() as session:
            locks.hold_for_transaction(session, "process")
            return self.processor.flush_updates(session, self.clock(), force=force)

    def prune_story_index(self) -> int:
        """Drop story bands past the story window, a chunk per transaction (short write
        locks); returns how many went. Run by the daemon every few minutes and by
        ``poll --once``; cheap when there is nothing to drop (an index range)."""
        before = self.clock() - STORY_WINDOW - _PRUNE_MARGIN
        dropped = 0
        while True:
            with self._writes, self.sessions.begin() as session:
                count = story_store.prune_bands(session, before)
            dropped += count
            if count < story_store.PRUNE_CHUNK:
                return dropped

    def _classify(self, article: ParsedArticle) -> Any:
        return self.ruleset.classify(article.title, article.text, when=article.published)

    @staticmethod
    def _state_of(feed: FeedConfig, row: leases.FeedRow) -> _FeedState:
        url = row.moved_url if row.moved_url and row.moved_from == feed.url else feed.url
        return _FeedState(row.id, row.etag, row.last_modified, row.body_hash, row.next_poll_at,
                          row.error_count, row.last_success_at is None, url, row.gone_url == feed.url,
                          row.alert_state)

    def _release(self, feed: FeedConfig, state: _FeedState, now: datetime | None) -> None:
        """End the lease of a poll that fetched nothing; ``now`` also pushes the next due time."""
        values = leases.release_values(self.owner)
        if now is not None:
            values["next_poll_at"] = self._next(feed, now, 0, None)
        with self.sessions.begin() as session:
            session.execute(update(Feed).where(Feed.id == state.id).values(**values))

    def _moved(self, feed: FeedConfig, state: _FeedState, target: str) -> None:
        """A permanent redirect: fetch the new URL from now on (until the config URL changes)."""
        if target == state.url:
            return
        with self.sessions.begin() as session:
            session.execute(update(Feed).where(Feed.id == state.id).values(moved_url=target, moved_from=feed.url))
        log_event(log, logging.WARNING, "feed_moved", feed=feed.name, to=target)

    def _succeeded(self, feed: FeedConfig, state: _FeedState, now: datetime, result: FetchResult,
                   digest: str | None, new: int) -> None:
        """A poll that found nothing new (304, or the same bytes)."""
        if self.defer_unchanged and not self._needs_health_check(feed, state):
            full = self._unchanged.add(self._success_row(feed, state, now, result, digest, new))
            if full:
                self._write_unchanged(full)
            return
        with self.sessions.begin() as session:
            self._record_success(session, feed, state, now, result, digest, new)

    def flush_unchanged(self, *, force: bool = False) -> None:
        """Write the deferred unchanged polls that have waited long enough (all when ``force``)."""
        rows = self._unchanged.take(force=force)
        if rows:
            self._write_unchanged(rows)

    def _write_unchanged(self, rows: list[dict[str, Any]]) -> None:
        try:
            with self.sessions.begin() as session:
                store.record_successes(session, rows)
        except SQLAlchemyError:
            # Nothing was learnt from these polls but their time: their leases run out
            # and the feeds are polled again, as after a crash.
            log.exception("recording %d unchanged polls failed", len(rows))

    def _record_success(self, session: Session, feed: FeedConfig, state: _FeedState, now: datetime,
                        result: FetchResult, digest: str | None, new: int) -> None:
        store.record_successes(session, [self._success_row(feed, state, now, result, digest, new)])
        if self._needs_health_check(feed, state):
            self._check_health(session, feed, state.id, now)

    def _success_row(self, feed: FeedConfig, state: _FeedState, now: datetime, result: FetchResult,
                     digest: str | None, new: int) -> dict[str, Any]:
        # The silence clock (expect_every) starts at the first successful poll.
        return store.success_row(state.id, owner=self.owner, now=now, next_poll_at=self._next(feed, now, 0, None),
                                 etag=result.etag, last_modified=result.last_modified, body_hash=digest,
                                 status=result.status, new=new, fresh=bool(new or state.first_poll))

    @staticmethod
    def _needs_health_check(feed: FeedConfig, state: _FeedState) -> bool:
        # A success can only clear an open alert or find the feed silent; with neither
        # possible, skip reading the row back (most polls of a healthy feed).
        return state.alert_state is not None or feed.expect_every is not None

    def _failed(self, feed: FeedConfig, state: _FeedState, error: str, status: int | None,
                retry_after: float | None, now: datetime) -> PollReport:
        errors = state.error_count + 1
        with self.sessions.begin() as session:
            store.record_poll(session, state.id, last_polled_at=now, last_status=status, last_error=error[:1000],
                              last_error_at=now, error_count=errors,
                              next_poll_at=self._next(feed, now, errors, retry_after),
                              **leases.release_values(self.owner))
            if status == 410:  # Gone: stop polling this URL for good
                session.execute(update(Feed).where(Feed.id == state.id).values(gone_url=feed.url, gone_at=now))
                log_event(log, logging.ERROR, "feed_disabled", feed=feed.name, reason="410 Gone", url=state.url)
            self._check_health(session, feed, state.id, now)
        return PollReport(feed.name, "error", status, error=error)

    def _check_health(self, session: Session, feed: FeedConfig, feed_id: int, now: datetime) -> None:
        """Raise or clear this feed's operator alert, in the poll's own transaction."""
        row = session.get(Feed, feed_id, populate_existing=True)
        assert row is not None
        health = feedhealth.FeedHealth(row.name, row.error_count, row.last_error, row.last_error_at,
                                       row.last_success_at, row.last_new_at, row.alert_state, row.alert_since,
                                       gone=row.gone_url == feed.url)
        decision = feedhealth.decide(health, max_failures=feed.max_failures, expect_every=feed.expect_every,
                                     now=now)
        if decision.action == "none":
            return
        row.alert_state = decision.state
        row.alert_since = now if decision.state else None
        severity = "low" if decision.action == "clear" else "high"
        self.operator.alert(session, decision.reason, decision.title, severity, now, feed=feed.name)

    def _next(self, feed: FeedConfig, now: datetime, errors: int, retry_after: float | None) -> datetime:
        fetch = self.config.fetch
        return next_poll(now, feed.every, error_count=errors, retry_after=retry_after, jitter=fetch.jitter,
                         max_backoff=fetch.max_backoff, rng=self.rng)
