"""Replay and silences from the command line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from conftest import BORDER_TEXT, BORDER_TITLE, DISTINCT_REPORTS, item, read_jsonl, rss
from pipeline.cli import main

T0 = datetime(2022, 9, 13, 6, tzinfo=timezone.utc)
REWRITES = [  # one event in each outlet's own words
    ("Armenpress", "Azerbaijani shelling hits Armenian border towns",
     "The defence ministry in Yerevan reported artillery and drone fire on several communities."),
    ("Reuters", "Armenian border towns hit by Azerbaijani shelling, ministry says",
     "Residents described explosions before dawn and families sheltering in basements."),
    ("AFP", "Azerbaijani shelling of Armenian border towns draws US concern",
     "Washington urged both capitals to halt hostilities and return to negotiations."),
    ("TASS", "Yerevan says Azerbaijani shelling targeted Armenian border towns",
     "Moscow said it was in contact with both sides and called for restraint."),
    ("OC Media", "Armenian border towns under Azerbaijani shelling overnight",
     "Local officials said schools were closed and power lines were damaged."),
]


def _articles() -> list[dict]:
    lines = []
    for n, (outlet, title, text) in enumerate(REWRITES):
        lines.append({"id": f"b{n}", "title": title, "text": text,
                      "url": f"https://{n}.example/border", "published": (T0 + timedelta(minutes=25 * n)).isoformat(),
                      "outlet": outlet, "feed": outlet.lower().replace(" ", "-")})
    for n, (title, text) in enumerate(DISTINCT_REPORTS[:3]):
        lines.append({"id": f"d{n}", "title": title, "text": text, "url": f"https://d.example/{n}",
                      "published": (T0 + timedelta(hours=1, minutes=n)).isoformat(), "outlet": "Wire",
                      "feed": "wire"})
    return lines


def test_replay_jsonl_writes_the_alerts_it_would_send_and_touches_nothing(write_config, tmp_path, capsys):
    config = write_config([])
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in reversed(_articles())))  # any order in
    out = tmp_path / "replayed.jsonl"
    assert main(["--config", str(config), "replay", "--jsonl", str(source), "--out", str(out)]) == 0
    records = read_jsonl(out)
    border = [r for r in records if r["title"] == REWRITES[0][1]]
    assert [r["event"] for r in border][0] == "new"
    assert len([r for r in border if r["event"] == "new"]) == 1
    assert border[-1]["independent_sources"] == 5
    others = {r["title"] for r in records if r["event"] == "new"} - {REWRITES[0][1]}
    assert others == {title for title, _ in DISTINCT_REPORTS[:3]}
    assert not (tmp_path / "alerts.jsonl").exists()  # the configured notifier was never called
    assert not (tmp_path / "cfwatch.db").exists()  # nor the real database touched
    assert "replayed 8 articles" in capsys.readouterr().err


def test_replay_rejects_an_article_without_a_date(write_config, tmp_path, capsys):
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps({"id": 1, "title": "x", "text": "y"}) + "\n")
    assert main(["--config", str(write_config([])), "replay", "--jsonl", str(source)]) == 2
    assert "bad.jsonl:1: missing 'published'" in capsys.readouterr().err


def test_replay_since_compares_with_what_was_sent(feed_server, write_config, tmp_path, capsys):
    url = feed_server.set("/r.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/r")]))
    config = write_config([{"name": "r", "url": url}])
    assert main(["--config", str(config), "poll", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "replay", "--since", "1d"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["title"] for line in captured.out.splitlines()] == [BORDER_TITLE]
    assert "+0 / -0 new incidents" in captured.err


def test_silence_add_list_remove_and_silenced_alerts_are_kept(feed_server, write_config, tmp_path, capsys):
    url = feed_server.set("/s.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://n.example/s")]))
    config = write_config([{"name": "s", "url": url}])
    assert main(["--config", str(config), "silence", "add", "--category", "shelling", "--for", "6h",
                 "--reason", "known flare-up"]) == 0
    assert main(["--config", str(config), "silence", "list"]) == 0
    assert "known flare-up" in capsys.readouterr().out
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert read_jsonl(tmp_path / "alerts.jsonl") == []
    capsys.readouterr()
    assert main(["--config", str(config), "alerts", "list", "--json"]) == 0
    (kept,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert kept["reason"] == "silenced"
    assert main(["--config", str(config), "silence", "remove", "1"]) == 0
    assert main(["--config", str(config), "silence", "remove", "1"]) == 1
