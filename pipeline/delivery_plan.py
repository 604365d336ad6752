"""Which due deliveries go out now, one by one or as one message (pure).

- A digest notifier sends nothing until the digest period of a delivery has ended,
  then everything that collected in one message.
- A paced notifier (Slack) that finds more than ``burst`` deliveries due at once
  sends the first ``burst - 1`` alone and the rest as one summary, instead of
  flooding a channel with dozens of messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Due:
    id: int
    alert_id: int
    incident_id: int
    created_at: datetime


@dataclass(frozen=True)
class Plan:
    singles: list[Due] = field(default_factory=list)
    batches: list[list[Due]] = field(default_factory=list)


def plan(due: Sequence[Due], *, now: datetime, digest_due: Callable[[datetime], datetime] | None = None,
         burst: int | None = None, can_batch: bool = False) -> Plan:
    if digest_due is not None and can_batch:
        ready = [d for d in due if digest_due(d.created_at) <= now]
        return Plan(batches=[ready] if ready else [])
    if burst is not None and can_batch and len(due) > burst:
        keep = max(burst - 1, 0)
        return Plan(singles=list(due[:keep]), batches=[list(due[keep:])])
    return Plan(singles=list(due))
