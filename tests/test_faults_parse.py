"""Fault suite, parsing: entity attacks, XXE, bodies that read like paths, broken documents.

The timing and memory figures come from a child process (tests/hostile_docs.py), so
they measure parsing alone; an XXE listener on 127.0.0.1 must see no request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import open_store

import hostile_docs
import hostileserver as hs
from pipeline.cli import main

pytestmark = pytest.mark.faults
TESTS = Path(__file__).resolve().parent
REFUSED = ("billion_laughs", "quadratic", "quadratic_small_entity", "xxe_file", "xxe_listener", "xxe_parameter",
           "entity_without_doctype")
NOT_FEEDS = {"dev_zero": "not an RSS/Atom feed", "etc_passwd": "not an RSS/Atom feed", "html_200": "HTML page",
             "json": "JSON", "empty": "empty", "binary": "binary"}
KEPT = {"truncated": ["Shelling near Goris 1"], "wrong_encoding": ["Caf\u00e9 shelled"],
        "utf16": ["Shelling near Goris 1"], "small_entities": ["Shelling\u00a0near Goris"],
        "external_dtd": ["Shelling near Goris 1"]}


@pytest.fixture(scope="module")
def measured() -> tuple[dict[str, object], int]:
    listener = hs.HostileServer()
    try:
        done = subprocess.run([sys.executable, str(TESTS / "hostile_docs.py"), listener.url("")],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout), listener.connections
    finally:
        listener.close()


def test_hostile_documents_are_refused_fast_small_and_without_fetching(measured):
    figures, listener_connections = measured
    cases = figures["cases"]
    for name in REFUSED:
        assert str(cases[name]["outcome"]).startswith("not a feed:") and "refused" in cases[name]["outcome"], name
    assert figures["worst_seconds"] < 1.0 and figures["rss_mb"] < 100, figures
    assert listener_connections == 0


def test_broken_documents_are_not_feeds_or_keep_their_complete_items(measured):
    cases = measured[0]["cases"]
    for name, words in NOT_FEEDS.items():
        assert str(cases[name]["outcome"]).startswith("not a feed:") and words in cases[name]["outcome"], name
    for name, titles in KEPT.items():
        assert [t.replace("\xa0", " ") for t in cases[name]["outcome"]] == [t.replace("\xa0", " ") for t in titles], name


def test_a_bomb_is_recorded_on_its_feed_and_the_other_feeds_go_on(feed_server, write_config, tmp_path):
    docs = hostile_docs.documents()
    feeds = [{"name": name, "url": feed_server.set(f"/{name}.xml", docs[name])}
             for name in ("billion_laughs", "quadratic", "xxe_file", "html_200", "dev_zero")]
    feeds.append({"name": "good", "url": feed_server.set("/good.xml", docs["truncated"])})
    config = write_config(feeds)
    assert main(["--config", str(config), "poll", "--once"]) == 0
    with open_store(tmp_path) as db:
        errors = dict(db.execute("select name, last_error from feeds").fetchall())
        titles = [t for (t,) in db.execute("select title from articles")]
    assert "entity" in errors["billion_laughs"] and "refused" in errors["quadratic"]
    assert "XXE" in errors["xxe_file"] and "HTML page" in errors["html_200"]
    assert errors["dev_zero"].startswith("not a feed") and errors["good"] is None
    assert titles == ["Shelling near Goris 1"]
