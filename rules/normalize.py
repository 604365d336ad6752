"""Text normalization shared by rule phrases and article text.

Both sides go through the same tokenizer, so whatever a rule author writes
("cease-fire", "Armenia's", "U.N.") is split exactly like the article text.

The matcher needs a *normalized string* it can scan with one Aho-Corasick pass:

    " tok1 tok2 \x01 tok3 "

- a token is a run of letters/digits (``[^\\W_]+``); everything else (spaces,
  punctuation, hyphens, apostrophes, curly quotes) is a separator, so
  "cease-fire" == "cease fire" and "Armenia's" == "armenia s";
- tokens are case-folded and stripped of accents ("Xankändi" == "xankandi");
- one space between tokens and at both ends, so " shell " only matches a whole word
  and " shell" only matches at the start of a word (the prefix wildcard);
- a sentence break becomes the token ``\\x01`` so that no phrase matches across
  sentences, and the sentence of a hit is the number of breaks before it.

Everything here is built from C-level ``re``/``str`` calls on the whole string, not
a Python loop per token: classify() must handle tens of thousands of items a second.
Original offsets are recovered only for the few tokens that end up in a match
(``word_spans``), counting words in the original text, which tokenizes identically.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

SENTENCE_BREAK = "\x01"

# A word: letters and digits, plus combining marks so that text in decomposed form
# (NFD) is not split. "_" is a separator too ("snake_case" is two words): \w would
# keep it, so callers replace it by a space first (same length, offsets unchanged),
# because one positive character class is twice as fast as excluding "_" in the regex.
WORD_RE = re.compile(r"[\w\u0300-\u036f]+")
_TOKEN_OR_BREAK_RE = re.compile(r"[\w\u0300-\u036f]+|\x01")
_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

# End of a sentence: . ! ? (plus closing quotes/brackets), whitespace, then a
# capital, digit or opening quote; or a line break (see below).
# The look-behinds keep initials and the usual abbreviations in the middle of a
# sentence ("U.S. forces", "Gen. Smith"). The pattern starts with a character set so
# that the regex engine can skip quickly to candidate punctuation (2x faster than
# look-behinds tried at every character). It consumes only punctuation and
# whitespace, never a word character, so the marked text keeps the original's words.
_ABBREVIATIONS = ("[A-Z]", "Mr", "Ms", "Mrs", "Dr", "St", "No", "Lt", "Col", "Gen", "Sgt",
                  "Maj", "Capt", "Gov", "Sen", "Rep", "vs", "Jan", "Feb", "Aug", "Sep",
                  "Sept", "Oct", "Nov", "Dec")
_NEXT_SENTENCE = r"(?=[\"'\u2018\u201c(\[]*[A-Z0-9\u00c0-\u024f\u0400-\u04ff])"
# One look-behind per abbreviation length (they must be fixed-width): 4 instead of 26
# look-behinds tried at every candidate full stop, the same matches.
_BY_LENGTH: dict[int, list[str]] = {}
for _abbreviation in _ABBREVIATIONS:
    _BY_LENGTH.setdefault(1 if _abbreviation == "[A-Z]" else len(_abbreviation), []).append(_abbreviation)
_SENTENCE_END_RE = re.compile(
    # A blank line, or a line break before a capital (a headline line, a list item);
    # a line break before a lower-case word is hard-wrapped text and joins.
    r"[.!?\n](?:(?<=\n)\s*\n\s*|(?<=\n)\s*" + _NEXT_SENTENCE + "|"
    + "".join(rf"(?<!\b(?:{'|'.join(group)})[.])" for _, group in sorted(_BY_LENGTH.items()))
    + r"[.!?]*[\"'\u2019\u201d)\]]*\s+" + _NEXT_SENTENCE + ")"
)


def _fold(norm: str) -> str:
    """Strip accents from an already lower-cased string, if that keeps the tokens."""
    if norm.isascii():
        return norm
    decomposed = unicodedata.normalize("NFKD", norm)
    folded = _COMBINING_RE.sub("", decomposed)
    # Compatibility forms can introduce spaces (rare symbols); the token count must
    # stay equal to the original's for offsets to map back, so keep it unfolded then.
    if folded.count(" ") != norm.count(" "):
        return norm
    return folded


# For callers that fold words one at a time (rules/names.py): the same folding.
fold = _fold


def normalize(text: str) -> str:
    """Article text -> the padded, folded, sentence-marked token string."""
    marked = _mark(text)
    if marked.isascii():
        # Most English text: one C pass each for translate (separators to spaces,
        # lower case), split and join; ~3x faster than a tokenizing regex.
        return " " + b" ".join(marked.encode("ascii").translate(_ASCII_LOWER).split()
                               ).decode("ascii") + " "
    # lower() after tokenizing: it may turn one letter into letter + combining mark
    # ("İ"), which would split a token if done first.
    return _fold(_cased_tokens(marked).lower())


def normalize_cased(text: str) -> tuple[str, str]:
    """normalize(text), and the same tokens before lower-casing and accent folding.

    Both split into the same number of tokens at the same positions, so entity
    extraction can look up names in the first and check capitals ("Split" the town,
    not "split" the verb) in the second without going back to the original offsets.
    """
    marked = _mark(text)
    if marked.isascii():
        cased = " " + b" ".join(marked.encode("ascii").translate(_ASCII_CASED).split()
                                ).decode("ascii") + " "
        return cased.lower(), cased
    cased = _cased_tokens(marked)
    return _fold(cased.lower()), cased


# Punctuation that news text often carries outside ASCII: spaces for it let most
# English articles take the ASCII path (it is a separator on both paths).
_SMART_PUNCTUATION = ("\u2019", "\u2018", "\u201c", "\u201d", "\u2013", "\u2014", "\u00a0",
                      "\u00ab", "\u00bb", "\u2026")
# A character outside ASCII that is not part of a word: only then is the regex
# tokenizer needed for non-ASCII text.
_FOREIGN_SEPARATOR_RE = re.compile(r"[^\x00-\x7f\w\u0300-\u036f]")


def _mark(text: str) -> str:
    """Sentence ends marked; underscores, stray marker characters and common
    non-ASCII punctuation made spaces (all are separators anyway)."""
    if SENTENCE_BREAK in text:
        # A marker character in the input would be a sentence break of its own on one
        # path and part of a word on the other; it is a control character: a space.
        text = text.replace(SENTENCE_BREAK, " ")
    marked = _SENTENCE_END_RE.sub(" " + SENTENCE_BREAK + " ", _no_underscore(text))
    if not marked.isascii():
        for mark in _SMART_PUNCTUATION:  # most frequent first
            if mark in marked:
                marked = marked.replace(mark, " ")
                if marked.isascii():
                    break
    return marked


def _cased_tokens(marked: str) -> str:
    """" tok tok \x01 tok " for text with non-ASCII characters, case kept."""
    if _FOREIGN_SEPARATOR_RE.search(marked) is None:
        # Letters outside ASCII but no separators there (Cyrillic, accented names):
        # UTF-8 bytes of 0x80 and above are kept, ASCII separators become spaces.
        return " " + b" ".join(marked.encode("utf-8").translate(_UTF8_CASED).split()
                               ).decode("utf-8") + " "
    return " " + " ".join(_TOKEN_OR_BREAK_RE.findall(marked)) + " "


# bytes.translate tables: ASCII letters and digits and the sentence marker kept (or
# lower-cased), every other ASCII byte a space; bytes of 0x80 and above kept by the
# UTF-8 table (they only occur inside non-ASCII characters).
def _table(lower: bool, keep_high: bool) -> bytes:
    out = bytearray()
    for code in range(256):
        char = chr(code)
        if code < 128 and char.isalnum():
            out.append(ord(char.lower()) if lower else code)
        elif char == SENTENCE_BREAK or (code >= 128 and keep_high):
            out.append(code)
        else:
            out.append(32)
    return bytes(out)


_ASCII_LOWER = _table(lower=True, keep_high=False)
_ASCII_CASED = _table(lower=False, keep_high=False)
_UTF8_CASED = _table(lower=False, keep_high=True)


def phrase_words(phrase: str) -> list[str]:
    """A rule phrase -> its normalized words (same rules as article text)."""
    return [_fold(word.lower()) for word in WORD_RE.findall(_no_underscore(phrase))]


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets in ``text`` of each word, in the order normalize() counts."""
    return [m.span() for m in WORD_RE.finditer(_no_underscore(text))]


