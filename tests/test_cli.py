"""The ``cfwatch`` command line, run as users run it (a real subprocess where it matters)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BORDER_TEXT, BORDER_TITLE, SPORT_TEXT, SPORT_TITLE, item, read_jsonl, rss
from pipeline.cli import main

REPO = Path(__file__).resolve().parents[1]


def cfwatch(*args: str, cwd: Path | None = None, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=timeout)


def test_bad_config_exits_2_naming_file_line_and_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("feeds: []\nnotifiers:\n  - {name: a, type: console}\n  - name: b\n    type: slak\n")
    done = cfwatch("--config", str(path), "check-config")
    assert done.returncode == 2
    assert f"{path}:5: notifiers[1].type: unknown notifier 'slak'" in done.stderr


@pytest.mark.parametrize("text, expected", [
    ("feeds:\n  - {name: a, url: 'ftp://x'}\n", ":2: feeds[0].url: must be an http:// or https:// URL"),
    ("feeds:\n  - name: a\n    url: http://x\n    every: soon\n", ":4: feeds[0].every: 'soon' is not a duration"),
    ("feeds: []\ndatabse: x\n", ":2: databse: unknown key"),
    ("notifiers: [{name: a, type: console}]\nroutes:\n  - notify: [b]\n",
     ":3: routes[0].notify[0]: unknown notifier 'b'"),
    ("feeds: [\n", "invalid YAML"),
    ("rules: {packs: [nope]}\n", "rules.packs[0]: unknown rule pack 'nope'"),
])
def test_config_errors_are_located(tmp_path, text, expected):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    done = cfwatch("--config", str(path), "check-config")
    assert done.returncode == 2, done.stdout
    assert expected in done.stderr


def test_check_config_on_shipped_config_summarises_it():
    done = cfwatch("--config", str(REPO / "config.yaml"), "check-config")
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout and "feeds:" in done.stdout
    assert "archive (jsonl)" in done.stdout


def test_poll_once_twice_writes_one_alert_then_nothing(feed_server, write_config, tmp_path, capsys):
    url = feed_server.set("/n.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/1"),
                                         item(SPORT_TITLE, SPORT_TEXT, "https://news.example/2")]))
    config = write_config([{"name": "news", "url": url}])
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1
    capsys.readouterr()
    assert main(["--config", str(config), "alerts", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(listed) == 1 and listed[0]["title"] == BORDER_TITLE
    assert main(["--config", str(config), "status"]) == 0
    status = capsys.readouterr().out
    runs = [line.split() for line in status.splitlines() if " poll-once " in line]
    assert [(r[1], r[2], r[4], r[5]) for r in runs] == [("poll-once", "stopped", "0", "0")] * 2, status
    assert "lag: no feed is past due" in status


def test_rules_test_explains_which_words_fired(tmp_path):
    doc = tmp_path / "report.json"
    doc.write_text(json.dumps({"title": BORDER_TITLE, "text": BORDER_TEXT}))
    done = cfwatch("--config", str(tmp_path / "absent.yaml"), "rules", "test", str(doc))
    # An absent --config is an error even for rules test: the user named a file.
    assert done.returncode == 2
    done = cfwatch("rules", "test", str(doc), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "shelling" in done.stdout and "treaty_appeal" in done.stdout and "[" in done.stdout


def test_rules_test_jsonl_one_result_per_line_and_reports_bad_lines(tmp_path):
    lines = [json.dumps({"id": "a", "title": BORDER_TITLE, "text": BORDER_TEXT}),
             "{not json",
             json.dumps({"id": 7, "title": SPORT_TITLE, "text": SPORT_TEXT})]
    done = cfwatch("rules", "test", "--jsonl", "-", cwd=tmp_path, input="\n".join(lines) + "\n")
    assert done.returncode == 2  # a bad line is bad input; the good lines still came out
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in results] == ["a", 7]
    assert "shelling" in results[0]["categories"] and results[1]["categories"] == []
    assert "-:2: skipped" in done.stderr or "<stdin>:2: skipped" in done.stderr
    assert "texts/s" in done.stderr


@pytest.mark.sqlite_only("one daemon per SQLite file; on PostgreSQL several share it (test_multi_daemon.py)")
def test_run_daemon_alerts_and_stops_cleanly_on_sigterm(feed_server, write_config, tmp_path):
    url = feed_server.set("/d.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/d")]))
    config = write_config([{"name": "news", "url": url, "every": "2s"}])
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not read_jsonl(tmp_path / "alerts.jsonl"):
            time.sleep(0.2)
        assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1
        second = cfwatch("--config", str(config), "run", timeout=20)
        assert second.returncode == 1 and "already running" in second.stderr
        once = cfwatch("--config", str(config), "poll", "--once", timeout=20)
        assert once.returncode == 1 and "already running" in once.stderr
        time.sleep(2.5)  # at least one more poll of the unchanged feed
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "event=poll" in err and "event=stopped" in err
    assert len(read_jsonl(tmp_path / "alerts.jsonl")) == 1


def test_init_writes_a_valid_starter_config(tmp_path):
    done = cfwatch("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "cfwatch.db").exists()
    assert cfwatch("check-config", cwd=tmp_path).returncode == 0
    assert os.path.getsize(tmp_path / "config.yaml") > 0
