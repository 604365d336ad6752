"""Casualty counts: killed, injured, missing, from the sentences that state them.

Regular expressions (rules/casualty_patterns.py) over the lower-cased sentences that
contain a casualty word (a cheap pre-check keeps this off most text). A count is a
number in digits or words ("forty-nine"), "at least N" / "more than N" / "some N"
(N), a range (its lower bound) or a singular ("a soldier was killed", "the death of
the soldier": 1). Vague amounts ("dozens", "scores") give no number but a flag.
Background sentences about past wars ("thousands were killed in a 44-day war ...
that ended in 2020") are skipped.

The count of an event is the total of the people killed in it (ACLED's convention):
victims joined in one phrase add up ("2 soldiers and 3 militants", "a farmer and his
brother"), and so do counts for different victims within a sentence ("five were
killed ... one more was killed"). Across sentences the largest is kept, since reports
repeat their toll, unless the later count says "also"/"more" or names other victims
(soldiers, then militants); a later figure from another source or a party to the
fight ("other sources report", "the group claims") never replaces it, nor adds to it.

Deaths that are the cause of a protest or riot ("residents protested after police
shot dead a driver") are not its casualties: counts in that clause are dropped, and
when those are the only deaths named, killed is 0 with the flag background_killed
(ACLED's convention too: the protest killed no one).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from rules.casualty_background import Span, background_death, background_span, own
from rules.casualty_patterns import (
    WORDS,
    VAGUE,
    WIRE,
    PATTERNS,
    PATTERNS_WITHOUT_INCLUDING,
    N_GROUPS,
    WHO_GROUP,
    SINGULAR_DEATH,
    TRIGGER,
    TRIGGER_WORDS,
    PAST_WAR,
    CIVIL,
    MILITARY,
    ALSO,
    INTRANSITIVE,
    PASSIVE,
    MORE,
    CAUSE,
    ALTERNATIVE,
    SENTENCE,
    AND_NUMBER,
    CONJUNCTION,
    SINGLE,
    NUMBERED,
    TAIL,
    OTHER_HARM,
    ANIMALS,
    OBJECT,
    PLURAL_NOUN,
)

def number(text: str) -> int | None:
    """'1,200' -> 1200, 'forty-nine' -> 49, 'a' -> 1, 'dozens' -> None."""
    text = text.lower().strip()
    if text in ("him", "her", "his", "their"):  # "killing him", "killed his father"
        return 1
    if text[:1].isdigit():
        return int(text.replace(",", ""))
    if text in WORDS:
        return WORDS[text]
    parts = re.split(r"[\s-]+", text)
    if len(parts) == 2 and parts[0] in WORDS and parts[1] in WORDS:
        return WORDS[parts[0]] + WORDS[parts[1]]
    return None


@dataclass
class Casualties:
    killed: int | None = None
    injured: int | None = None
    missing: int | None = None
    civilians: dict[str, int] = field(default_factory=dict)   # {"killed": 2, ...}
    military: dict[str, int] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"killed": self.killed, "injured": self.injured}
        if self.missing is not None:
            record["missing"] = self.missing
        if self.civilians:
            record["civilians"] = dict(self.civilians)
        if self.military:
            record["military"] = dict(self.military)
        record["flags"] = list(self.flags)
        return record


@dataclass
class _Count:
    value: int
    start: int
    more: bool     # "five more", "another": adds to the other counts of the sentence
    group: str     # civilians | military | ""
    side: str = ""  # civilians | forces | militants | "" (unknown): who the victims were


_SIDES = (
    ("militants", re.compile(r"\b(?:militants?|fighters?|insurgents?|rebels?|gunmen|gunman|"
                             r"attackers?|assailants?|militiam[ae]n|militias?|jihadists?|"
                             r"terrorists?|separatists?|bandits?|taliban|elements)\b")),
    ("forces", re.compile(r"\b(?:soldiers?|troops|servicem[ae]n|police(?:m[ae]n)?|officers?|"
                          r"personnel|guards?|army|military|marines|rangers?|commandos?)\b")),
    ("civilians", re.compile(r"\b(?:civilians?|residents?|villagers?|children|child|wom[ae]n|"
                             r"farmers?|people|persons?|passers?-?by)\b")),
)


def _side(words: str) -> str:
    """Who the victims of a count were, by the first word after the number."""
    best, side = len(words) + 1, ""
    for name, pattern in _SIDES:
        found = pattern.search(words)
        if found is not None and found.start() < best:
            best, side = found.start(), name
    return side


def _group(words: str) -> str:
    if MILITARY.search(words):
        return "military"
    return "civilians" if CIVIL.search(words) else ""


# Words without which a kind's patterns cannot match; also bound the search window.
_KIND_TRIGGER = {
    "killed": re.compile(r"kill|dead|died|death|slain|martyr|lives|life|shahadat|perish|"
                         r"fatalit|bodies|body|gunned|toll|victims"),
    "injured": re.compile(r"injur|wound|hurt"),
    "missing": re.compile(r"missing|unaccounted"),
}


def _single(part: str) -> int | None:
    """One more victim ("his brother", "a civilian") -> 1; a number (added by
    AND_NUMBER) or a word joined to the same noun ("soldiers and mercenaries") -> 0;
    a plural after a determiner ("his guards"): how many is not said -> None."""
    if NUMBERED.match(part):
        return 0
    found = SINGLE.match(part)
    if found is None:
        return -1 if part.strip() else 0
    noun = found.group("noun")
    return None if noun.endswith("s") and not noun.endswith("ss") else 1


def _tail(sentence: str, end: int) -> int:
    """Victims joined to an object count: "killed a policeman and a civilian" (+1),
    "killed 1 council member in addition to 3 of his guards" (+3)."""
    found = TAIL.match(sentence, end, end + 90)
    if found is None or OTHER_HARM.search(found.group("after")):
        return 0
    if found.group("one"):
        noun = found.group("noun")
        return 0 if noun.endswith("s") and not noun.endswith("ss") else 1
    return number(found.group("n")) or 0


def _n_group(m: re.Match[str]) -> str:
    found = m.groupdict()
    return next(g for g in N_GROUPS if found.get(g) is not None)


_PLURAL_END = re.compile(r"s,?\s*$")


def _take(m: re.Match[str], sentence: str, kind: str, flags: list[str],
          found: dict[int, _Count]) -> bool:
    """Record one pattern match as a count; False when it is not one."""
    group = _n_group(m)
    raw, n_start, n_end = m.group(group), m.start(group), m.end(group)
    value = number(raw)
    # The words after the number say who: civilians or military.
    who = sentence[n_end:max(m.end(), n_end + 40)]
    if value is None or group == "n2" and raw in ("a", "an", "the") and PLURAL_NOUN.search(
            m.group(0)):
        if raw in VAGUE and f"vague_{kind}" not in flags:
            flags.append(f"vague_{kind}")
        return False
    subject = m.group(WHO_GROUP[group]) if group in WHO_GROUP else None
    # "a farmer and his brother": the first person, then one for each "and his/a ...".
    head, *others = CONJUNCTION.split(subject or "")
    plural = _PLURAL_END.search(head)
    # "a suicide bomber killed 32": a singular subject is the killer unless passive.
    passive = (subject is None or PASSIVE.search(m.group(0))
               or INTRANSITIVE.search(m.group(0)))
    if ANIMALS.match(who):
        return False  # "100 camels were killed"
    if subject is not None and not passive and OBJECT.match(sentence, m.end()):
        return False  # "two gunmen shot and killed a man": the subject killed
    singular = raw in ("a", "an", "the")
    if singular and subject is not None and not head.strip():
        return False  # "the dead were taken to the morgue": no one in particular
    # "a member of the National Defense Forces" is one person, however long.
    if singular and (plural and raw == "the" or not passive
                     or len(head.split(" of ")[0].split()) > (2 if others else 4)):
        return False  # "the people were killed" is not one person
    singles = [_single(part) for part in others]
    if None in singles or singular and 0 in singles:
        return False  # "a man and his sons": how many is not said
    value += sum(max(0, one) for one in singles)
    if group == "n3":  # "killed a policeman and a civilian": the object runs on
        value += _tail(sentence, n_end)
    rest = m.group(0)[n_end - m.start():]
    # "five, including two boys" is a part; "between 6 and 9" a range.
    if "including" not in rest and not m.group(0).startswith("between"):
        value += sum(number(x) or 0 for x in AND_NUMBER.findall(rest))
    before = sentence[max(0, m.start() - 12):n_end + 6]
    # "6 fighters were killed by fire and 3 were killed by IEDs": a bare count
    # after another one adds to it.
    bare = bool(found) and subject is not None and not subject.strip()
    if n_start not in found:
        more = bare or bool(MORE.search(before) or ALSO.search(before)
                            or ALSO.search(m.group(0)))
        found[n_start] = _Count(value, n_start, more, _group(who), _side(who))
    return True


def _counts(sentence: str, kind: str, flags: list[str],
            background: Span | None) -> list[_Count]:
    found: dict[int, _Count] = {}
    hits = list(_KIND_TRIGGER[kind].finditer(sentence))
    if not hits:
        return []
    # A count sits at most ~12 words before its verb or ~6 after it: scanning that
    # window, not the whole sentence, keeps the patterns' lazy gaps cheap.
    low, high = max(0, hits[0].start() - 120), hits[-1].end() + 60
    # Every match lies in sentence[low:high]: without "including" there, no match
    # can be of the "including" alternative, so the patterns without it do.
    patterns = (PATTERNS if sentence.find("including", low, high) >= 0
                else PATTERNS_WITHOUT_INCLUDING)[kind]
    for pattern in patterns:
        pos = low
        while (m := pattern.search(sentence, pos, high)) is not None:
            # A match that is no count ("the first raid, and two more") must not hide
            # the count inside it: retry from the next word, not from its end.
            if not _take(m, sentence, kind, flags, found):
                pos = m.start(_n_group(m)) + 1
            else:
                pos = m.end()
    if kind == "killed" and not found:
        for m in SINGULAR_DEATH.finditer(sentence):
            found[m.start()] = _Count(1, m.start(), False, _group(m.group(0)))
    return own(sorted(found.values(), key=lambda c: c.start), sentence, background)


def _combine(counts: list[_Count], added: bool = False) -> tuple[int, dict[str, int]]:
    """One sentence: add up when it says "more"/"another", else keep the largest."""
    if added or any(c.more for c in counts[1:]):
        total, groups = sum(c.value for c in counts), {}
        for c in counts:
            if c.group:
                groups[c.group] = groups.get(c.group, 0) + c.value
        return total, groups
    best = max(counts, key=lambda c: c.value)
    return best.value, ({best.group: best.value} if best.group else {})


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.sub("\\1\x00", text).split("\x00") if s]


def _has_trigger(text: str) -> bool:
    """TRIGGER.search(text) is not None, by substring tests: faster on long text, as
    fast on short (a plain loop: a generator in any() costs more than the tests)."""
    for word in TRIGGER_WORDS:
        if word in text:
            return True
    return False


def trigger_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that hold a casualty word (TRIGGER), in order: the
    same strings sentences() cuts, without cutting the others.

    Most sentences hold no casualty word. Instead of building every sentence and
    searching each, the sentence ends are listed (finditer: no replacement template,
    which sub() expands in Python for every match) and TRIGGER is searched in the
    whole text, from one sentence with a hit to the next. A hit never crosses a
    sentence end: TRIGGER's words are letters and spaces, and an end starts with
    punctuation or a line break (the kept punctuation is the sentence's last letter).
    """
    found = TRIGGER.search(text)
    if found is None:
        return []
    if "\x00" in text:  # sentences() splits at a NUL too: rare enough to take its way
        return [s for s in sentences(text) if TRIGGER.search(s)]
    # Sentence n is text[starts[n]:ends[n]]: it keeps the end's punctuation (group 1),
    # not the quotes and spaces after it; a line break is dropped.
    starts, ends = [0], []
    for end in SENTENCE.finditer(text):
        ends.append(end.start() + (end.group(1) is not None))
        starts.append(end.end())
    ends.append(len(text))
    out = []
    while found is not None:
        n = bisect_right(ends, found.start())
        out.append(text[starts[n]:ends[n]])
        if n + 1 == len(starts):
            break
        found = TRIGGER.search(text, starts[n + 1])
    return out


