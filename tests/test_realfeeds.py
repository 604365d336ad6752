"""Real captured feeds from ../shared/corpus, served locally (skipped where absent).

The corpus may not be copied into the repository, so these tests read it in place.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from conftest import SHARED, read_jsonl, rss, item, shared_example
from pipeline.cli import main

REALFEEDS = SHARED / "corpus" / "realfeeds"
pytestmark = pytest.mark.corpus


def _real_feed(name: str) -> str:
    path = REALFEEDS / name
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path.read_text(encoding="utf-8")


def test_seed_report_in_a_real_feed_and_syndicated_gives_exactly_one_alert(feed_server, write_config, tmp_path):
    title, text = shared_example()
    bbc = _real_feed("bbc_world_2026-08-13T0857Z_havannaa.xml")
    fresh = format_datetime(datetime.now(timezone.utc) - timedelta(minutes=10), usegmt=True)
    seed_item = (f"<item><title>{escape(title)}</title><description>{escape(text)}</description>"
                 f"<link>https://www.bbc.co.uk/news/world-asia-seed</link>"
                 f"<guid>https://www.bbc.co.uk/news/world-asia-seed</guid><pubDate>{fresh}</pubDate></item>")
    with_seed = re.sub(r"(<item>)", seed_item + r"\1", bbc, count=1)
    real = feed_server.set("/bbc.xml", with_seed)
    syndicated = feed_server.set("/wire.xml", rss([item(title, text, "https://wire.example/armenia-border?ref_src=x")]))
    config = write_config([{"name": "bbc", "url": real, "outlet": "BBC News"},
                           {"name": "wire", "url": syndicated, "outlet": "Wire"}])
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert main(["--config", str(config), "poll", "--once"]) == 0
    alerts = read_jsonl(tmp_path / "alerts.jsonl")
    assert len(alerts) == 1, [a["title"] for a in alerts]
    assert {"shelling", "ceasefire_violation", "treaty_appeal"} <= set(alerts[0]["categories"])


@pytest.mark.parametrize("name", ["ukraine_liga_stub_tehtehteh.xml", "nyt_world_2026-08-13T0856Z_havannaa.xml",
                                  "reliefweb_ukraine_2020-09-17_the-deep-mock.xml"])
def test_real_feeds_parse_completely(name):
    from pipeline.parse import parse_feed

    body = (REALFEEDS / name).read_bytes() if (REALFEEDS / name).exists() else pytest.skip("corpus absent")
    articles = parse_feed(body, "f", "F").articles
    assert len(articles) == body.count(b"<item")
    assert all(a.title for a in articles)
    assert not any("<" in a.title or "&amp;" in a.title for a in articles)
