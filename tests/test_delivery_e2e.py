"""Slack and email together, from a feed to both channels, with the incident threaded.

The seed-like report opens an incident (one Slack message, one email); a later report
of the same event with a death toll escalates it: a Slack thread reply broadcast to the
channel, and an email that threads under the first one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import BORDER_TEXT, BORDER_TITLE, item, now, read_jsonl, rss
from pipeline.cli import main
from slackserver import TOKEN, SlackServer
from smtpserver import SmtpServer


@pytest.fixture
def channels(monkeypatch):
    slack, smtp = SlackServer(), SmtpServer()
    monkeypatch.setenv("CFW_E2E_SLACK_TOKEN", TOKEN)
    yield slack, smtp
    slack.close()
    smtp.close()


def test_one_incident_reaches_slack_and_email_then_escalates_in_their_threads(channels, feed_server,
                                                                            write_config, tmp_path):
    slack, smtp = channels
    first = item(BORDER_TITLE, BORDER_TEXT, "https://news.example/1", published=now() - timedelta(minutes=30))
    url = feed_server.set("/n.xml", rss([first]))
    config = write_config(
        [{"name": "news", "url": url}],
        notifiers=[{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"},
                   {"name": "ops", "type": "slack", "channel": "#ceasefire", "token_env": "CFW_E2E_SLACK_TOKEN",
                    "base_url": slack.api_url, "interval": 0},
                   {"name": "desk", "type": "email", "host": "127.0.0.1", "port": smtp.port, "starttls": False,
                    "from": "alerts@example.org", "to": ["desk@example.org"]}])
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert len(slack.messages) == 1 and len(smtp.received) == 1
    root_ts = slack.messages[0].ts
    root_id = smtp.received[0].message()["Message-ID"]

    later = item("At least 49 Armenian soldiers killed as Azerbaijani forces shell Goris and Jermuk",
                 "Armenia said at least 49 of its soldiers were killed when Azerbaijani forces shelled "
                 "positions near Goris and Jermuk early on Tuesday.", "https://wire.example/49")
    feed_server.set("/n.xml", rss([later, first]))
    assert main(["--config", str(config), "poll", "--once"]) == 0
    events = [(a["event"], a["reason"]) for a in read_jsonl(tmp_path / "alerts.jsonl")]
    assert events == [("new", "first_notification"), ("escalation", "escalation_casualties")]
    reply = slack.messages[1]
    assert reply.thread_ts == root_ts and reply.reply_broadcast
    mail = smtp.received[1].message()
    assert mail["In-Reply-To"] == root_id and mail["Subject"].startswith("[cfwatch][")
    assert "Escalation" in mail["Subject"]
