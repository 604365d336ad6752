"""The Slack notifier: slack-sdk talking real HTTP to a local Slack stand-in (tests/slackserver.py)."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from conftest import BORDER_TEXT, BORDER_TITLE, item, read_jsonl, rss
from notifiers import REGISTRY, Message, NotifierContext, Pacing, PermanentError, RetryableError, Sent
from notifiers.render import slack_blocks, slack_text
from notifiers.slack import SlackConfig, SlackNotifier
from pipeline import outbox_store
from pipeline.cli import main
from pipeline.config import ConfigError, DeliveryConfig, parse_config
from pipeline.models import Alert, Article, Delivery, Feed, Incident
from pipeline.outbox import Outbox
from slackserver import TOKEN, WEBHOOK, WEBHOOK_PATH, SlackServer

HOOK_SECRET_PART = WEBHOOK_PATH.rsplit("/", 1)[1]
HOSTILE = "<!channel> <@U123> <https://evil.example|click> <!here>"


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    server = SlackServer()
    yield server
    server.close()


def make(slack: SlackServer | None, env: dict[str, str] | None = None, **config: Any) -> SlackNotifier:
    values: dict[str, Any] = {"name": "ops", "type": "slack", "channel": "#ceasefire", "interval": 0}
    if slack is not None and "webhook_url_env" not in config:
        values["base_url"] = slack.api_url
    values.update(config)
    env = {"SLACK_BOT_TOKEN": TOKEN} if env is None else env
    return SlackNotifier(SlackConfig(**values), NotifierContext(env=env))


def record(alert_id: int = 1, incident_id: int = 10, event: str = "new", **fields: Any) -> dict[str, Any]:
    base = {
        "alert_id": alert_id, "incident_id": incident_id, "event": event, "reason": "first_notification",
        "categories": ["shelling", "ceasefire_violation"], "severity": "high",
        "title": "Shelling of Goris", "url": "https://news.example/a1",
        "places": [{"name": "Goris", "country": "AM"}], "actors": ["Azerbaijan"],
        "casualties": {"killed": 2, "injured": None}, "treaties": [],
        "sources": [{"outlet": "Wire", "url": "https://news.example/a1", "title": "Shelling of Goris"}],
        "matches": [{"rule": "shelling.towns", "category": "shelling", "text": ["shelled"]}],
    }
    return base | fields


def posted_markup(message: Any) -> str:
    """Everything Slack would parse for one stored message: fallback text and all blocks."""
    return message.text + "\n" + json.dumps(message.blocks, ensure_ascii=False)


# ---- sending ---------------------------------------------------------------------

def test_alert_arrives_with_blocks_fallback_text_and_metadata(slack):
    rec = record()
    sent = make(slack).send(Message(rec, delivery_id=7))
    (posted,) = slack.messages
    assert sent == Sent(ref=posted.ts)
    assert posted.channel == "C0CEASEFIRE" and posted.thread_ts is None
    assert posted.text == slack_text(rec) and posted.blocks == slack_blocks(rec)
    assert posted.metadata == {"event_type": "cfwatch_alert",
                               "event_payload": {"alert_id": 1, "incident_id": 10, "delivery_id": 7}}
    assert posted.unfurl_links is False and posted.unfurl_media is False
    (request,) = slack.calls("chat.postMessage")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_pacing_and_registry():
    notifier = make(None, burst=4, interval=2.5)
    assert notifier.pacing == Pacing(interval=2.5, burst=4)
    assert REGISTRY["slack"] is SlackNotifier
    assert make(None).check() == [] and make(None, env={}).check() == ["ops: environment variable SLACK_BOT_TOKEN is not set"]


@pytest.mark.faults  # in the fault table of the reliability issue
def test_hostile_feed_text_arrives_only_escaped(slack):
    rec = record(title=HOSTILE + " shelling", url="javascript:alert(1)",
                 sources=[{"outlet": "<!everyone>", "url": "javascript:alert(2)", "title": HOSTILE},
                          {"outlet": "Wire", "url": "https://ok.example/a|<!channel>", "title": "fine"},
                          {"outlet": "Data", "url": "data:text/html,<script>", "title": "x"}],
                 matches=[{"rule": "r", "category": "shelling", "text": ["<!here> shelled"]}])
    make(slack).send(Message(rec, delivery_id=1))
    (posted,) = slack.messages
    markup = posted_markup(posted)
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://evil", "<script>"):
        assert raw not in markup
    assert "&lt;!channel&gt;" in posted.text  # shown to readers, not acted on
    links = re.findall(r"<([^<>|]*)(?:\|[^<>]*)?>", markup)
    assert links and all(re.match(r"https?://", target) for target in links), links
    assert not any("javascript:" in target.lower() or "data:" in target.lower() for target in links)


def test_update_is_a_thread_reply_and_escalation_is_broadcast(slack):
    notifier = make(slack)
    first = notifier.send(Message(record(alert_id=1), delivery_id=1))
    notifier.send(Message(record(alert_id=2, event="update"), delivery_id=2, thread_ref=first.ref))
    notifier.send(Message(record(alert_id=3, event="escalation"), delivery_id=3, thread_ref=first.ref))
    notifier.send(Message(record(alert_id=4, event="update"), delivery_id=4))  # first one never got a ts
    top, update, escalation, orphan = slack.messages
    assert top.thread_ts is None
    assert update.thread_ts == first.ref and not update.reply_broadcast
    assert escalation.thread_ts == first.ref and escalation.reply_broadcast
    assert orphan.thread_ts is None


# ---- error mapping -------------------------------------------------------------------

def test_rate_limit_is_retryable_with_retry_after_and_not_retried_by_the_sdk(slack):
    slack.fail("chat.postMessage", "status", status=429, error="ratelimited", headers={"Retry-After": "2"})
    with pytest.raises(RetryableError) as caught:
        make(slack).send(Message(record(), delivery_id=1))
    assert caught.value.retry_after == 2
    assert len(slack.calls("chat.postMessage")) == 1 and slack.messages == []


@pytest.mark.parametrize("code", ["invalid_auth", "channel_not_found", "not_in_channel", "missing_scope",
                                  "invalid_blocks", "msg_too_long", "account_inactive"])
def test_configuration_errors_are_permanent(slack, code):
    slack.fail("chat.postMessage", "error", error=code)
    with pytest.raises(PermanentError) as caught:
        make(slack).send(Message(record(), delivery_id=1))
    assert str(caught.value).startswith(f"slack chat.postMessage failed: {code}")


def test_wrong_token_and_unknown_channel_from_the_server_are_permanent(slack):
    with pytest.raises(PermanentError, match="invalid_auth"):
        make(slack, env={"SLACK_BOT_TOKEN": "xoxb-wrong"}).send(Message(record(), delivery_id=1))
    with pytest.raises(PermanentError, match="channel_not_found"):
        make(slack, channel="#no-such-channel").send(Message(record(), delivery_id=1))
    with pytest.raises(PermanentError, match="HTTP 400"):
        slack.fail("chat.postMessage", "status", status=400, error="whatever")
        make(slack).send(Message(record(), delivery_id=1))


@pytest.mark.parametrize("status, code", [(500, "internal_error"), (503, "service_unavailable"),
                                          (502, "<html>bad gateway</html>"), (200, "fatal_error")])
@pytest.mark.faults  # in the fault table of the reliability issue
def test_server_trouble_is_retryable(slack, status, code):
    slack.fail("chat.postMessage", "status", status=status, error=code)
    with pytest.raises(RetryableError) as caught:
        make(slack).send(Message(record(), delivery_id=1))
    assert "<html>" not in str(caught.value)  # bodies are not echoed into errors


def test_timeout_and_refused_connection_are_retryable(slack):
    slack.fail("chat.postMessage", "slow", delay=1.5)
    started = time.monotonic()
    with pytest.raises(RetryableError, match="network error"):
        make(slack, timeout=0.3).send(Message(record(), delivery_id=1))
    assert time.monotonic() - started < 1.4
    with pytest.raises(RetryableError, match="network error"):
        make(None, base_url=f"http://127.0.0.1:{_free_port()}/api/").send(Message(record(), delivery_id=2))


def test_missing_token_is_permanent_and_names_the_variable_only(slack):
    with pytest.raises(PermanentError) as caught:
        make(slack, env={}, token_env="CFW_SLACK").send(Message(record(), delivery_id=1))
    assert "CFW_SLACK" in str(caught.value)
    assert slack.requests == []


# ---- no hidden retries, and no double post after an ambiguous failure -----------------

@pytest.mark.faults  # in the fault table of the reliability issue
def test_accept_then_reset_is_sent_exactly_once(slack):
    notifier = make(slack)
    assert notifier._web().retry_handlers == []  # nothing in slack-sdk may retry on its own
    slack.fail("chat.postMessage", "reset", accept=True)
    with pytest.raises(RetryableError):
        notifier.send(Message(record(), delivery_id=1))
    assert len(slack.calls("chat.postMessage")) == 1  # the sdk's default would have posted twice
    # The outbox retries; the notifier first looks whether the message got there.
    sent = notifier.send(Message(record(), delivery_id=1))
    assert len(slack.messages) == 1 and sent.ref == slack.messages[0].ts
    assert len(slack.calls("chat.postMessage")) == 1


def test_reset_before_acceptance_is_sent_again(slack):
    notifier = make(slack)
    slack.fail("chat.postMessage", "reset", accept=False)
    with pytest.raises(RetryableError):
        notifier.send(Message(record(), delivery_id=1))
    notifier.send(Message(record(), delivery_id=1))
    assert len(slack.calls("chat.postMessage")) == 2 and len(slack.messages) == 1


# ---- reconciliation --------------------------------------------------------------------

def test_find_sent_by_metadata(slack):
    posted = make(slack).send(Message(record(alert_id=1), delivery_id=1))
    fresh = make(slack)  # a new process: the channel name is resolved through conversations.list
    assert fresh.find_sent(Message(record(alert_id=1), delivery_id=1)) == posted
    assert len(slack.calls("conversations.list")) == 2  # "#ceasefire" is on the second page
    assert fresh.find_sent(Message(record(alert_id=2), delivery_id=2)) is None
    assert fresh.find_sent(Message(record(alert_id=1), delivery_id=99)) is None  # another target's delivery
    history = slack.calls("conversations.history")
    assert {r.params["channel"] for r in history} == {"C0CEASEFIRE"}
    assert history[0].params["limit"] == "200" and history[0].params["include_all_metadata"] == "1"
    assert len(slack.calls("conversations.list")) == 2  # cached


def test_find_sent_looks_into_the_thread_for_updates(slack):
    notifier = make(slack, channel="C0CEASEFIRE")
    first = notifier.send(Message(record(alert_id=1), delivery_id=1))
    update = Message(record(alert_id=2, event="update"), delivery_id=2, thread_ref=first.ref)
    assert notifier.find_sent(update) is None
    reply = notifier.send(update)
    assert notifier.find_sent(update) == reply
    assert slack.calls("conversations.replies") and not slack.calls("conversations.list")


def test_webhook_mode_cannot_reconcile(slack):
    notifier = make(slack, webhook_url_env="HOOK", env={"HOOK": slack.webhook_url})
    assert notifier.find_sent(Message(record(), delivery_id=1)) is None
    assert slack.requests == []


# ---- bursts ------------------------------------------------------------------------------

def test_send_batch_posts_one_summary_that_find_sent_recognises(slack):
    notifier = make(slack)
    messages = [Message(record(alert_id=n, incident_id=n, title=f"Shelling {n}"), delivery_id=n) for n in range(1, 21)]
    sent = notifier.send_batch(messages)
    (posted,) = slack.messages
    assert sent.ref == posted.ts and "more incidents" in posted_markup(posted)
    assert posted.metadata["event_type"] == "cfwatch_summary"
    assert make(slack).find_sent(messages[4]) == sent


# ---- incoming webhook ----------------------------------------------------------------------

def test_webhook_mode_posts_blocks_without_threads(slack):
    notifier = make(slack, webhook_url_env="HOOK", env={"HOOK": slack.webhook_url})
    rec = record(event="update", title=HOSTILE)
    assert notifier.send(Message(rec, delivery_id=1, thread_ref="1.0")) == Sent(ref=None)
    (body,) = slack.webhook_posts
    assert body["text"] == slack_text(rec) and body["blocks"] == slack_blocks(rec)
    assert "thread_ts" not in body and "<!channel>" not in json.dumps(body)
    assert "authorization" not in slack.calls(WEBHOOK)[0].headers


@pytest.mark.parametrize("status, body, error, retry_after", [
    (429, "rate_limited", RetryableError, 3.0),
    (500, "rollup_error", RetryableError, None),
    (404, "channel_not_found", PermanentError, None),
    (403, "invalid_token", PermanentError, None),
    (410, "channel_is_archived", PermanentError, None),
])
def test_webhook_status_codes_are_mapped(slack, status, body, error, retry_after):
    headers = {"Retry-After": "3"} if status == 429 else {}
    slack.fail(WEBHOOK, "status", status=status, error=body, headers=headers)
    with pytest.raises(error) as caught:
        make(slack, webhook_url_env="HOOK", env={"HOOK": slack.webhook_url}).send(Message(record(), delivery_id=1))
    assert type(caught.value) is error and caught.value.retry_after == retry_after
    assert len(slack.calls(WEBHOOK)) == 1
    assert HOOK_SECRET_PART not in str(caught.value)


def test_webhook_reset_is_not_retried(slack):
    slack.fail(WEBHOOK, "reset")
    with pytest.raises(RetryableError):
        make(slack, webhook_url_env="HOOK", env={"HOOK": slack.webhook_url}).send(Message(record(), delivery_id=1))
    assert len(slack.calls(WEBHOOK)) == 1


# ---- secrets --------------------------------------------------------------------------------

def test_secrets_never_appear_in_errors_or_logs(slack, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    # The 500 echoes each client's own secret back, as a misbehaving proxy might.
    scripted = [("status", {"status": 429, "error": "ratelimited", "headers": {"Retry-After": "1"}}, ""),
                ("error", {"error": "invalid_auth"}, ""), ("status", {"status": 500}, "echo"),
                ("reset", {}, ""), ("slow", {"delay": 1.0}, "")]
    for kind, args, echo in scripted:
        slack.fail("chat.postMessage", kind, **args, **({"error": TOKEN} if echo else {}))
        slack.fail(WEBHOOK, kind, **args, **({"error": slack.webhook_url} if echo else {}))
        for notifier in (make(slack, timeout=0.3),
                         make(slack, webhook_url_env="HOOK", env={"HOOK": slack.webhook_url}, timeout=0.3)):
            try:
                notifier.send(Message(record(), delivery_id=1))
            except (RetryableError, PermanentError) as exc:
                errors.append(str(exc))
    refused = f"http://127.0.0.1:{_free_port()}{WEBHOOK_PATH}"
    for notifier in (make(None, base_url=refused.rsplit("/services", 1)[0] + "/api/"),
                     make(None, webhook_url_env="HOOK", env={"HOOK": refused})):
        with pytest.raises(RetryableError) as caught:
            notifier.send(Message(record(), delivery_id=1))
        errors.append(str(caught.value))
    with pytest.raises(PermanentError) as caught:
        make(slack, webhook_url_env="HOOK", env={"HOOK": "ftp://x/" + HOOK_SECRET_PART}).send(Message(record(), 1))
    errors.append(str(caught.value))
    assert len(errors) >= 10
    assert caplog.records, "slack-sdk should have logged at DEBUG"
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for secret in (TOKEN, HOOK_SECRET_PART):
        assert not any(secret in e for e in errors), errors
        assert secret not in logged


def test_a_token_pasted_into_token_env_is_refused_without_echoing_it(tmp_path):
    text = f"notifiers:\n  - {{name: ops, type: slack, channel: '#c', token_env: '{TOKEN}'}}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config.yaml", tmp_path)
    assert "token_env" in str(caught.value) and TOKEN not in str(caught.value)


@pytest.mark.parametrize("extra, message", [
    ({"token_env": "A", "webhook_url_env": "B"}, "not both"),
    ({"channel": None}, "channel is required"),
    ({"base_url": "file:///etc/passwd"}, "http"),
])
def test_config_validation(extra, message):
    with pytest.raises(ValueError, match=message):
        SlackConfig(**({"name": "ops", "type": "slack", "channel": "#c"} | extra))


def test_webhook_mode_needs_no_channel_and_token_env_defaults():
    assert SlackConfig(name="o", type="slack", webhook_url_env="HOOK").token_env is None
    assert SlackConfig(name="o", type="slack", channel="#c").token_env == "SLACK_BOT_TOKEN"


def test_an_environment_proxy_is_skipped_for_no_proxy_hosts(slack, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    make(slack).send(Message(record(), delivery_id=1))
    assert len(slack.messages) == 1


# ---- through the outbox with a real SQLite database ---------------------------------------------

class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The migrated store of conftest (SQLite, or PostgreSQL with CFWATCH_TEST_BACKEND)."""
    return sessions


