"""What classify() returns: the rules that fired and what they saw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.schema import CATEGORIES, SEVERITIES

Span = tuple[str, int, int]  # (field "title" | "text", start, end) in the original string


# Not frozen: a frozen dataclass's __init__ costs several times more, and classify()
# builds several Matches per article at tens of thousands of articles a second.
@dataclass(slots=True)
class Match:
    """One rule firing on an article."""

    rule: str
    category: str
    severity: str
    spans: list[Span] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # matched words as written, deduplicated

    def to_record(self) -> dict[str, Any]:
        return {"rule": self.rule, "category": self.category,
                "severity": self.severity, "text": list(self.text)}


@dataclass(frozen=True)
class ArticleResult:
    matches: list[Match] = field(default_factory=list)  # in rule order

    @property
    def categories(self) -> list[str]:
        found = {m.category for m in self.matches}
        return [c for c in CATEGORIES if c in found]

    @property
    def severity(self) -> str | None:
        if not self.matches:
            return None
        return max((m.severity for m in self.matches), key=SEVERITIES.index)

    def to_record(self) -> dict[str, Any]:
        # places/actors/casualties/treaties are filled by entity extraction (a later
        # issue); the keys are here now so that the record shape does not change.
        return {
            "categories": self.categories,
            "severity": self.severity,
            "matches": [m.to_record() for m in self.matches],
            "places": [],
            "actors": [],
            "casualties": {"killed": None, "injured": None},
            "treaties": [],
        }
