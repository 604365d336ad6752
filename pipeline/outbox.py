"""The delivery outbox: send due deliveries, retry what may pass, give up loudly.

A delivery row is claimed (``pending`` -> ``sending``) in its own short transaction
before the send and marked ``sent`` right after, so a crash in between repeats at
most that one message and never loses it: rows left in ``sending`` go back to
``pending`` at start. Each notifier is drained by its own worker, so a slow or dead
channel never holds up the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from notifiers import Notifier, NotifierError
from pipeline.config import DeliveryConfig
from pipeline.logfmt import log_event
from pipeline.models import Alert, Delivery
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
                 config: DeliveryConfig, clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.notifiers = dict(notifiers)
        self.config = config
        self.clock = clock

    def recover(self) -> int:
        """At start: deliveries a dead process left in ``sending`` are sent again (at most once more)."""
        with self.sessions.begin() as session:
            result = session.execute(update(Delivery).where(Delivery.status == "sending")
                                     .values(status="pending", next_attempt_at=self.clock()))
        if result.rowcount:
            log_event(log, logging.WARNING, "deliveries_recovered", count=result.rowcount)
        return int(result.rowcount or 0)

    def deliver_due(self, limit: int = 200) -> DeliveryReport:
        """Send every due delivery once; one worker per notifier."""
        groups: dict[str, list[int]] = defaultdict(list)
        with self.sessions.begin() as session:
            rows = session.execute(select(Delivery.id, Delivery.notifier)
                                   .where(Delivery.status == "pending", Delivery.next_attempt_at <= self.clock())
                                   .order_by(Delivery.id).limit(limit))
            for delivery_id, notifier in rows:
                groups[notifier].append(delivery_id)
        total = DeliveryReport()
        if not groups:
            return total
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="deliver") as pool:
            for report in pool.map(lambda item: self._drain(*item), groups.items()):
                total.add(report)
        return total

    def pending(self) -> tuple[int, datetime | None]:
        """How many deliveries wait, and when the earliest is due."""
        with self.sessions.begin() as session:
            count, due = session.execute(select(func.count(), func.min(Delivery.next_attempt_at))
                                         .where(Delivery.status.in_(("pending", "sending")))).one()
        return int(count), due

    def _drain(self, notifier_name: str, ids: list[int]) -> DeliveryReport:
        report = DeliveryReport()
        notifier = self.notifiers.get(notifier_name)
        for delivery_id in ids:
            if notifier is None:
                self._fail(delivery_id, f"notifier '{notifier_name}' is not configured any more", report)
                continue
            record = self._claim(delivery_id)
            if record is None:  # another worker or daemon took it
                continue
            try:
                notifier.send(record)
            except NotifierError as exc:
                self._failed_attempt(delivery_id, notifier_name, exc, report)
                if exc.retryable:
                    break  # the channel is struggling: keep the rest for the next round, in order
                continue
            except Exception as exc:  # a bug in a notifier must not kill the sender
                log.exception("notifier %s raised unexpectedly", notifier_name)
                self._failed_attempt(delivery_id, notifier_name, NotifierError(f"{type(exc).__name__}: {exc}"),
                                     report)
                continue
            self._mark_sent(delivery_id)
            report.sent += 1
        return report

    def _claim(self, delivery_id: int) -> dict | None:
        with self.sessions.begin() as session:
            claimed = session.execute(update(Delivery)
                                      .where(Delivery.id == delivery_id, Delivery.status == "pending")
                                      .values(status="sending", attempts=Delivery.attempts + 1)).rowcount
            if not claimed:
                return None
            return session.scalar(select(Alert.record).join(Delivery, Delivery.alert_id == Alert.id)
                                  .where(Delivery.id == delivery_id))

    def _mark_sent(self, delivery_id: int) -> None:
        with self.sessions.begin() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id)
                            .values(status="sent", sent_at=self.clock(), last_error=None))

    def _failed_attempt(self, delivery_id: int, notifier: str, exc: NotifierError, report: DeliveryReport) -> None:
        with self.sessions.begin() as session:
            attempts = session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id)) or 1
        give_up = not exc.retryable or attempts >= self.config.max_attempts
        if give_up:
            self._fail(delivery_id, str(exc), report)
            return
        delay = backoff_delay(attempts, self.config.backoff, self.config.max_backoff, exc.retry_after)
        with self.sessions.begin() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id)
                            .values(status="pending", last_error=str(exc)[:1000],
                                    next_attempt_at=self.clock() + delay))
        report.retrying += 1
        log_event(log, logging.WARNING, "delivery_retry", delivery=delivery_id, notifier=notifier,
                  attempt=attempts, retry_in_s=round(delay.total_seconds(), 1), error=str(exc)[:300])

    def _fail(self, delivery_id: int, error: str, report: DeliveryReport) -> None:
        with self.sessions.begin() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id)
                            .values(status="failed", last_error=error[:1000]))
        report.failed += 1
        log_event(log, logging.ERROR, "delivery_failed", delivery=delivery_id, error=error[:300])
