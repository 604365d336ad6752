"""Rule dataclasses and the rule-pack parser.

A pack is YAML written by analysts, so every mistake must come back as a
SourceError naming the file, the line and the key path
(``ceasefire.yaml:42: rules[3].near.within: must be a positive integer``).
The syntax is documented in docs/RULES.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rules.normalize import phrase_words
from rules.yamlsrc import Located, Path, SourceError, load_yaml

CATEGORIES: tuple[str, ...] = (
    "shelling", "armed_clash", "casualties", "treaty_appeal", "ceasefire_violation",
)
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")  # ascending
SCOPES: tuple[str, ...] = ("any", "title", "text", "sentence")

_RULE_KEYS = {"id", "category", "severity", "description", "any", "all", "none",
              "near", "scope", "countries_any", "places_in", "actors_any"}
_ISO_RE = re.compile(r"^[A-Z]{2}$")
_PACK_KEYS = {"rules", "description", "language"}
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
# A shorter prefix ("s*", "ki*") would match half the dictionary.
_MIN_PREFIX = 3


@dataclass(frozen=True)
class Phrase:
    """One phrase as written, and how it matches: whole words or a prefix."""

    text: str
    words: tuple[str, ...]
    prefix: bool  # trailing "*": the last word may continue ("shell*" -> shelling)

    @property
    def key(self) -> str:
        """The string the matcher looks for in normalize() output."""
        body = " " + " ".join(self.words)
        return body if self.prefix else body + " "


@dataclass(frozen=True)
class Near:
    a: tuple[Phrase, ...]
    b: tuple[Phrase, ...]
    within: int  # 1 = adjacent words


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    any: tuple[Phrase, ...] = ()
    all: tuple[tuple[Phrase, ...], ...] = ()
    none: tuple[Phrase, ...] = ()
    near: Near | None = None
    scope: str = "any"
    description: str = ""
    # Entity conditions, checked on the whole article after extraction.
    countries_any: tuple[str, ...] = ()  # ISO alpha-2: any of them mentioned
    places_in: tuple[str, ...] = ()      # ISO alpha-2: a place found in one of them
    actors_any: tuple[str, ...] = ()     # actor names, case-insensitive

    @property
    def needs_entities(self) -> bool:
        return bool(self.countries_any or self.places_in or self.actors_any)
    source: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)
    index: int = field(default=0, compare=False)  # position in its pack's rules list


def parse_phrase(raw: Any, doc: Located, path: Path) -> Phrase:
    """'shell*' -> Phrase(words=('shell',), prefix=True), validated."""
    if not isinstance(raw, str) or not raw.strip():
        raise doc.error(path, "must be a non-empty string phrase")
    text = raw.strip()
    prefix = text.endswith("*")
    body = text[:-1] if prefix else text
    if "*" in body:
        raise doc.error(path, f"{raw!r}: '*' is only allowed at the end of a phrase")
    if prefix and not (body[-1:].isalnum()):
        raise doc.error(path, f"{raw!r}: '*' must follow a letter or digit")
    words = tuple(phrase_words(body))
    if not words:
        raise doc.error(path, f"{raw!r}: has no letters or digits")
    if prefix and len(words) == 1 and len(words[0]) < _MIN_PREFIX:
        raise doc.error(path, f"{raw!r}: a wildcard needs at least {_MIN_PREFIX} letters")
    return Phrase(text, words, prefix)


def parse_phrases(raw: Any, doc: Located, path: Path) -> tuple[Phrase, ...]:
    """A phrase list; a plain string is a list of one."""
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        raise doc.error(path, "must be a phrase or a non-empty list of phrases")
    return tuple(parse_phrase(item, doc, path + (i,)) for i, item in enumerate(items))


def _parse_all(raw: Any, doc: Located, path: Path) -> tuple[tuple[Phrase, ...], ...]:
    if not isinstance(raw, list) or not raw:
        raise doc.error(path, "must be a non-empty list of phrase lists")
    return tuple(parse_phrases(group, doc, path + (i,)) for i, group in enumerate(raw))


def _parse_near(raw: Any, doc: Located, path: Path) -> Near:
    if not isinstance(raw, dict):
        raise doc.error(path, "must be a mapping with a, b and within")
    unknown = sorted(str(k) for k in raw if k not in {"a", "b", "within"})
    if unknown:
        raise doc.error(path + (unknown[0],), "unknown key (expected a, b, within)")
    for key in ("a", "b", "within"):
        if key not in raw:
            raise doc.error(path, f"missing required key {key!r}")
    within = raw["within"]
    # bool is an int in Python; "within: yes" is a mistake, not 1.
    if isinstance(within, bool) or not isinstance(within, int) or within < 1:
        raise doc.error(path + ("within",), "must be a positive integer")
    return Near(parse_phrases(raw["a"], doc, path + ("a",)),
                parse_phrases(raw["b"], doc, path + ("b",)), within)


def _choice(raw: dict[str, Any], key: str, allowed: tuple[str, ...], doc: Located,
            path: Path, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise doc.error(path, f"missing required key {key!r}")
    if value not in allowed:
        raise doc.error(path + (key,), f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _codes(raw: dict[str, Any], key: str, doc: Located, path: Path) -> tuple[str, ...]:
    if key not in raw:
        return ()
    items = raw[key]
    if not isinstance(items, list) or not items:
        raise doc.error(path + (key,), "must be a non-empty list of ISO country codes")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not _ISO_RE.match(item):
            raise doc.error(path + (key, i), f"{item!r} is not an ISO alpha-2 code (e.g. AM)")
    return tuple(items)


def _names(raw: dict[str, Any], key: str, doc: Located, path: Path) -> tuple[str, ...]:
    if key not in raw:
        return ()
    items = raw[key]
    if not isinstance(items, list) or not items or not all(
            isinstance(i, str) and i.strip() for i in items):
        raise doc.error(path + (key,), "must be a non-empty list of names")
    return tuple(i.strip() for i in items)


def parse_rule(raw: Any, doc: Located, path: Path) -> Rule:
    """One mapping under ``rules:`` -> Rule."""
    if not isinstance(raw, dict):
        raise doc.error(path, "must be a mapping")
    unknown = sorted(str(k) for k in raw if k not in _RULE_KEYS)
    if unknown:
        raise doc.error(path + (unknown[0],), f"unknown key (expected one of "
                        f"{', '.join(sorted(_RULE_KEYS))})")
    rule_id = raw.get("id")
    if rule_id is None:
        raise doc.error(path, "missing required key 'id'")
    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        raise doc.error(path + ("id",), "must be lower-case letters, digits, '-', '_' or '.'")
    if not any(key in raw for key in ("any", "all", "near")):
        raise doc.error(path, "needs at least one of any, all, near")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise doc.error(path + ("description",), "must be a string")
    return Rule(
        id=rule_id,
        category=_choice(raw, "category", CATEGORIES, doc, path),
        severity=_choice(raw, "severity", SEVERITIES, doc, path),
        any=parse_phrases(raw["any"], doc, path + ("any",)) if "any" in raw else (),
        all=_parse_all(raw["all"], doc, path + ("all",)) if "all" in raw else (),
        none=parse_phrases(raw["none"], doc, path + ("none",)) if "none" in raw else (),
        near=_parse_near(raw["near"], doc, path + ("near",)) if "near" in raw else None,
        scope=_choice(raw, "scope", SCOPES, doc, path, default="any"),
        description=description,
        countries_any=_codes(raw, "countries_any", doc, path),
        places_in=_codes(raw, "places_in", doc, path),
        actors_any=_names(raw, "actors_any", doc, path),
        source=doc.source,
        line=doc.line_of(path + ("id",)),
        index=int(path[-1]),
    )


def parse_pack(text: str, source: str) -> list[Rule]:
    """Parse and validate one rule pack; raises SourceError on the first problem."""
    doc = load_yaml(text, source)
    if not isinstance(doc.data, dict) or "rules" not in doc.data:
        raise doc.error((), "a rule pack must be a mapping with a 'rules' list")
    unknown = sorted(str(k) for k in doc.data if k not in _PACK_KEYS)
    if unknown:
        raise doc.error((unknown[0],), "unknown key (expected rules, description, language)")
    raw_rules = doc.data["rules"]
    if not isinstance(raw_rules, list):
        raise doc.error(("rules",), "must be a list of rules")
    rules = [parse_rule(raw, doc, ("rules", i)) for i, raw in enumerate(raw_rules)]
    check_unique(rules)
    return rules


def check_unique(rules: list[Rule]) -> None:
    """Rule ids are how alerts explain themselves: two rules may not share one."""
    seen: dict[str, Rule] = {}
    for rule in rules:
        first = seen.setdefault(rule.id, rule)
        if first is not rule:
            where = f"{first.source}:{first.line}" if first.line else first.source
            raise SourceError(rule.source, rule.line, ("rules", rule.index, "id"),
                              f"duplicate rule id {rule.id!r} (first defined at {where})")
