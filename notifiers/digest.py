"""Digest schedules (pure): when is an alert created at a given time due in a digest?

``digest: 1h`` collects alerts into one message per hour on the hour (UTC);
``digest: "0 8 * * *"`` (a cron expression, UTC) sends what collected at 08:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger

from pipeline.durations import parse_duration

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class DigestSchedule:
    spec: str
    period: timedelta | None = None
    cron: CronTrigger | None = None

    def due(self, created_at: datetime) -> datetime:
        """The end of the digest period that contains ``created_at``."""
        if self.period is not None:
            periods = (created_at - _EPOCH) // self.period
            return _EPOCH + (periods + 1) * self.period
        assert self.cron is not None
        fire = self.cron.get_next_fire_time(None, created_at + timedelta(microseconds=1))
        return fire.astimezone(timezone.utc) if fire else created_at


def parse_digest(spec: str) -> DigestSchedule:
    """A duration (``1h``) or a five-field cron expression; ValueError otherwise."""
    text = str(spec).strip()
    if len(text.split()) == 5:
        try:
            return DigestSchedule(text, cron=CronTrigger.from_crontab(text, timezone="UTC"))
        except ValueError as exc:
            raise ValueError(f"bad cron expression '{text}': {exc}") from None
    period = parse_duration(text)
    if period < timedelta(minutes=1):
        raise ValueError("a digest period must be at least 1m")
    return DigestSchedule(text, period=period)