def count_casualties(title: str, text: str) -> Casualties:
    """Killed / injured / missing stated in the article (None when not stated)."""
    result = Casualties()
    # Everything below runs on lower-cased text with case-sensitive patterns: 3x
    # faster than re.I in Python's engine, and no pattern needs the original case.
    title, text = title.lower(), text.lower()
    if not (_has_trigger(title) or _has_trigger(text)):
        return result  # most articles: no casualty word at all
    # WIRE neither makes nor breaks a casualty word: none holds a dash or a digit.
    title, text = WIRE.sub(" ", title), WIRE.sub(" ", text)
    sides: dict[str, set[str]] = {}
    background = False
    # Only sentences with a casualty word can hold a count (most text has none).
    for sentence in trigger_sentences(title) + trigger_sentences(text):
        if PAST_WAR.search(sentence) or CAUSE.search(sentence):
            continue
        span = background_span(sentence)
        background = background or background_death(sentence, span)
        for kind in ("killed", "injured", "missing"):
            counts = _counts(sentence, kind, result.flags, span)
            if not counts:
                continue
            total, groups = _combine(counts)
            earlier = getattr(result, kind)
            seen, new = sides.setdefault(kind, set()), {c.side for c in counts}
            if earlier is not None and all(c.more for c in counts):
                # "Local officials said 7 militants were also killed": more victims.
                total, groups = earlier + total, {}
            elif earlier is not None and ALTERNATIVE.search(sentence):
                continue  # "Other sources report 2", "the group claims 25": not the toll
            elif earlier is not None and seen and "" not in seen | new and not seen & new:
                # "2 soldiers were killed. ... killed 3 militants": other victims.
                total, groups = earlier + total, {}
            seen |= new
            if total > (earlier or -1):
                setattr(result, kind, total)
                for group, value in groups.items():
                    getattr(result, group)[kind] = value
    return _finish(result, background)


def _finish(result: Casualties, background: bool) -> Casualties:
    if result.killed is None and background:
        # Deaths named only as the cause of the protest or riot reported: none in it.
        result.killed = 0
        result.flags.append("background_killed")
    # A number stated anywhere wins over a vague amount elsewhere.
    result.flags = [f for f in result.flags
                    if not f.startswith("vague_") or getattr(result, f[6:]) is None]
    return result
