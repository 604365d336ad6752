"""Operator messages: about the watcher itself, not about a conflict.

A feed failing or silent, deliveries given up: these go through the same outbox as
alerts (retried, never lost) to the notifiers listed under ``operator: {notify: [...]}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline import feedhealth, store
from pipeline.config import Config
from pipeline.logfmt import log_event
from pipeline.models import Alert, Delivery

log = logging.getLogger("cfwatch.operator")


class Operator:
    def __init__(self, config: Config, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.config = config
        self.sessions = sessions
        self.clock = clock

    def alert(self, session: Session, reason: str, title: str, severity: str, now: datetime,
                       exclude: tuple[str, ...] = (), **extra: Any) -> None:
        """An operator message through the outbox (``operator.notify``), retried like any alert."""
        alert = Alert(incident_id=None, event="operator", reason=reason[:40], severity=severity, record={},
                      created_at=now)
        session.add(alert)
        session.flush()
        alert.record = feedhealth.operator_record(alert_id=alert.id, reason=reason, title=title,
                                                  severity=severity, now=now, **extra)
        configured = {n.name for n in self.config.notifiers}
        targets = [n for n in self.config.operator.notify if n in configured and n not in exclude]
        store.enqueue(session, alert.id, targets, now)
        log_event(log, logging.ERROR if severity == "high" else logging.WARNING, "operator_alert",
                  reason=reason, title=title, notify=",".join(targets) or "none")

    def report_failed_deliveries(self, since: timedelta = timedelta(days=7)) -> int:
        """One operator alert per notifier for alert deliveries given up since the last report."""
        now = self.clock()
        with self.sessions.begin() as session:
            failed = session.execute(
                select(Delivery.id, Delivery.notifier, Delivery.last_error).join(Alert, Alert.id == Delivery.alert_id)
                .where(Delivery.status == "failed", Alert.event != "operator", Delivery.created_at >= now - since)
                .order_by(Delivery.id)).all()
            reported = {i for (record,) in session.execute(
                select(Alert.record).where(Alert.event == "operator", Alert.reason == "deliveries_failed",
                                           Alert.created_at >= now - since))
                for i in (record or {}).get("delivery_ids", [])}
            by_notifier: dict[str, list[tuple[int, str | None]]] = {}
            for delivery_id, notifier, error in failed:
                if delivery_id not in reported:
                    by_notifier.setdefault(notifier, []).append((delivery_id, error))
            for notifier, items in by_notifier.items():
                title = feedhealth.failed_deliveries_title(notifier, len(items), items[-1][1])
                self.alert(session, "deliveries_failed", title, "high", now, exclude=(notifier,),
                                    notifier=notifier, delivery_ids=[i for i, _ in items])
        return len(by_notifier)

