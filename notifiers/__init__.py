"""Notifiers: one module per channel, registered here by their config ``type``.

Each class has a ``Config`` pydantic model (subclass of NotifierConfig) beside its
code and takes ``(config, context)``; ``send(message)`` delivers one alert or raises a
RetryableError / PermanentError (see notifiers.base for the optional capabilities).
"""

from __future__ import annotations

from typing import Any

from notifiers.base import (
    Message,
    Notifier,
    NotifierConfig,
    NotifierContext,
    NotifierError,
    Pacing,
    PermanentError,
    RetryableError,
    Sent,
)
from notifiers.console import ConsoleNotifier
from notifiers.email import EmailNotifier
from notifiers.jsonl import JsonlNotifier
from notifiers.slack import SlackNotifier
from notifiers.webhook import WebhookNotifier

REGISTRY: dict[str, Any] = {
    "console": ConsoleNotifier,
    "email": EmailNotifier,
    "jsonl": JsonlNotifier,
    "slack": SlackNotifier,
    "webhook": WebhookNotifier,
}


def build_notifier(config: NotifierConfig, context: NotifierContext) -> Notifier:
    """Instantiate the notifier class registered for ``config.type``."""
    return REGISTRY[config.type](config, context)


__all__ = [
    "REGISTRY", "Message", "Notifier", "NotifierConfig", "NotifierContext", "NotifierError", "Pacing",
    "PermanentError", "RetryableError", "Sent", "build_notifier",
]
