"""Ceasefire agreements in force, and hostilities between their parties.

An agreement comes from config (``agreements:``): a name, its parties (ISO alpha-2
codes or actor names), since, an optional until and an optional area (place names
or country codes). Shelling or clashes in a sentence that names two of its parties
(by country, demonym, a place in the country, or actor) is a violation of it, even
when the text never says "ceasefire". Clock-free: the caller passes ``when``; None
means "now is unknown", and then an agreement counts as in force unless it has an
``until`` (an ended agreement should not fire on undated text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

_ISO = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Agreement:
    name: str
    parties: tuple[str, ...]
    since: date | None = None
    until: date | None = None
    area: tuple[str, ...] = ()

    def in_force(self, when: datetime | date | None) -> bool:
        if when is None:
            return self.until is None
        day = when.date() if isinstance(when, datetime) else when
        return (self.since is None or self.since <= day) and (self.until is None or day <= self.until)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


def make_agreement(raw: Agreement | Mapping[str, Any] | Any) -> Agreement:
    """An Agreement from a mapping or any object with the same attributes (config)."""
    if isinstance(raw, Agreement):
        return raw
    get = raw.get if isinstance(raw, Mapping) else lambda k, d=None: getattr(raw, k, d)
    parties = tuple(str(p) for p in get("parties") or ())
    if len(parties) < 2:
        raise ValueError(f"agreement {get('name')!r}: needs at least two parties")
    return Agreement(str(get("name")), parties, _day(get("since")), _day(get("until")),
                     tuple(str(a) for a in get("area") or ()))


@dataclass(frozen=True)
class PartySeen:
    """What a sentence names: countries (codes), actor names, place names."""

    countries: frozenset[str]
    actors: frozenset[str]     # lower-cased names
    places: frozenset[str]     # lower-cased names


def _named(party: str, seen: PartySeen) -> bool:
    if _ISO.match(party):
        return party in seen.countries
    return party.lower() in seen.actors


def _in_area(agreement: Agreement, seen: Iterable[PartySeen]) -> bool:
    if not agreement.area:
        return True
    for s in seen:
        for area in agreement.area:
            if (area in s.countries) if _ISO.match(area) else area.lower() in s.places:
                return True
    return False


def violations(agreements: Iterable[Agreement], hostile: list[PartySeen],
               when: datetime | date | None, category: str) -> list[dict[str, Any]]:
    """Agreements in force whose parties (two or more) a hostile sentence names."""
    out: list[dict[str, Any]] = []
    for agreement in agreements:
        if not agreement.in_force(when) or not _in_area(agreement, hostile):
            continue
        for seen in hostile:
            named = [p for p in agreement.parties if _named(p, seen)]
            if len(named) >= 2:
                out.append({"name": agreement.name, "parties": list(agreement.parties),
                            "reason": f"{category} naming {' and '.join(named)} while "
                                      f"'{agreement.name}' is in force"})
                break
    return out
