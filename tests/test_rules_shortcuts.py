"""The rules stage's shortcuts give exactly what the plain way gives.

Each shortcut (rules/casualties.py, rules/casualty_patterns.py, rules/nameindex.py)
stands in for a simpler computation that it must equal on every input, not only on
the corpus: here both are run side by side on random text built from the characters
and words the shortcuts' arguments rely on.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left

import pytest

from rules.casualties import _has_trigger, sentences, trigger_sentences
from rules.casualty_patterns import PATTERNS, PATTERNS_WITHOUT_INCLUDING, TRIGGER
from rules.nameindex import HashSet, IndexBuilder

# Casualty words, parts of them, and every kind of sentence end and separator.
PIECES = ["kill", "ed", "dead", "died.", "death", "lost their li", "lost his life", "lost",
          " their", "bodies", "body", "injur", "wound", "missing", "x", "a", " ", "  ", ".",
          "!", "?", ";", "\n", "\n\n", "'", "’", "”", ")", "\t", "\x00", "\u2028", "5",
          "-", "7 soldiers", " were killed", " including ", "two"]


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30))) for _ in range(count)]


def test_trigger_sentences_are_the_sentences_with_a_casualty_word() -> None:
    for text in _texts(1, 20_000):
        assert trigger_sentences(text) == [s for s in sentences(text) if TRIGGER.search(s)], text


def test_the_trigger_gate_is_the_pattern() -> None:
    for text in _texts(2, 20_000):
        assert _has_trigger(text) == (TRIGGER.search(text) is not None), text


def test_patterns_without_including_match_alike_where_the_word_is_absent() -> None:
    texts = [t for t in _texts(3, 20_000) if "including" not in t]
    texts += ["7 soldiers were killed", "at least 12 people died and 3 were wounded",
              "killing 4 civilians", "the death toll rose to 33", "2 fatalities"]
    for kind, patterns in PATTERNS.items():
        for full, short in zip(patterns, PATTERNS_WITHOUT_INCLUDING[kind]):
            for text in texts:
                found = [(m.span(), m.groupdict()) for m in full.finditer(text)]
                fast = [(m.span(), m.groupdict()) for m in short.finditer(text)]
                # the groups of the left-out alternative are None where they exist
                assert [(s, {k: v for k, v in g.items() if k not in ("n0", "who0")})
                        for s, g in found] == fast, (kind, text)


class _Hashed:
    """A key with a chosen hash: puts lookups at the edges of the hash buckets."""

    def __init__(self, code: int) -> None:
        self.code = code

    def __hash__(self) -> int:
        return self.code


def test_bucketed_hash_lookups_equal_a_bisect_over_everything() -> None:
    rng = random.Random(4)
    edges = [-2**63, 2**63 - 1, 0, 1, -2, (1 << 48) - 1, 1 << 48, -(1 << 48), -(1 << 48) - 1]
    values = sorted({rng.randint(-2**63, 2**63 - 1) for _ in range(50_000)} | set(edges))
    hashes = array("q", values)
    members = HashSet(hashes)
    for code in values[::3] + [rng.randint(-2**63, 2**63 - 1) for _ in range(50_000)] + edges:
        at = bisect_left(hashes, code)
        assert (_Hashed(code) in members) == (at < len(hashes) and hashes[at] == code)
    assert "anything" not in HashSet(array("q"))


@pytest.mark.parametrize("size", [0, 1, 5_000])
def test_name_index_finds_every_key_and_only_those(size: int) -> None:
    builder = IndexBuilder()
    keys = [f"place {n}" for n in range(size)]
    for row, key in enumerate(keys):
        builder.add(key, row)
    for row, key in enumerate(keys[:50]):  # names several places share
        builder.add(key, 10_000 + row)
    index = builder.build()
    for row, key in enumerate(keys):
        assert index.get(key) == ((row, 10_000 + row) if row < 50 else row)
        assert key in index
    assert index.get("nowhere") is None and "nowhere" not in index
