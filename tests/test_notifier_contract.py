"""One contract over every registered notifier (apprise-style).

Each builds from the YAML example in its own docstring, turns an unreachable target
into a typed error that says whether a retry makes sense, and never puts a secret in
an error message or a log line. Targets are rewritten to a closed port on 127.0.0.1:
the examples name real hosts, and no test may contact anything but this machine.
"""

from __future__ import annotations

import inspect
import logging
import textwrap
from typing import Any

import pytest
import yaml

from notifiers import REGISTRY, Message, NotifierContext, NotifierError, build_notifier

CLOSED = "127.0.0.1:9"  # the discard port: nothing listens there
SECRET = "s3cr3t-value-that-must-not-leak-0123456789"
# How to point each notifier's example at the closed port, and the error it must give.
UNREACHABLE: dict[str, tuple[dict[str, Any], bool | None]] = {
    "console": ({}, None),  # writes to our own stream: no failure to provoke
    "jsonl": ({"path": "/nonexistent-dir/cfwatch/alerts.jsonl"}, False),
    "webhook": ({"url": f"http://{CLOSED}/hook/{SECRET}", "url_env": None}, True),
    "slack": ({"base_url": f"http://{CLOSED}/api/"}, True),
    "email": ({"host": "127.0.0.1", "port": 9, "starttls": False, "ssl": False}, True),
}
RECORD = {"alert_id": 1, "incident_id": 1, "event": "new", "reason": "first_notification",
          "categories": ["shelling"], "severity": "high", "title": "Shelling <!channel>", "url": "https://x.example/",
          "published": "2026-01-01T00:00:00Z", "places": [], "actors": [], "casualties": {}, "treaties": [],
          "sources": [], "matches": []}


def example(cls: type) -> dict[str, Any]:
    """The first notifier entry of the YAML example (the indented block after ``::``)."""
    doc = inspect.getmodule(cls).__doc__ or ""
    after = doc.split("::", 1)[1] if "::" in doc else ""
    block = []
    for line in after.splitlines()[1:]:
        if line.strip() and not line.startswith((" ", "\t")):
            break  # the end of the indented example
        block.append(line)
    data = yaml.safe_load(textwrap.dedent("\n".join(block)))
    assert isinstance(data, dict) and data.get("notifiers"), f"{cls.__name__}: no YAML example in its docstring"
    return dict(data["notifiers"][0])


def test_every_registered_notifier_is_covered_here():
    assert set(REGISTRY) == set(UNREACHABLE)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_builds_from_its_documented_example(kind):
    cls = REGISTRY[kind]
    entry = example(cls)
    assert entry["type"] == kind
    cls.Config.model_validate(entry)


@pytest.mark.parametrize("kind", sorted(k for k, (_, retry) in UNREACHABLE.items() if retry is not None))
def test_failure_is_typed_and_leaks_no_secret(kind, caplog, tmp_path):
    cls = REGISTRY[kind]
    overrides, retryable = UNREACHABLE[kind]
    entry = {**example(cls), **overrides}
    env = {value: SECRET for key, value in entry.items() if key.endswith("_env") and isinstance(value, str)}
    if kind == "slack":
        env = {entry.get("token_env") or "SLACK_BOT_TOKEN": "xoxb-" + SECRET}
        entry.pop("webhook_url_env", None)
    config = cls.Config.model_validate({k: v for k, v in entry.items() if v is not None})
    notifier = build_notifier(config, NotifierContext(base_dir=tmp_path, env=env))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotifierError) as caught:
        notifier.send(Message(RECORD, delivery_id=1))
    assert caught.value.retryable is retryable
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text
