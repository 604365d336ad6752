"""Pure decisions about articles and alerts, each returning a named reason.

The orchestration in ``pipeline.ingest`` does the I/O around these; keeping them
pure means every "why did this fire / why not" can be tested with plain values and
is stored beside the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from rules import SEVERITIES


@dataclass(frozen=True)
class Decision:
    alert: bool
    reason: str


def decide_article(categories: Sequence[str], published: datetime | None, *, first_poll: bool,
                   backfill: timedelta | None, now: datetime) -> Decision:
    """Should a new (never seen) article alert?

    On a feed's first poll only recent items alert: adding a feed must not replay its
    history into Slack. Items without a date are treated as old on a first poll.
    """
    if not categories:
        return Decision(False, "no_match")
    if first_poll and backfill is not None:
        if published is None or published < now - backfill:
            return Decision(False, "backfill")
    return Decision(True, "first_notification")


def severity_rank(severity: str | None) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass(frozen=True)
class Route:
    notify: tuple[str, ...]
    categories: tuple[str, ...] | None = None
    min_severity: str | None = None
    feeds: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None
    places: tuple[str, ...] | None = None
    events: tuple[str, ...] | None = None
    continue_: bool = False


def matching_routes(record: dict[str, Any], feed: str | None, tags: Sequence[str],
                    routes: Sequence[Route]) -> list[int]:
    """Indexes of the routes an alert takes: the first match, and more while they say continue."""
    taken = []
    for index, route in enumerate(routes):
        if _route_matches(route, record, feed, tags):
            taken.append(index)
            if not route.continue_:
                break
    return taken


def select_notifiers(record: dict[str, Any], feed: str | None, tags: Sequence[str], routes: Sequence[Route],
                     all_notifiers: Sequence[str]) -> list[str]:
    """Notifiers an alert goes to; with no routes configured, every notifier."""
    if not routes:
        return list(all_notifiers)
    chosen: list[str] = []
    for index in matching_routes(record, feed, tags, routes):
        chosen.extend(n for n in routes[index].notify if n not in chosen)
    return chosen


def record_countries(record: dict[str, Any]) -> set[str]:
    countries = {str(c).upper() for c in record.get("countries") or []}
    countries.update(str(p["country"]).upper() for p in record.get("places") or []
                     if isinstance(p, dict) and p.get("country"))
    return countries


def _route_matches(route: Route, record: dict[str, Any], feed: str | None, tags: Sequence[str]) -> bool:
    checks = (
        route.categories is None or bool(set(route.categories) & set(record.get("categories") or [])),
        route.min_severity is None or severity_rank(record.get("severity")) >= severity_rank(route.min_severity),
        route.feeds is None or feed in route.feeds,
        route.tags is None or bool(set(route.tags) & set(tags)),
        route.countries is None or bool({c.upper() for c in route.countries} & record_countries(record)),
        route.places is None or bool({p.casefold() for p in route.places}
                                     & {str(p.get("name", "")).casefold() for p in record.get("places") or []}),
        route.events is None or record.get("event") in route.events,
    )
    return all(checks)
