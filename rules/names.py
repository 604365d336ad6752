"""Finding names: the gazetteer lookups that start at capitalised words.

A name is looked up inside its *capitalised run*: the words that start with a capital
(or are digits, feature words such as "Mine", or one or two short lower-case words
between capitalised words: "Rio de Janeiro", "Santa Cruz de la Sierra"), plus the one word after
the run ("Hyderabad city", "IS militants"). What the run holds depends on the run's
words alone, so each distinct run is resolved once and remembered (a bounded cache
on the gazetteer): news repeats its names ("Armenia's Defense Ministry", "Kyiv"), and
a repeated run costs a dictionary hit instead of a dozen lookups. What depends on the
rest of the article (cue words, the countries named elsewhere) is decided later, in
rules/entities.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rules.gazetteer import MAX_WORDS, Entity, Gazetteer
from rules.normalize import SENTENCE_BREAK, fold

# Words for "village" written before a name ("Barangay Pange", "tambon Kuttaphet"): a
# cue, not part of the name.
DESIGNATORS = frozenset("barangay barangays tambon kampung desa kelurahan".split())
# Stopwords that also start place names when an unknown capitalised word follows
# ("As Silw", "Al Jabaliyah", "San Pedro de Ycuamandiyu").
NAME_STARTS = frozenset("al el as at an ad ash ar az ad la le los las san santa santo "
                        "mount lake".split())
# Lower-case particles inside a name: "Wadi al-Rabi", "Furn el Chebbak".
PARTICLES = frozenset("al el ad ar ash az de del dos das los las ul".split())
# Feature words that end a name ("Karbonit Mine") though alone they are no place.
FEATURES = frozenset("mine station airport hill hills camp base junction bridge dam "
                     "plant crossing".split())
# Runs remembered per gazetteer; the cache is emptied when full (a few MB at most).
RUN_CACHE_SIZE = 20_000


@dataclass(slots=True)
class Mention:
    field: int
    sentence: int
    first: int            # token index in the field's normalized token list
    words: int
    entities: tuple[Entity, ...]
    rows: tuple[int, ...]  # GeoNames rows, when the name is not curated
    fallback: Mention | None = None  # the known first word of an unknown run


# What a run holds, relative to its first word: (first, words, entities, rows, fallback).
Found = tuple[int, int, tuple[Entity, ...], tuple[int, ...], "Found | None"]

_CAP = r"[^\W\da-z_]"  # may be a capital: the scan checks str.isupper() on it
# A capitalised run in the cased normalized text, and (looked ahead at, group 1) the
# two words after it: a name may end in them ("UN security council").
# It starts with the space before the run (a look-behind first would be tried at every
# character).
_RUN = re.compile(
    rf" {_CAP}[^ ]*(?: (?:{_CAP}[^ ]*|\d[^ ]*|[a-z]{{1,4}}(?: [a-z]{{1,4}})?(?= {_CAP})|"
    rf"(?:{'|'.join(sorted(FEATURES))})(?= )))*(?=((?: [^ ]+){{0,2}}))")


def capitalised(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit() and token[-1:].isupper()


def scan(gaz: Gazetteer, field_no: int, cased_text: str) -> list[Mention]:
    """Longest names starting at capitalised words, one capitalised run at a time.

    Word and sentence numbers are counted on from one run to the next with str.count
    (in C); the Python work per run is a cache lookup, except for runs never seen.
    """
    out: list[Mention] = []
    cache = gaz.runs
    index, sentence, pos = -1, 0, 0
    count = cased_text.count
    for run in _RUN.finditer(cased_text):
        words, after = run.group(0, 1)
        key = words + "/" + after  # no word holds a "/": the normalizer split there
        found = cache.get(key)
        if found is None:
            if len(cache) >= RUN_CACHE_SIZE:
                cache.clear()
            found = cache[key] = _scan_run(gaz, words[1:].split(" "), after.split(" ")[1:])
        if not found:
            # A run that names nothing ("The", "On Monday"): the counts below are sums
            # over the text so far, so they catch up at the next run that does.
            continue
        start = run.start()  # the space before the run's first word
        index += count(" ", pos, start + 1)
        # (the character at a previous run's start, skipped here, is a space)
        sentence += count(SENTENCE_BREAK, pos, start)
        pos = start + 1
        for first, size, entities, rows, fallback in found:  # _mention, inline
            out.append(Mention(field_no, sentence, index + first, size, entities, rows,
                               None if fallback is None
                               else _mention(field_no, sentence, index, fallback)))
    return out


def _mention(field_no: int, sentence: int, index: int, item: Found) -> Mention:
    first, words, entities, rows, fallback = item
    return Mention(field_no, sentence, index + first, words, entities, rows,
                   None if fallback is None else _mention(field_no, sentence, index, fallback))


def _scan_run(gaz: Gazetteer, run: list[str], after: list[str]) -> tuple[Found, ...]:
    """The names that start in one run (and may end in the words after it), left to
    right, longest first."""
    cased = run + after
    # The words as the matcher's text has them: lower case, accents folded (ASCII
    # words, the most, lower-cased together: folding leaves them as they are).
    joined = " ".join(cased)
    tokens = (joined.lower().split(" ") if joined.isascii()
              else [t.lower() if t.isascii() else fold(t.lower()) for t in cased])
    out: list[Found] = []
    stop, count, skip_to = gaz.stop, len(tokens), 0
    for i in range(len(run)):
        if i < skip_to or not cased[i][:1].isupper():
            continue
        token = tokens[i]
        longest = MAX_WORDS if gaz.starts(" ".join(tokens[i:i + 2])) else 1
        if token in DESIGNATORS:
            continue  # "Barangay Pange": the name starts at the next word
        if longest == 1 and token in stop:
            # "On", "May", "The": no name starts here; the run after it is skipped,
            # unless it starts a name the gazetteer lacks ("As Silw", "Al Jah").
            n = _run(gaz, tokens, cased, i, count)
            if n > 1 and token in NAME_STARTS and not cased[i + 1][:1].isdigit():
                out.append((i, n, (), (), None))
            skip_to = i + n
            continue
        # (a word in neither table gives None here too: no lookup is done twice)
        found = _lookup(gaz, i, tokens, cased, longest)
        if found is not None and (found[1] > 1 or not _merges(found, i + 1, tokens, cased, gaz)):
            out.append(found)
            skip_to = i + found[1]
            continue
        # A capitalised run the gazetteer does not know: perhaps a village, or a
        # known name that continues ("Shakhta Trudovskaya", "Donetsk Filtration Station").
        n = _run(gaz, tokens, cased, i, count)
        if token not in stop:
            out.append((i, n, (), (), found))
        skip_to = i + n
    return tuple(out)


def _lookup(gaz: Gazetteer, i: int, tokens: list[str], cased: list[str],
            longest: int) -> Found | None:
    """The longest curated name or GeoNames place starting at word i."""
    curated, places, stop = gaz.curated, gaz.places, gaz.stop
    for n in range(min(longest, len(tokens) - i), 0, -1):
        key = " ".join(tokens[i:i + n]) if n > 1 else tokens[i]
        if SENTENCE_BREAK in key or key in stop:
            continue
        ents = curated.get(key)
        if ents is not None:
            if any(e.capitals for e in ents):
                upper = cased[i:i + n] == [t.upper() for t in cased[i:i + n]]
                ents = tuple(e for e in ents if not e.capitals or upper)
            # A region that is also a town ("Donetsk", "Moscow", "Washington"):
            # news mostly means the town; the choice among towns comes later.
            if ents and not (key in places and all(e.kind == "region" for e in ents)):
                return (i, n, ents, (), None)
        rows = gaz.place_rows(key)  # () when the key is no place: one lookup, not two
        if rows:
            return (i, n, (), rows, None)
    return None


def _run(gaz: Gazetteer, tokens: list[str], cased: list[str], i: int, count: int) -> int:
    """Words (1-4) of the unknown capitalised run that starts at word i."""
    stop, curated, places = gaz.stop, gaz.curated, gaz.places
    n = 1
    while n < 4 and i + n < count:
        token, word = tokens[i + n], cased[i + n]
        if (token in PARTICLES and word.islower() and i + n + 1 < count
                and cased[i + n + 1][:1].isupper() and n < 3):
            n += 2  # "Wadi al-Rabi", "Ras al Ain": the particle and the next word
            continue
        if token not in FEATURES and (
                not (word[:1].isupper() or token.isdigit()
                     or word[:1].isdigit() and word[-1:].isupper())
                or token in stop or token in curated or token in places):
            break
        n += 1
    return n


def _continues(token: str, cased: str, gaz: Gazetteer) -> bool:
    if token in FEATURES:
        return True
    if not (capitalised(cased) or token.isdigit()):
        return False
    return token not in gaz.stop and token not in gaz.curated and token not in gaz.places


def _merges(found: Found, after: int, tokens: list[str], cased: list[str],
            gaz: Gazetteer) -> bool:
    """Does a one-word place or region run on into an unknown name?"""
    if after >= len(tokens):
        return False
    if any(e.kind not in ("place", "region") for e in found[2]):
        return False
    if (tokens[after] in PARTICLES and cased[after].islower() and after + 1 < len(tokens)
            and cased[after + 1][:1].isupper()):
        return True  # "Wadi al-Rabi"
    if not capitalised(cased[after]) and tokens[after] not in FEATURES:
        return False
    return _continues(tokens[after], cased[after], gaz)