_W, _NW = r"[\w\u0300-\u036f]", r"[^\w\u0300-\u036f]"
_CHUNK = 32
# Possessive quantifiers (*+, ++): a word never needs to give characters back, and
# not recording backtrack points makes these ~10% faster.
_SKIP_CHUNK = re.compile(f"(?:{_NW}*+{_W}++){{{_CHUNK}}}")
# _SKIP[n] matches n words and the gap after them: its end is the start of word n.
_SKIP = [re.compile(f"(?:{_NW}*+{_W}++){{{n}}}{_NW}*+") for n in range(_CHUNK)]


def _advance(text: str, pos: int, count: int) -> int:
    """From ``pos`` (a word start, or before the first word), skip ``count`` words."""
    while count >= _CHUNK:
        pos = _SKIP_CHUNK.match(text, pos).end()  # type: ignore[union-attr]
        count -= _CHUNK
    return _SKIP[count].match(text, pos).end()  # type: ignore[union-attr]


WordRange = tuple[int, int]


def locate_words(text: str, places: Iterable[WordRange]) -> dict[WordRange, WordRange]:
    """(first, last) word indexes -> (start, end) offsets in the original ``text``.

    Only a few words of an article end up in a match, so instead of listing every
    word (a Python loop over all of them) we jump from one wanted word to the next
    with counted regex repeats, which run in C.
    """
    text = _no_underscore(text)
    out: dict[WordRange, WordRange] = {}
    index, pos = 0, 0
    for first, last in sorted(places):
        pos, index = _advance(text, pos, first - index), first
        last_start = pos if last == first else _advance(text, pos, last - first)
        last_word = WORD_RE.match(text, last_start)
        assert last_word is not None  # normalize() counted this word in the same text
        out[(first, last)] = (pos, last_word.end())
    return out


def _no_underscore(text: str) -> str:
    return text.replace("_", " ") if "_" in text else text
