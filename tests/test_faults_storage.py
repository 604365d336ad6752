"""Fault suite, storage and logs: 8 concurrent SQLite writers; DEBUG logs of a full cycle."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading

import pytest
from sqlalchemy import select, update

from conftest import BORDER_TEXT, BORDER_TITLE, item, rss
from pipeline.db import make_engine, migrate
from pipeline.models import Feed
from receiver import Receiver
from slackserver import TOKEN, SlackServer
from smtpserver import SmtpServer
from sqlalchemy.orm import sessionmaker

pytestmark = [pytest.mark.faults,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]
WRITERS, ROUNDS = 8, 150


def test_eight_concurrent_writers_lose_nothing_and_never_see_a_lock_error(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as s:
        s.add(Feed(id=1, name="counter", url="http://127.0.0.1/", error_count=0, polls=0, items_seen=0))
    errors: list[str] = []

    def writer() -> None:
        for _ in range(ROUNDS):
            try:
                with sessions.begin() as s:  # read, then write what was read plus one
                    value = s.scalar(select(Feed.polls).where(Feed.id == 1))
                    s.execute(update(Feed).where(Feed.id == 1).values(polls=value + 1))
            except Exception as exc:  # noqa: BLE001 (counted, not raised, so all threads finish)
                errors.append(str(exc))

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with sessions() as s:
        assert s.scalar(select(Feed.polls).where(Feed.id == 1)) == WRITERS * ROUNDS
    assert errors == []
    engine.dispose()


def test_debug_logs_of_a_full_cycle_carry_no_secret(feed_server, write_config, tmp_path):
    password = "s3cret-Pa55word!"
    slack, smtp, hook = SlackServer(), SmtpServer(auth=("alerts-bot", password)), Receiver()
    try:
        url = feed_server.set("/s.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/s")]))
        notifiers = [
            {"name": "ops", "type": "slack", "channel": "#ceasefire", "token_env": "CFW_T_SLACK",
             "base_url": slack.api_url, "interval": 0},
            {"name": "desk", "type": "email", "host": "127.0.0.1", "port": smtp.port, "starttls": False,
             "username_env": "CFW_T_USER", "password_env": "CFW_T_PASS", "from": "a@example.org",
             "to": ["d@example.org"], "timeout": 5},
            {"name": "hook", "type": "webhook", "url_env": "CFW_T_HOOK", "secret_env": "CFW_T_HMAC"},
        ]
        config = write_config([{"name": "s", "url": url}], notifiers=notifiers, operator={"notify": ["ops"]})
        hook.statuses.append((500, {}))  # one failure, so error paths log too
        env = {**os.environ, "CFW_T_SLACK": TOKEN, "CFW_T_USER": "alerts-bot", "CFW_T_PASS": password,
               "CFW_T_HOOK": hook.url, "CFW_T_HMAC": "hmac-secret-value"}
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(config), "--log-level", "DEBUG",
                               "poll", "--once"], capture_output=True, text=True, timeout=90, env=env)
        assert done.returncode == 0, done.stderr
        assert "level=debug" in done.stderr and len(slack.messages) == 1 and len(smtp.received) == 1
        secrets = [TOKEN, TOKEN.rsplit("-", 1)[1], password, base64.b64encode(password.encode()).decode(),
                   "s3cr3tpath", "hmac-secret-value"]
        auth_plain = base64.b64encode(f"\0alerts-bot\0{password}".encode()).decode()
        for secret in [*secrets, auth_plain]:
            assert secret not in done.stderr and secret not in done.stdout, secret
    finally:
        slack.close()
        smtp.close()
        hook.close()
