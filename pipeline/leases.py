"""Feed leases: which process polls which feed now (I/O; work sharing between daemons).

A feed is due when its ``next_poll_at`` has passed (or it was never polled) and no
unexpired lease holds it. Claiming is one statement that takes a batch of due feeds
and stamps them with this process's id and a lease end; on PostgreSQL the inner
``SELECT ... FOR UPDATE SKIP LOCKED`` lets daemons claim side by side without
waiting on each other or taking the same feed. The poll's own commit clears the
lease and sets the next due time, in the same statement that stores its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from pipeline.models import Feed

MAX_LEASE = timedelta(minutes=5)
FeedRow = Any  # what claim() returns: a row with every column of ``feeds``
_FEEDS = Feed.__table__
_fc = _FEEDS.c


def lease_period(total_timeout: float) -> timedelta:
    """Long enough for one poll (its fetch deadline plus processing), renewed by the heartbeat."""
    return min(MAX_LEASE, timedelta(seconds=max(30.0, total_timeout + 15.0)))


def claim(session: Session, owner: str, names: Sequence[str] | None, now: datetime, lease: timedelta, *,
          limit: int, force: bool = False, skip: Sequence[str] = ()) -> list[FeedRow]:
    """Lease up to ``limit`` due feeds, oldest due first (any of them when ``force``).

    ``names`` limits the claim to those feeds; ``None`` means every feed row except
    ``skip`` (rows of feeds no longer configured): the daemon's form, which spares
    the database a list of a thousand names per claim. Returns the claimed rows with
    every column of ``feeds`` (plain rows, not ORM objects: a warm cycle claims a
    thousand, and building an ORM object for each was a tenth of its CPU).
    """
    if (names is not None and not names) or limit <= 0:
        return []
    free = or_(_fc.lease_until.is_(None), _fc.lease_until < now)
    wanted = select(_fc.id).where(free)
    if names is not None:
        wanted = wanted.where(_fc.name.in_(list(names)))
    if skip:
        wanted = wanted.where(_fc.name.not_in(list(skip)))
    if not force:
        wanted = wanted.where(or_(_fc.next_poll_at.is_(None), _fc.next_poll_at <= now))
    wanted = (wanted.order_by(_fc.next_poll_at.asc().nulls_first(), _fc.id).limit(limit)
              .with_for_update(skip_locked=True))
    rows = session.execute(_FEEDS.update().where(_fc.id.in_(wanted.scalar_subquery()))
                           .values(lease_owner=owner, lease_until=now + lease).returning(*_FEEDS.c)).all()
    return sorted(rows, key=lambda r: (r.next_poll_at is not None, r.next_poll_at or now, r.id))


def release_values(owner: str) -> dict[str, object]:
    """Column values that end ``owner``'s lease, and leave anyone else's alone."""
    return {"lease_owner": case((Feed.lease_owner == owner, None), else_=Feed.lease_owner),
            "lease_until": case((Feed.lease_owner == owner, None), else_=Feed.lease_until)}


def holder(session: Session, name: str, now: datetime) -> str | None:
    """Who holds a live lease on feed ``name``, if anyone."""
    return session.scalar(select(Feed.lease_owner).where(Feed.name == name, Feed.lease_until >= now))
