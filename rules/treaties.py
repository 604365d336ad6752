"""The treaty registry (rules/data/treaties.yaml) and naming instruments in text.

Works on normalize() output split into sentences, so "Article 42(7)" and
"article 42.7" are both " article 42 7 ". Looked at only for the few sentences
where a treaty_appeal rule fired, so plain substring tests are enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from rules.normalize import phrase_words


@dataclass(frozen=True)
class Treaty:
    id: str
    name: str
    article: str | None
    any: tuple[str, ...]
    context: tuple[str, ...] = ()
    not_: tuple[str, ...] = ()
    requires_article: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.article:
            record["article"] = self.article
        return record


def _keys(phrases: Any) -> tuple[str, ...]:
    return tuple(" " + " ".join(phrase_words(str(p))) + " " for p in phrases or ())


@cache
def load_treaties() -> tuple[Treaty, ...]:
    raw = yaml.safe_load(resources.files("rules.data").joinpath("treaties.yaml")
                         .read_text(encoding="utf-8"))
    return tuple(Treaty(t["id"], t["name"], t.get("article"), _keys(t["any"]),
                        _keys(t.get("context")), _keys(t.get("not")),
                        _keys(t.get("requires_article"))) for t in raw["treaties"])


def _has(text: str, keys: tuple[str, ...]) -> bool:
    return any(k in text for k in keys)


def named(sentences: list[str], article: str) -> list[Treaty]:
    """Instruments named in these normalized sentences (context: sentence, then article)."""
    found: list[Treaty] = []
    for treaty in load_treaties():
        for sentence in sentences:
            if not _has(sentence, treaty.any) or _has(sentence, treaty.not_):
                continue
            if treaty.context and not (_has(sentence, treaty.context)
                                       or _has(article, treaty.context)):
                continue
            if treaty.requires_article and not _has(article, treaty.requires_article):
                continue
            found.append(treaty)
            break
    # "Article 4" with the CSTO named is the CSTO's article, not NATO's.
    ids = {t.id for t in found}
    if "csto-art4" in ids:
        found = [t for t in found if t.id != "nato-art4"]
    return found
