"""Feed health decisions (pure): when to raise or clear an operator alert.

A feed has at most one open operator alert (``failing``, ``silent`` or ``gone``):
it is raised once when the feed fails ``max_failures`` polls in a row, or brings no
new item for longer than its ``expect_every``, or answers 410 Gone; it is cleared
with one "recovered" message once the feed works (and, if it has an
``expect_every``, brings new items) again. A gone feed stays disabled until its
configured URL changes, so it is never cleared here.

Operator messages are alert records like any other (DESIGN.md, "Alert record") with
``event: operator`` and no incident, so they travel through the same outbox and
are retried and never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.records import iso

FAILING, SILENT, GONE = "failing", "silent", "gone"


@dataclass(frozen=True)
class FeedHealth:
    """What the decision needs to know about one feed after a poll."""

    name: str
    error_count: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_new_at: datetime | None
    alert_state: str | None
    alert_since: datetime | None
    gone: bool = False


@dataclass(frozen=True)
class Decision:
    """``action``: ``raise``, ``clear`` or ``none``; ``state`` is the open alert afterwards."""

    action: str
    state: str | None
    reason: str = "healthy"
    title: str = ""


def decide(health: FeedHealth, *, max_failures: int, expect_every: timedelta | None, now: datetime) -> Decision:
    """One operator alert per problem, and one recovery message when it is over."""
    problem = _problem(health, max_failures, expect_every, now)
    if health.alert_state is None:
        if problem is None:
            return Decision("none", None)
        return Decision("raise", problem, f"feed_{problem}", _title(health, problem, expect_every))
    if health.alert_state == GONE or problem is not None:
        return Decision("none", health.alert_state, "still_open")
    since = f" (problem since {iso(health.alert_since)})" if health.alert_since else ""
    return Decision("clear", None, "feed_recovered", f"Feed {health.name} recovered{since}")


def _problem(health: FeedHealth, max_failures: int, expect_every: timedelta | None, now: datetime) -> str | None:
    if health.gone:
        return GONE
    if health.error_count >= max_failures:
        return FAILING
    if expect_every is not None and health.last_new_at is not None and now - health.last_new_at > expect_every:
        return SILENT
    return None


def _title(health: FeedHealth, problem: str, expect_every: timedelta | None) -> str:
    error = " ".join((health.last_error or "unknown error").split())[:200]
    if problem == GONE:
        return f"Feed {health.name} is gone (HTTP 410): disabled until its URL changes in the config"
    if problem == FAILING:
        since = f" since last success {iso(health.last_success_at)}" if health.last_success_at else " (never succeeded)"
        return f"Feed {health.name} failing: {error} ({health.error_count} times in a row{since})"
    return (f"Feed {health.name} silent: no new item since {iso(health.last_new_at)} "
            f"(expected every {expect_every})")


def failed_deliveries_title(notifier: str, count: int, error: str | None) -> str:
    reason = " ".join((error or "unknown error").split())[:200]
    return f"{count} deliver{'y' if count == 1 else 'ies'} to {notifier} failed for good: {reason}"


def operator_record(*, alert_id: int, reason: str, title: str, severity: str, now: datetime,
                    **extra: Any) -> dict[str, Any]:
    """An alert record for the operator; every key notifiers read is present and harmless."""
    return {
        "alert_id": alert_id, "incident_id": None, "event": "operator", "reason": reason,
        "categories": [], "severity": severity, "title": title, "url": None, "published": None,
        "created_at": iso(now), "places": [], "countries": [], "actors": [],
        "casualties": {"killed": None, "injured": None}, "treaties": [], "claims": {}, "agreements": [],
        "independent_sources": 0, "sources": [], "matches": [], **extra,
    }
