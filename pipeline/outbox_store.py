"""Database reads and writes of the outbox (I/O only; see pipeline.outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from notifiers import Message
from pipeline.delivery_plan import Due
from pipeline.models import Alert, Delivery


def due_notifiers(session: Session, now: datetime) -> list[str]:
    return list(session.scalars(select(Delivery.notifier).distinct()
                                .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)))


def due(session: Session, notifier: str, now: datetime, limit: int) -> list[Due]:
    query = (select(Delivery.id, Delivery.alert_id, Alert.incident_id, Delivery.created_at)
             .join(Alert, Alert.id == Delivery.alert_id)
             .where(Delivery.notifier == notifier, Delivery.status == "pending", Delivery.next_attempt_at <= now)
             .order_by(Delivery.id).limit(limit))
    return [Due(*row) for row in session.execute(query)]


def claim(session: Session, delivery_id: int, owner: str, now: datetime) -> Message | None:
    """pending -> sending, stamped with the claiming process; None when someone else has it.

    ``SKIP LOCKED``: on PostgreSQL a row another process is claiming right now is passed
    over at once instead of waited for; the status condition settles every other race.
    """
    free = (select(Delivery.id).where(Delivery.id == delivery_id, Delivery.status == "pending")
            .with_for_update(skip_locked=True))
    claimed = session.execute(update(Delivery).where(Delivery.id.in_(free.scalar_subquery()))
                              .values(status="sending", attempts=Delivery.attempts + 1, claimed_by=owner,
                                      claimed_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    return message(session, delivery_id) if claimed else None


def message(session: Session, delivery_id: int) -> Message:
    """The alert record with the ref of the incident's first message on the same notifier."""
    delivery, record, incident_id = session.execute(
        select(Delivery, Alert.record, Alert.incident_id).join(Alert, Alert.id == Delivery.alert_id)
        .where(Delivery.id == delivery_id)).one()
    first = aliased(Delivery)
    thread = session.scalar(select(first.ref).join(Alert, Alert.id == first.alert_id)
                            .where(Alert.incident_id == incident_id, first.notifier == delivery.notifier,
                                   first.status == "sent", first.ref.is_not(None), first.id != delivery_id)
                            .order_by(first.id).limit(1))
    return Message(record=record, delivery_id=delivery_id, thread_ref=thread)


def sending(session: Session, notifier: str) -> list[tuple[int, str | None]]:
    """Rows of ``notifier`` in ``sending``, with the process that claimed each."""
    query = select(Delivery.id, Delivery.claimed_by).where(Delivery.notifier == notifier,
                                                           Delivery.status == "sending")
    return [(i, owner) for i, owner in session.execute(query.order_by(Delivery.id))]


def release(session: Session, delivery_id: int, now: datetime) -> None:
    session.execute(update(Delivery).where(Delivery.id == delivery_id, Delivery.status == "sending")
                    .values(status="pending", next_attempt_at=now))


def mark_sent(session: Session, ids: Sequence[int], now: datetime, ref: str | None) -> None:
    session.execute(update(Delivery).where(Delivery.id.in_(list(ids)))
                    .values(status="sent", sent_at=now, last_error=None, ref=ref))


def attempts(session: Session, delivery_id: int) -> int:
    return int(session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id)) or 1)


def retry_later(session: Session, ids: Sequence[int], error: str, when: datetime) -> None:
    session.execute(update(Delivery).where(Delivery.id.in_(list(ids)))
                    .values(status="pending", last_error=error[:1000], next_attempt_at=when))


def fail(session: Session, ids: Sequence[int], error: str) -> None:
    if ids:
        session.execute(update(Delivery).where(Delivery.id.in_(list(ids)))
                        .values(status="failed", last_error=error[:1000]))
