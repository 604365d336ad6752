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


SEED_REWRITES = [  # the border report of 13 September 2022 in five outlets' own words (written for the tests)
    ("Armenpress", "Azerbaijani forces shell Goris, Kapan and Jermuk",
     "Azerbaijani troops fired on the towns of Goris, Kapan and Jermuk with artillery and drones, the Defence "
     "Ministry of Armenia said, calling it a violation of the ceasefire. The Security Council decided to appeal "
     "to Russia for assistance under the 1997 mutual-defence treaty."),
    ("Reuters", "Armenia says Azerbaijan attacked border towns including Jermuk",
     "Armenia's defence ministry said Azerbaijani forces opened fire on Jermuk, Goris and Kapan; Baku denied "
     "starting the attack."),
    ("AFP", "Shelling hits southern Armenian towns, Yerevan blames Baku",
     "Shells and drones struck Kapan and Goris in southern Armenia overnight, officials said, in the worst "
     "flare-up since the 2020 ceasefire."),
    ("TASS", "Yerevan asks Moscow for help after shelling of Goris",
     "Armenia's Security Council decided to appeal to Russia for military assistance under the 1997 treaty "
     "after Azerbaijani shelling of Goris and Jermuk."),
    ("OC Media", "Kapan and Goris under fire as border clashes flare",
     "Residents of Kapan and Goris sheltered in basements as Azerbaijani artillery fire continued, "
     "local officials said."),
]


def test_seed_rewritten_by_five_outlets_is_one_incident_then_one_escalation(write_config, tmp_path):
    lines = []
    for n, (outlet, title, text) in enumerate(SEED_REWRITES):
        lines.append({"id": f"s{n}", "title": title, "text": text, "url": f"https://{n}.example/seed",
                      "published": (T0 + timedelta(minutes=30 * n)).isoformat(), "outlet": outlet,
                      "feed": outlet.lower().replace(" ", "-")})
    syndicated = dict(lines[1], id="copy", url="https://mirror.example/seed", outlet="Mirror", feed="mirror",
                      published=(T0 + timedelta(minutes=35)).isoformat())
    escalation = {"id": "k", "title": "At least 49 Armenian soldiers killed in Azerbaijani attack on Jermuk",
                  "text": "Armenia said at least 49 of its soldiers were killed when Azerbaijani forces shelled "
                          "positions near Jermuk and Goris.", "url": "https://k.example/49",
                  "published": (T0 + timedelta(hours=3)).isoformat(), "outlet": "Reuters", "feed": "reuters"}
    source = tmp_path / "seed.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in [*lines, syndicated, escalation]))
    out = tmp_path / "alerts.out.jsonl"
    assert main(["--config", str(write_config([])), "replay", "--jsonl", str(source), "--out", str(out)]) == 0
    records = read_jsonl(out)
    assert len({r["incident_id"] for r in records}) == 1
    events = [r["event"] for r in records]
    assert events.count("new") == 1 and events.count("escalation") == 1 and events[0] == "new"
    assert set(events) <= {"new", "update", "escalation"}
    times = [datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")) for r in records if r["event"] == "update"]
    assert all(b - a >= timedelta(minutes=15) for a, b in zip(times, times[1:]))
    before = [r for r in records if r["event"] != "escalation"][-1]
    assert before["independent_sources"] == 5  # the syndicated copy is a source, not an independent one
    assert {"Mirror", "Reuters"} <= {s["outlet"] for s in before["sources"]}
    (escalated,) = [r for r in records if r["event"] == "escalation"]
    assert escalated["reason"] == "escalation_casualties" and escalated["casualties"]["killed"] == 49
    assert {p["name"] for p in escalated["places"]} >= {"Goris", "Kapan", "Jermuk"}


def test_agreements_in_force_at_publication_add_a_ceasefire_violation(write_config, tmp_path):
    config = write_config([], agreements=[{"name": "2020 Nagorno-Karabakh ceasefire", "parties": ["AM", "AZ"],
                                           "since": "2020-11-10"}])
    report = {"title": "Azerbaijani artillery shells Armenian village of Sotk",
              "text": "Azerbaijani forces fired artillery at the Armenian village of Sotk, Armenian officials said.",
              "outlet": "Wire", "feed": "wire"}
    lines = [dict(report, id="before", url="https://w.example/2019", published="2019-06-01T08:00:00+00:00"),
             dict(report, id="after", url="https://w.example/2022", published="2022-09-13T08:00:00+00:00",
                  title=report["title"] + " again")]
    source = tmp_path / "a.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "a.out.jsonl"
    assert main(["--config", str(config), "replay", "--jsonl", str(source), "--out", str(out)]) == 0
    before, after = read_jsonl(out)
    assert "ceasefire_violation" not in before["categories"] and before["agreements"] == []
    assert "ceasefire_violation" in after["categories"]
    assert after["agreements"][0]["name"] == "2020 Nagorno-Karabakh ceasefire"
