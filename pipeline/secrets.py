"""Secrets named in config (``*_env`` keys) and a logging filter that hides them.

Tokens, passwords and webhook URLs reach the process only through environment
variables; this filter makes sure none of their values can reach a log line, whatever
a library puts in an exception or a debug message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from pydantic import BaseModel

MASK = "[redacted]"


def secret_env_names(models: Iterable[BaseModel]) -> dict[str, list[str]]:
    """Per notifier name, the environment variables its config names (``token_env`` ...)."""
    out: dict[str, list[str]] = {}
    for model in models:
        names = [str(getattr(model, key)) for key in type(model).model_fields
                 if key.endswith("_env") and getattr(model, key, None)]
        out[str(getattr(model, "name", "?"))] = names
    return out


def secret_values(models: Iterable[BaseModel], env: Mapping[str, str]) -> list[str]:
    names = {n for names in secret_env_names(models).values() for n in names}
    # Short values (e.g. "1") would mask innocent text; real secrets are longer.
    return sorted({env[n] for n in names if len(env.get(n, "")) >= 6}, key=len, reverse=True)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        fields = getattr(record, "cfwatch_fields", None)
        if isinstance(fields, dict):
            record.cfwatch_fields = {k: self.redact(v) if isinstance(v, str) else v for k, v in fields.items()}
        if clean != message:
            record.msg, record.args = clean, ()
        return True
