"""Delivery from the command line: notify test, routes test, deliveries, secrets in logs,
and a sender killed with SIGKILL between send and mark."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from conftest import BORDER_TEXT, BORDER_TITLE, DISTINCT_REPORTS, item, rss, open_store
from receiver import Receiver
from pipeline.cli import main

@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _hook_config(write_config, url: str, **extra):
    return write_config([], notifiers=[{"name": "hook", "type": "webhook", "url_env": "CFW_TEST_HOOK_URL",
                                        "secret_env": "CFW_TEST_HOOK_SECRET"}], **extra)


def test_notify_test_sends_a_sample_and_reports_it(receiver, write_config, monkeypatch, capsys):
    monkeypatch.setenv("CFW_TEST_HOOK_URL", receiver.url)
    monkeypatch.setenv("CFW_TEST_HOOK_SECRET", "hmac-secret-value")
    config = _hook_config(write_config, receiver.url)
    assert main(["--config", str(config), "notify", "test", "hook"]) == 0
    assert "hook (webhook): sent" in capsys.readouterr().out
    assert json.loads(receiver.posts[0][1])["title"].startswith("[test]")
    receiver.statuses.append((404, {}))
    assert main(["--config", str(config), "notify", "test", "hook"]) == 1
    err = capsys.readouterr().err
    assert "permanent" in err and "HTTP 404" in err and "s3cr3tpath" not in err
    assert main(["--config", str(config), "notify", "test", "nope"]) == 2


def test_routes_test_shows_the_route_taken(write_config, tmp_path, capsys):
    config = write_config([], notifiers=[{"name": "a", "type": "console"}, {"name": "b", "type": "console"}],
                          routes=[{"notify": ["a"], "countries": ["UA"]},
                                  {"notify": ["b"], "categories": ["shelling"], "continue": True},
                                  {"notify": ["a"], "min_severity": "critical"}])
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps({"categories": ["shelling"], "severity": "high",
                                 "places": [{"name": "Goris", "country": "AM"}]}))
    assert main(["--config", str(config), "routes", "test", str(alert)]) == 0
    out = capsys.readouterr().out
    assert "routes[1] matches -> b" in out and "notifiers: b" in out and "routes[0]" not in out
    alert.write_text(json.dumps({"categories": ["armed_clash"], "severity": "low",
                                 "places": [{"name": "Avdiivka", "country": "UA"}]}))
    assert main(["--config", str(config), "routes", "test", str(alert)]) == 0
    assert "notifiers: a" in capsys.readouterr().out


def test_secrets_never_reach_debug_logs_or_the_deliveries_view(feed_server, receiver, write_config,
                                                                  monkeypatch):
    monkeypatch.setenv("CFW_TEST_HOOK_URL", receiver.url)
    monkeypatch.setenv("CFW_TEST_HOOK_SECRET", "hmac-secret-value")
    url = feed_server.set("/s.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/s")]))
    config = _hook_config(write_config, receiver.url)
    text = config.read_text().replace("feeds: []", f"feeds: [{{name: s, url: '{url}'}}]")
    config.write_text(text)
    receiver.statuses.append((500, {}))  # first attempt fails: the error is logged and stored
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(config), "--log-level", "DEBUG",
                           "poll", "--once"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CFW_TEST_HOOK_URL": receiver.url,
                               "CFW_TEST_HOOK_SECRET": "hmac-secret-value"})
    assert done.returncode == 0, done.stderr
    assert "delivery_retry" in done.stderr
    assert "s3cr3tpath" not in done.stderr and "hmac-secret-value" not in done.stderr
    listing = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(config), "deliveries"],
                             capture_output=True, text=True, timeout=60)
    assert "hook" in listing.stdout and "s3cr3tpath" not in listing.stdout


def test_sender_killed_between_send_and_mark_loses_nothing_repeats_at_most_one(feed_server, write_config,
                                                                               tmp_path):
    held = Receiver(hold_at=3)  # takes the third alert, then never answers
    try:
        items = [item(title, text, f"https://n.example/{n}") for n, (title, text) in enumerate(DISTINCT_REPORTS[:5])]
        url = feed_server.set("/k.xml", rss(items))
        config = write_config([{"name": "k", "url": url}],
                              notifiers=[{"name": "hook", "type": "webhook", "url": held.url, "timeout": 30}])
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "poll", "--once"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while len(held.posts) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(held.posts) == 3
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        held.release.set()
        with open_store(tmp_path) as db:
            assert db.execute("select count(*) from deliveries where status='sending'").fetchone()[0] == 1
        assert main(["--config", str(config), "poll", "--once"]) == 0
        seen = Counter(h["x-cfwatch-delivery"] for h, _ in held.posts)
        assert len(seen) == 5  # every alert arrived
        assert sorted(seen.values()) == [1, 1, 1, 1, 2]  # one repeat: the one in flight at the kill
        with open_store(tmp_path) as db:
            assert db.execute("select status, count(*) from deliveries group by status").fetchall() == [("sent", 5)]
            if db.dialect == "sqlite":
                assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        held.close()
