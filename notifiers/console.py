"""Console notifier: a readable block per alert on standard output.

Example::

    notifiers:
      - {name: console, type: console}
"""

from __future__ import annotations

from typing import Any, Literal

from notifiers.base import NotifierConfig, NotifierContext, RetryableError
from notifiers.render import plain_text


class ConsoleConfig(NotifierConfig):
    type: Literal["console"] = "console"


class ConsoleNotifier:
    Config = ConsoleConfig

    def __init__(self, config: ConsoleConfig, context: NotifierContext) -> None:
        self.name = config.name
        self._out = context.stdout

    def send(self, record: dict[str, Any]) -> None:
        try:
            self._out.write(plain_text(record) + "\n\n")
            self._out.flush()
        except OSError as exc:  # a closed pipe or full disk may pass; try later
            raise RetryableError(f"console write failed: {exc}") from exc
