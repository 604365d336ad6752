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
    continue_: bool = False


def select_notifiers(record: dict[str, Any], feed: str, tags: Sequence[str], routes: Sequence[Route],
                     all_notifiers: Sequence[str]) -> list[str]:
    """Notifiers an alert goes to: first matching route wins unless it says continue.

    With no routes configured every notifier gets every alert.
    """
    if not routes:
        return list(all_notifiers)
    chosen: list[str] = []
    for route in routes:
        if not _route_matches(route, record, feed, tags):
            continue
        chosen.extend(n for n in route.notify if n not in chosen)
        if not route.continue_:
            break
    return chosen


def _route_matches(route: Route, record: dict[str, Any], feed: str, tags: Sequence[str]) -> bool:
    if route.categories is not None and not set(route.categories) & set(record.get("categories") or []):
        return False
    if route.min_severity is not None and severity_rank(record.get("severity")) < severity_rank(route.min_severity):
        return False
    if route.feeds is not None and feed not in route.feeds:
        return False
    return route.tags is None or bool(set(route.tags) & set(tags))
