"""Silences: muting a kind of alert for a while, without losing it.

An alert that a silence covers is stored with reason ``silenced`` and sent nowhere;
when the silence ends, the next report of the incident is a first notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline.config import WatchConfig
from pipeline.decide import record_countries
from pipeline.models import Silence


@dataclass(frozen=True)
class SilenceRule:
    id: int
    categories: frozenset[str] | None
    countries: frozenset[str] | None
    places: frozenset[str] | None

    def covers(self, record: dict[str, Any]) -> bool:
        """All given conditions must hold; a silence with none covers everything."""
        if self.categories is not None and not self.categories & set(record.get("categories") or []):
            return False
        if self.countries is not None and not self.countries & record_countries(record):
            return False
        return self.places is None or bool(self.places & _place_names(record))


def _place_names(record: dict[str, Any]) -> set[str]:
    return {str(p.get("name", "")).casefold() for p in record.get("places") or [] if isinstance(p, dict)}


def _set(values: list[str] | None, fold: bool = False) -> frozenset[str] | None:
    if values is None:
        return None
    return frozenset(v.casefold() if fold else v for v in values)


def active(session: Session, now: datetime) -> list[SilenceRule]:
    rows = session.scalars(select(Silence).where(Silence.removed_at.is_(None), Silence.until > now))
    return [SilenceRule(r.id, _set(r.categories), _set([c.upper() for c in r.countries]) if r.countries else None,
                        _set(r.places, fold=True)) for r in rows]


def silencing(rules: list[SilenceRule], record: dict[str, Any]) -> int | None:
    """The id of the first active silence that covers the record."""
    return next((rule.id for rule in rules if rule.covers(record)), None)


def add(session: Session, *, categories: list[str] | None, countries: list[str] | None, places: list[str] | None,
        until: datetime, reason: str, now: datetime) -> Silence:
    row = Silence(categories=categories, countries=[c.upper() for c in countries] if countries else None,
                  places=places, reason=reason, created_at=now, until=until)
    session.add(row)
    session.flush()
    return row


def remove(session: Session, silence_id: int, now: datetime) -> bool:
    done = session.execute(update(Silence).where(Silence.id == silence_id, Silence.removed_at.is_(None))
                           .values(removed_at=now)).rowcount
    return bool(done)


def in_watch(watch: WatchConfig, record: dict[str, Any]) -> bool:
    """Does the alert concern what the user follows? Everything, unless ``watch:`` narrows it."""
    if watch.categories is not None and not set(watch.categories) & set(record.get("categories") or []):
        return False
    if watch.countries is not None and not {c.upper() for c in watch.countries} & record_countries(record):
        return False
    if watch.places is not None and not {p.casefold() for p in watch.places} & _place_names(record):
        return False
    if watch.actors is not None:
        actors = {str(a.get("name") if isinstance(a, dict) else a).casefold() for a in record.get("actors") or []}
        if not {a.casefold() for a in watch.actors} & actors:
            return False
    return True
