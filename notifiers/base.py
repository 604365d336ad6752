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


class Notifier(Protocol):
    """One configured delivery target."""

    name: str

    def send(self, record: dict[str, Any]) -> None:
        """Deliver one alert record or raise a NotifierError."""
        ...