def _deliveries(sessions: sessionmaker[Session], clock: _Clock, count: int, notifier: str = "ops") -> None:
    """``count`` incidents, each with one new alert and a pending delivery to ``notifier``."""
    with sessions.begin() as s:
        s.add(Feed(id=1, name="f", url="http://127.0.0.1/", error_count=0, polls=0, items_seen=0))
        s.flush()
        for n in range(1, count + 1):
            s.add(Article(id=n, feed_id=1, title=f"t{n}", text="", outlet="o", fingerprint=str(n), fetched_at=clock()))
            s.flush()
            s.execute(Incident.__table__.insert().values(
                id=n, key=f"k{n}", title=f"t{n}", categories=["shelling"], severity="high",
                first_article_id=n, first_seen=clock(), last_update=clock()))
            s.execute(Alert.__table__.insert().values(
                id=n, incident_id=n, event="new", reason="first_notification", severity="high",
                record=record(alert_id=n, incident_id=n, title=f"Shelling {n}"), created_at=clock()))
            s.add(Delivery(alert_id=n, notifier=notifier, status="pending", attempts=0,
                           next_attempt_at=clock(), created_at=clock()))


def _outbox(sessions: sessionmaker[Session], clock: _Clock, notifier: SlackNotifier) -> Outbox:
    return Outbox(sessions=sessions, notifiers={notifier.name: notifier}, config=DeliveryConfig(), clock=clock)


