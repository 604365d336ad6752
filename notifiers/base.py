"""What every notifier shares: its config base, its context, and typed errors.

Errors say whether a retry makes sense, so the outbox can back off on an outage and
give up at once on a wrong channel or a bad token instead of flattening everything to
"failed".
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Protocol, TextIO

from pydantic import BaseModel, ConfigDict


class NotifierError(Exception):
    """A delivery failed; ``retryable`` tells the outbox whether to try again."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RetryableError(NotifierError):
    """Network trouble, a 5xx, a rate limit: the same message may go through later."""

    retryable = True


class PermanentError(NotifierError):
    """Bad credentials, unknown channel, refused recipient: retrying cannot help."""

    retryable = False


class NotifierConfig(BaseModel):
    """Keys every notifier entry has; each notifier subclasses this beside its code."""

    model_config = ConfigDict(extra="forbid")
    name: str
    type: str


@dataclass
class NotifierContext:
    """What a notifier may use from its surroundings, injected so tests can replace it."""

    base_dir: Path = field(default_factory=Path.cwd)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """One alert on its way to one notifier."""

    record: dict[str, Any]
    delivery_id: int
    # What this notifier returned for the incident's first message (a Slack ``ts``, an
    # email Message-ID), so updates can be threaded under it; None for a first alert.
    thread_ref: str | None = None


@dataclass(frozen=True)
class Sent:
    """A successful send; ``ref`` identifies the message in its channel, for threading."""

    ref: str | None = None


class Notifier(Protocol):
    """One configured delivery target.

    Optional capabilities, looked up with getattr by the outbox:
    ``find_sent(message) -> Sent | None`` says whether a message whose send may have
    happened before a crash is already in the channel (so it is not sent twice), and
    ``send_batch(messages) -> Sent`` sends several alerts as one message (digests and
    burst summaries). ``pacing`` (a Pacing) limits how fast the outbox sends to it.
    """

    name: str

    def send(self, message: Message) -> Sent:
        """Deliver one alert or raise a NotifierError saying whether to retry."""
        ...


@dataclass(frozen=True)
class Pacing:
    """At most one message per ``interval`` seconds; more than ``burst`` due at once
    are sent as one summary through ``send_batch``."""

    interval: float = 1.0
    burst: int | None = None
