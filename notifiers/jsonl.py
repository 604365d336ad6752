"""JSONL notifier: one alert record per line, appended to a file.

The file is the archive scripts read; each line is fsynced before the delivery is
marked sent, so a crash can repeat a line but never lose one.

Example::

    notifiers:
      - {name: archive, type: jsonl, path: alerts.jsonl}
"""

from __future__ import annotations

import json
import os
from typing import Literal

from notifiers.base import Message, NotifierConfig, NotifierContext, PermanentError, RetryableError, Sent


class JsonlConfig(NotifierConfig):
    type: Literal["jsonl"] = "jsonl"
    path: str = "alerts.jsonl"


class JsonlNotifier:
    Config = JsonlConfig

    def __init__(self, config: JsonlConfig, context: NotifierContext) -> None:
        self.name = config.name
        path = os.path.expanduser(config.path)
        self.path = path if os.path.isabs(path) else str(context.base_dir / path)

    def send(self, message: Message) -> Sent:
        line = json.dumps(message.record, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except (IsADirectoryError, PermissionError, FileNotFoundError) as exc:
            raise PermanentError(f"cannot write {self.path}: {exc.strerror}") from exc
        except OSError as exc:  # disk full and the like may clear up
            raise RetryableError(f"cannot write {self.path}: {exc.strerror}") from exc
        return Sent()