def test_crash_between_send_and_mark_is_recovered_from_history(slack, db):
    clock = _Clock()
    _deliveries(db, clock, 1)
    with db.begin() as s:  # the dead process claimed the row and posted, but never marked it sent
        message = outbox_store.claim(s, 1, "dead-process", clock())
    assert message is not None
    posted = make(slack).send(message)
    outbox = _outbox(db, clock, make(slack))  # a new process, with a fresh notifier
    assert outbox.recover() == 1
    with db() as s:
        row = s.scalars(select(Delivery)).one()
    assert (row.status, row.ref) == ("sent", posted.ref)
    assert outbox.deliver_due().sent == 0
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_burst_becomes_singles_then_one_summary(slack, db):
    clock = _Clock()
    _deliveries(db, clock, 5)
    report = _outbox(db, clock, make(slack, burst=2)).deliver_due()
    assert report.sent == 5
    single, summary = slack.messages
    assert single.metadata["event_type"] == "cfwatch_alert"
    assert "4 more incidents" in posted_markup(summary)


# ---- end to end: cfwatch poll --once -------------------------------------------------------------

def _e2e_config(write_config, feed_server, slack, items: list[dict[str, Any]], **delivery: Any) -> Path:
    url = feed_server.set("/news.xml", rss(items))
    slack_entry = {"name": "ops", "type": "slack", "channel": "#ceasefire", "token_env": "CFW_TEST_SLACK_TOKEN",
                   "base_url": slack.api_url, "interval": 0}
    return write_config([{"name": "news", "url": url}],
                        notifiers=[{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"}, slack_entry],
                        delivery={"drain_timeout": 0, "backoff": "1s"} | delivery)


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFW_TEST_SLACK_TOKEN", TOKEN)


def test_poll_once_posts_the_incident_to_slack(slack, slack_env, feed_server, write_config, tmp_path):
    config = _e2e_config(write_config, feed_server, slack, [item(BORDER_TITLE, BORDER_TEXT, "https://news.example/a1")])
    assert main(["--config", str(config), "poll", "--once"]) == 0
    (alert,) = read_jsonl(tmp_path / "alerts.jsonl")
    (posted,) = slack.messages
    assert len(slack.calls("chat.postMessage")) == 1
    assert posted.blocks == slack_blocks(alert) and posted.text == slack_text(alert)
    assert posted.metadata["event_payload"]["alert_id"] == alert["alert_id"]


@pytest.mark.faults  # in the fault table of the reliability issue
def test_poll_once_waits_out_a_rate_limit_and_delivers_once(slack, slack_env, feed_server, write_config):
    slack.fail("chat.postMessage", "status", status=429, error="ratelimited", headers={"Retry-After": "2"})
    config = _e2e_config(write_config, feed_server, slack, [item(BORDER_TITLE, BORDER_TEXT, "https://news.example/a1")],
                         drain_timeout=10)
    started = time.monotonic()
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert len(slack.messages) == 1 and len(slack.calls("chat.postMessage")) == 2
    assert time.monotonic() - started >= 2


@pytest.mark.faults  # in the fault table of the reliability issue
def test_poll_once_feed_title_with_mentions_reaches_slack_escaped(slack, slack_env, feed_server, write_config,
                                                                  tmp_path):
    # Entity-escaped in the feed, so the article's plain-text title really holds "<!channel>"
    # (raw markup would be stripped as a tag by the parser before it got this far).
    title = f"&lt;!channel&gt; {BORDER_TITLE} &lt;https://evil.example|read more&gt;"
    config = _e2e_config(write_config, feed_server, slack, [item(title, BORDER_TEXT, "https://news.example/a2")])
    assert main(["--config", str(config), "poll", "--once"]) == 0
    (alert,) = read_jsonl(tmp_path / "alerts.jsonl")
    assert alert["title"].startswith("<!channel> ")  # the hostile text did reach the notifier
    (posted,) = slack.messages
    markup = posted_markup(posted)
    assert "<!channel>" not in markup and "<https://evil" not in markup
    assert "&lt;!channel&gt;" in posted.text


def _free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
