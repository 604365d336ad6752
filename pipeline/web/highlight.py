"""Matched words in feed text, as segments the templates mark up (pure).

Text is split into ``(text, matched)`` pairs instead of having ``<mark>`` inserted
into it: the template escapes every segment and wraps the matched ones itself, so a
title carrying markup can never come out as markup, whatever the matched words are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

Segments = list[tuple[str, bool]]


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    # Longest first, so "cease-fire" wins over "fire"; whole words only ("fire" not in "firing").
    alternatives = sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in alternatives) + r")(?!\w)", re.IGNORECASE)


def segments(text: str, words: Iterable[str]) -> Segments:
    """``text`` cut into runs, each flagged whether it is one of ``words`` (case-insensitive)."""
    pattern = _pattern(tuple(sorted(set(words))))
    if pattern is None or not text:
        return [(text, False)] if text else []
    out: Segments = []
    pos = 0
    for match in pattern.finditer(text):
        if match.start() > pos:
            out.append((text[pos:match.start()], False))
        out.append((match.group(0), True))
        pos = match.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def snippets(text: str, words: Iterable[str], *, context: int = 90, limit: int = 6,
             max_chars: int = 420) -> list[Segments]:
    """The passages of ``text`` around matched words (merged where they overlap), highlighted.

    An analyst wants to see each word in its sentence, not scroll a whole article;
    ``limit`` passages at most, each cut at word boundaries with an ellipsis, and a run
    of close matches split after about ``max_chars`` so no passage becomes the article.
    """
    words = tuple(sorted(set(words)))
    pattern = _pattern(words)
    if pattern is None or not text:
        return []
    windows: list[list[int]] = []
    for match in pattern.finditer(text):
        start, end = max(0, match.start() - context), min(len(text), match.end() + context)
        if windows and start <= windows[-1][1] and end - windows[-1][0] <= max_chars:
            windows[-1][1] = end
        elif windows and start <= windows[-1][1]:  # too long to merge: continue where the last one ends
            windows.append([windows[-1][1], end])
        else:
            windows.append([start, end])
    out = []
    for start, end in windows[:limit]:
        start, end = _word_edge(text, start, -1), _word_edge(text, end, 1)
        passage = ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")
        out.append(segments(passage, words))
    return out


def _word_edge(text: str, index: int, direction: int) -> int:
    """Move ``index`` to the nearest space outwards (at most 20 characters), so no word is cut."""
    for step in range(20):
        probe = index + step * direction
        if probe <= 0 or probe >= len(text):
            return max(0, min(len(text), probe))
        if text[probe].isspace():
            return probe
    return index
