"""The delivery outbox: send due deliveries, retry what may pass, give up loudly.

A delivery row is claimed (``pending`` -> ``sending``) in its own short transaction
before the send and marked ``sent`` right after, so a crash in between repeats at
most that one message and never loses it. At start, rows left in ``sending`` are
reconciled: a notifier that can look into its channel (Slack history) says whether
the message got there; otherwise it is sent again. Each notifier is drained by its
own worker, so a slow or dead channel never holds up the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from notifiers import Message, Notifier, NotifierError, Pacing
from pipeline import daemons, locks
from pipeline import outbox_store as rows
from pipeline.config import DeliveryConfig
from pipeline.delivery_plan import Due, plan
from pipeline.logfmt import log_event
from pipeline.models import Delivery
from pipeline.schedule import backoff_delay

log = logging.getLogger("cfwatch.deliver")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed


class Outbox:
    def __init__(self, *, sessions: sessionmaker[Session], notifiers: Mapping[str, Notifier],
                 config: DeliveryConfig, clock: Callable[[], datetime],
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 owner: str = "local") -> None:
        self.sessions = sessions
        self.owner = owner  # this process's id on claimed rows (pipeline.daemons)
        self._engine = sessions.kw.get("bind")
        self.notifiers = dict(notifiers)
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic  # pacing's clock, injected with ``sleep`` in tests
        self._last_send: dict[str, float] = {}
        self._locks = {name: threading.Lock() for name in self.notifiers}

    def recover(self) -> int:
        """At start: settle deliveries a dead process left in ``sending``.

        Every drain does the same for its notifier, so the rows of a daemon that dies
        while others run are settled within ``daemons.DEAD_AFTER``.
        """
        total = 0
        for name in self.notifiers:
            with self._lock_channel(name) as mine:
                if mine:
                    total += self._recover(name)
        return total

    def _recover(self, name: str) -> int:
        """Settle ``name``'s rows in ``sending`` that no live process is working on.

        Called holding the channel (this process's lock and the database's), so a row of
        our own in ``sending`` is a leftover of a failed round, not a send in flight.
        """
        with self.sessions.begin() as session:
            sending = rows.sending(session, name)
            # Only when something is left in `sending` is it worth asking who is alive.
            live = daemons.alive(session, self.clock()) if sending and locks.is_postgres(session) else set()
        stuck = [i for i, owner in sending if owner is None or owner not in live - {self.owner}]
        for delivery_id in stuck:
            found = self._find_sent(name, delivery_id)
            with self.sessions.begin() as session:
                if found is not None:
                    rows.mark_sent(session, [delivery_id], self.clock(), found.ref)
                else:
                    rows.release(session, delivery_id, self.clock())
            log_event(log, logging.WARNING, "delivery_recovered", delivery=delivery_id, notifier=name,
                      outcome="already in channel" if found is not None else "will send again")
        return len(stuck)

    @contextmanager
    def _lock_channel(self, name: str) -> Iterator[bool]:
        """One sender per channel: across threads here, and across daemons on PostgreSQL."""
        with self._locks[name]:
            if self._engine is None:
                yield True
                return
            with locks.singleton(self._engine, f"deliver:{name}") as mine:
                yield mine

    def deliver_due(self, notifier: str | None = None, limit: int = 500) -> DeliveryReport:
        """Send what is due, for one notifier or for all (one worker each)."""
        names = [notifier] if notifier else [n for n in self._due_notifiers()]
        missing = [n for n in names if n not in self.notifiers]
        total = DeliveryReport()
        for name in missing:
            total.add(self._fail_orphans(name))
        names = [n for n in names if n in self.notifiers]
        if len(names) == 1:
            total.add(self._drain(names[0], limit))
        elif names:
            with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="deliver") as pool:
                for report in pool.map(lambda n: self._drain(n, limit), names):
                    total.add(report)
        return total

    def pending(self) -> tuple[int, datetime | None]:
        """How many deliveries wait, and when the earliest is due."""
        with self.sessions.begin() as session:
            count, due = session.execute(select(func.count(), func.min(Delivery.next_attempt_at))
                                         .where(Delivery.status.in_(("pending", "sending")))).one()
        return int(count), due

    def _due_notifiers(self) -> list[str]:
        with self.sessions.begin() as session:
            return rows.due_notifiers(session, self.clock())

    def _drain(self, name: str, limit: int) -> DeliveryReport:
        with self._lock_channel(name) as mine:  # one sender per channel, so order and pacing hold
            if not mine:  # another daemon is sending on this channel now
                return DeliveryReport()
            self._recover(name)
            notifier = self.notifiers[name]
            now = self.clock()
            with self.sessions.begin() as session:
                due = rows.due(session, name, now, limit)
            digest = getattr(notifier, "digest", None)
            pacing: Pacing | None = getattr(notifier, "pacing", None)
            work = plan(due, now=now, digest_due=digest.due if digest else None,
                        burst=pacing.burst if pacing else None, can_batch=hasattr(notifier, "send_batch"))
            report = DeliveryReport()
            for item in work.singles:
                if not self._send_one(notifier, item, report):
                    break  # the channel is struggling: keep the rest, in order, for the next round
            for batch in work.batches:
                self._send_batch(notifier, batch, report)
            return report

    def _send_one(self, notifier: Notifier, item: Due, report: DeliveryReport) -> bool:
        with self.sessions.begin() as session:
            message = rows.claim(session, item.id, self.owner, self.clock())
        if message is None:  # another worker or daemon took it
            return True
        self._pace(notifier)
        try:
            sent = notifier.send(message)
        except Exception as exc:  # noqa: BLE001 (a notifier bug must not kill the sender)
            return self._attempt_failed(notifier.name, [item.id], _as_notifier_error(notifier.name, exc), report)
        with self.sessions.begin() as session:
            rows.mark_sent(session, [item.id], self.clock(), sent.ref if sent else None)
        report.sent += 1
        return True

    def _send_batch(self, notifier: Notifier, batch: list[Due], report: DeliveryReport) -> None:
        with self.sessions.begin() as session:
            messages = [m for m in (rows.claim(session, d.id, self.owner, self.clock()) for d in batch)
                        if m is not None]
        if not messages:
            return
        self._pace(notifier)
        ids = [m.delivery_id for m in messages]
        try:
            sent = notifier.send_batch(messages)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            self._attempt_failed(notifier.name, ids, _as_notifier_error(notifier.name, exc), report)
            return
        with self.sessions.begin() as session:
            rows.mark_sent(session, ids, self.clock(), sent.ref if sent else None)
        report.sent += len(ids)
        log_event(log, logging.INFO, "delivered_batch", notifier=notifier.name, alerts=len(ids))

    def _pace(self, notifier: Notifier) -> None:
        pacing: Pacing | None = getattr(notifier, "pacing", None)
        if pacing is None:
            return
        last = self._last_send.get(notifier.name)
        if last is not None:
            wait = last + pacing.interval - self.monotonic()
            if wait > 0:
                self.sleep(wait)
        self._last_send[notifier.name] = self.monotonic()

    def _find_sent(self, name: str, delivery_id: int) -> object | None:
        notifier = self.notifiers.get(name)
        finder = getattr(notifier, "find_sent", None)
        if finder is None:
            return None
        with self.sessions.begin() as session:
            message = rows.message(session, delivery_id)
        try:
            return finder(message)
        except Exception as exc:  # noqa: BLE001 (cannot tell: sending again is the safe side)
            log_event(log, logging.WARNING, "reconcile_failed", notifier=name, error=str(exc)[:200])
            return None

    def _attempt_failed(self, name: str, ids: list[int], exc: NotifierError, report: DeliveryReport) -> bool:
        """Schedule a retry or give up; returns True when the next message may be tried now."""
        with self.sessions.begin() as session:
            attempts = rows.attempts(session, ids[0])
            give_up = not exc.retryable or attempts >= self.config.max_attempts
            if give_up:
                rows.fail(session, ids, str(exc))
            else:
                delay = backoff_delay(attempts, self.config.backoff, self.config.max_backoff, exc.retry_after)
                rows.retry_later(session, ids, str(exc), self.clock() + delay)
        if give_up:
            report.failed += len(ids)
            log_event(log, logging.ERROR, "delivery_failed", notifier=name, deliveries=len(ids),
                      attempts=attempts, error=str(exc)[:300])
            return True
        report.retrying += len(ids)
        log_event(log, logging.WARNING, "delivery_retry", notifier=name, deliveries=len(ids), attempt=attempts,
                  retry_in_s=round(delay.total_seconds(), 1), error=str(exc)[:300])
        return False

    def _fail_orphans(self, name: str) -> DeliveryReport:
        with self.sessions.begin() as session:
            ids = [d.id for d in rows.due(session, name, self.clock(), 10_000)]
            rows.fail(session, ids, f"notifier '{name}' is not configured any more")
        if ids:
            log_event(log, logging.ERROR, "delivery_failed", notifier=name, deliveries=len(ids),
                      error="notifier not configured")
        return DeliveryReport(failed=len(ids))


def _as_notifier_error(name: str, exc: Exception) -> NotifierError:
    if isinstance(exc, NotifierError):
        return exc
    log.error("notifier %s raised %s unexpectedly", name, type(exc).__name__, exc_info=exc)
    return NotifierError(f"{type(exc).__name__} in notifier {name}")


__all__ = ["DeliveryReport", "Message", "Outbox"]
