"""Fault suite, delivery: rate limits, resets, 5xx, SMTP 451/550/refused, and what the
operator hears when a delivery is given up. Hostile text per channel is proven in
tests/test_slack.py and tests/test_email.py; the cases the fault table names carry the
``faults`` marker there, so ``pytest -m faults`` runs them too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import BORDER_TEXT, BORDER_TITLE, item, read_jsonl, rss, open_store
from pipeline.app import App
from pipeline.cli import main
from pipeline.config import load_config
from receiver import Receiver
from smtpserver import Script, SmtpServer
pytestmark = [pytest.mark.faults,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]


class _OnceAtRcpt(Script):
    """Answers RCPT with ``reply`` once, then accepts."""

    def __init__(self, reply: str) -> None:
        self._replies = [reply]
        super().__init__()

    @property  # type: ignore[override]
    def rcpt(self) -> str | None:
        return self._replies.pop(0) if self._replies else None

    @rcpt.setter
    def rcpt(self, value: str | None) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _config(write_config, feed_server, target: dict, **delivery):
    url = feed_server.set("/d.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/d")]))
    return write_config([{"name": "d", "url": url}],
                        notifiers=[target, {"name": "ops", "type": "jsonl", "path": "ops.jsonl"}],
                        routes=[{"notify": [target["name"]]}], operator={"notify": ["ops", target["name"]]},
                        delivery={"drain_timeout": 5, "backoff": "1s", "max_attempts": 2} | delivery)


def _report_failures(config_path) -> int:
    app = App.build(load_config(config_path))
    try:
        raised = app.ingestor.operator.report_failed_deliveries()
        app.outbox.deliver_due()
        assert app.ingestor.operator.report_failed_deliveries() == 0  # reported once, not at every check
        return raised
    finally:
        app.close()


def test_5xx_is_retried_then_dead_with_its_reason_and_an_operator_alert(receiver, feed_server, write_config,
                                                                       tmp_path):
    receiver.statuses.extend([(500, {}), (503, {})])
    config = _config(write_config, feed_server, {"name": "hook", "type": "webhook", "url": receiver.url})
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert len(receiver.posts) == 2  # tried, retried, then given up
    with open_store(tmp_path) as db:
        assert db.execute("select status, last_error from deliveries where notifier = 'hook'").fetchall() == [
            ("failed", "webhook hook: HTTP 503")]
    assert _report_failures(config) == 0  # poll --once already told the operator, once
    (alert,) = read_jsonl(tmp_path / "ops.jsonl")
    assert alert["event"] == "operator" and alert["title"] == "1 delivery to hook failed for good: webhook hook: HTTP 503"
    assert len(receiver.posts) == 2  # the operator message does not go to the notifier that failed


def test_smtp_451_is_retried_and_delivered_once(feed_server, write_config, tmp_path):
    server = SmtpServer()
    try:
        server.script = _OnceAtRcpt("451 4.3.0 mailbox busy, try later")
        target = {"name": "desk", "type": "email", "host": "127.0.0.1", "port": server.port, "starttls": False,
                  "from": "alerts@example.org", "to": ["desk@example.org"], "timeout": 5}
        config = _config(write_config, feed_server, target)
        assert main(["--config", str(config), "poll", "--once"]) == 0
        assert len(server.received) == 1
        with open_store(tmp_path) as db:
            assert db.execute("select status, attempts from deliveries").fetchall() == [("sent", 2)]
    finally:
        server.close()


@pytest.mark.parametrize("fault", ["550", "refused"])
def test_smtp_550_or_refused_ends_dead_and_the_operator_hears(feed_server, write_config, tmp_path, fault):
    server = SmtpServer()
    try:
        server.script.rcpt = "550 5.1.1 no such user"
        if fault == "refused":
            server.stop()
        target = {"name": "desk", "type": "email", "host": "127.0.0.1", "port": server.port, "starttls": False,
                  "from": "alerts@example.org", "to": ["desk@example.org"], "timeout": 2}
        config = _config(write_config, feed_server, target)
        assert main(["--config", str(config), "poll", "--once"]) == 0
        with open_store(tmp_path) as db:
            (status, attempts, error), = db.execute(
                "select status, attempts, last_error from deliveries where notifier = 'desk'").fetchall()
        assert status == "failed" and (fault in error)
        assert attempts == (1 if fault == "550" else 2)  # permanent at once; refused is retried first
        assert _report_failures(config) == 0  # poll --once already told the operator
        assert "desk failed for good" in read_jsonl(tmp_path / "ops.jsonl")[0]["title"]
    finally:
        server.close()
