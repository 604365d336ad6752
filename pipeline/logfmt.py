"""Structured log lines (logfmt: ``ts=... level=info event=poll feed=bbc new=2``).

One line per event, greppable and machine-readable; values are quoted when they
contain spaces and stripped of control characters, since some come from feeds.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from typing import Any

_FIELDS = "cfwatch_fields"


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    logger.log(level, event, extra={_FIELDS: fields})


def _value(value: Any) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    if text == "" or any(c in text for c in ' ="'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        parts = [f"ts={ts}", f"level={record.levelname.lower()}", f"logger={record.name}",
                 f"event={_value(record.getMessage())}"]
        fields = getattr(record, _FIELDS, None) or {}
        parts.extend(f"{k}={_value(v)}" for k, v in fields.items() if v is not None)
        if record.exc_info:
            parts.append(f"exc={_value(self.formatException(record.exc_info))}")
        return " ".join(parts)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a line is written, not as it was at setup.

    Library threads (an SMTP server's, a pool's) may log after whoever set up logging
    has swapped stderr and closed the old one (pytest's capture does): they must not
    meet a closed file.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """One logfmt handler on stderr; configured secret values never reach it."""
    from pipeline.secrets import RedactingFilter

    handler = StderrHandler()
    handler.setFormatter(LogfmtFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; a URL can carry a token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
