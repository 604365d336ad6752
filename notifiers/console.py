"""Console notifier: a readable block per alert on standard output.

Example::

    notifiers:
      - {name: console, type: console}
"""

from __future__ import annotations

from typing import Literal

from notifiers.base import Message, NotifierConfig, NotifierContext, RetryableError, Sent
from notifiers.render import plain_text


class ConsoleConfig(NotifierConfig):
    type: Literal["console"] = "console"


class ConsoleNotifier:
    Config = ConsoleConfig

    def __init__(self, config: ConsoleConfig, context: NotifierContext) -> None:
        self.name = config.name
        self._out = context.stdout

    def send(self, message: Message) -> Sent:
        try:
            self._out.write(plain_text(message.record) + "\n\n")
            self._out.flush()
        except OSError as exc:  # a closed pipe or full disk may pass; try later
            raise RetryableError(f"console write failed: {exc}") from exc
        return Sent()
