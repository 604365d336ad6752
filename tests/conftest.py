"""Shared fixtures: a local feed server, config files in a temp dir, report texts.

The report texts here were written for the project (the corpus and the shared
example may not be copied into the repository); tests that read the real shared
example skip where ``../shared`` is absent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from feedserver import FeedServer, rss  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"

# A border-shelling report in the shape of the project's seed case, written for the tests.
BORDER_TITLE = "Azerbaijani forces shell Armenian border towns; Yerevan seeks Russian help"
BORDER_TEXT = (
    "Azerbaijani troops opened fire with artillery and drones on the Armenian towns of Goris, Kapan and "
    "Jermuk early on Tuesday, Armenia's Defence Ministry said. Baku denied the claims and said its units "
    "had responded to provocations. Yerevan accused Azerbaijan of a gross violation of the ceasefire "
    "agreement that ended the fighting in 2020. Armenia's Security Council later decided to formally "
    "request military assistance from Russia under the 1997 treaty on friendship, cooperation and "
    "mutual assistance between the two countries."
)
SPORT_TITLE = "Late strike sinks City as striker shoots United into cup final"
SPORT_TEXT = ("The visitors attacked from the first whistle, and their forward fired a shot against the post "
              "before a header in stoppage time sent the fans into the night celebrating.")
BUSINESS_TITLE = "Shell profits climb as oil prices rise; price war fears fade"
BUSINESS_TEXT = ("The energy company reported higher quarterly earnings and announced a share buyback, while "
                 "analysts said a price war among refiners now looked unlikely.")


# Distinct events (different places, parties and wording), written for the tests.
DISTINCT_REPORTS = [
    ("Rocket barrage hits Kharkiv apartment block",
     "Russian rockets struck a residential building in Kharkiv overnight, regional officials said, "
     "wounding several people. Firefighters worked through the night."),
    ("Militants ambush army convoy near Menaka",
     "Gunmen attacked a Malian army convoy near Menaka on Monday, the army said, in an ambush that "
     "left two soldiers dead. The attackers fled on motorbikes."),
    ("Houthi drone strikes Red Sea tanker",
     "A drone launched by Houthi forces hit a commercial tanker off Hodeidah, maritime security agencies "
     "reported. The crew put out a fire on deck."),
    ("Clashes erupt in Khartoum between army and RSF",
     "Heavy fighting broke out between the Sudanese army and the Rapid Support Forces in Khartoum, "
     "residents said, with gunfire heard across the city."),
    ("Israeli air strike kills three in Rafah",
     "An Israeli air strike on a house in Rafah killed three people, health officials in Gaza said. "
     "The military said it targeted militants."),
    ("Mortar fire reported along Line of Contact in Tavush",
     "Armenian positions in Tavush province came under mortar fire from Azerbaijani units, Yerevan said, "
     "calling it a violation of the ceasefire. Baku denied the claim."),
]


def now() -> datetime:
    return datetime.now(timezone.utc)


def item(title: str, text: str, link: str, guid: str | None = None,
         published: datetime | None = None) -> dict[str, Any]:
    return {"title": title, "description": text, "link": link, "guid": guid or link,
            "published": published or now() - timedelta(minutes=5)}


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config.yaml in tmp_path from a dict; returns its path."""

    def write(feeds: list[dict[str, Any]], **extra: Any) -> Path:
        doc: dict[str, Any] = {
            "database": "sqlite:///cfwatch.db",
            "feeds": feeds,
            "rules": {"packs": ["ceasefire"]},
            "notifiers": [{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"}],
            "fetch": {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5},
            "delivery": {"drain_timeout": 0, "backoff": "1s"},
        }
        doc.update(extra)
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return write


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shared_example() -> tuple[str, str]:
    """(title, text) of the real report in ../shared/examples, or skip."""
    files = sorted((SHARED / "examples").glob("*.txt")) if (SHARED / "examples").is_dir() else []
    if not files:
        pytest.skip("../shared/examples is not present next to the repository")
    body = files[0].read_text(encoding="utf-8").strip()
    title, _, rest = body.partition(". ")  # the file has no headline: use its first sentence
    return title.strip() + ".", rest


__all__ = ["rss", "item", "read_jsonl", "now", "shared_example"]
