"""When to poll a feed next (pure): the interval with jitter, backoff after errors.

Jitter spreads hundreds of feeds with the same ``every`` so they do not all fire in
the same second; backoff doubles the wait after each consecutive error up to a
ceiling, and a server's Retry-After is honoured when it asks for longer.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_poll(now: datetime, every: timedelta, *, error_count: int = 0, retry_after: float | None = None,
              jitter: float = 0.1, max_backoff: timedelta = timedelta(hours=1),
              rng: random.Random | None = None) -> datetime:
    """The time of the next poll after one that ended ``now``."""
    rng = rng or random.Random()
    wait = every
    if error_count > 0:
        ceiling = max(max_backoff, every)
        wait = min(every * (2 ** min(error_count - 1, 30)), ceiling)
    spread = wait.total_seconds() * jitter
    wait += timedelta(seconds=rng.uniform(-spread, spread))
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait


def backoff_delay(attempts: int, base: timedelta, ceiling: timedelta, retry_after: float | None = None) -> timedelta:
    """Delay before delivery attempt ``attempts + 1`` (exponential, capped, Retry-After wins)."""
    delay = min(base * (2 ** max(0, min(attempts - 1, 30))), ceiling)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay
