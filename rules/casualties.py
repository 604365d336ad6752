"""Casualty counts: killed, injured, missing, from the sentences that state them.

Regular expressions over the original sentences that contain a casualty word (a
cheap pre-check keeps this off most text). A count is a number in digits or words
("forty-nine"), "at least N" / "more than N" / "some N" (N), a range (its lower
bound) or a singular ("a soldier was killed", "the death of the soldier": 1).
Vague amounts ("dozens", "scores") give no number but a flag. Background sentences
about past wars ("thousands were killed in a 44-day war ... that ended in 2020")
are skipped. Within a sentence, counts for different victims add up ("five were
killed ... one more was killed"); across sentences the largest is kept, since
reports repeat their toll.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
WORDS = {w: n for n, w in enumerate(_UNITS)} | {w: 20 + 10 * n for n, w in enumerate(_TENS)}
WORDS |= {"a": 1, "an": 1, "the": 1, "both": 2, "a dozen": 12, "dozen": 12}
VAGUE = ("dozens", "scores", "several", "hundreds", "thousands", "tens", "many", "some",
         "numerous", "a number of", "unknown number of", "an unknown number of", "few")
_WORD = "|".join(sorted((w for w in WORDS if " " not in w), key=len, reverse=True))
NUMBER = (rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+|(?:{'|'.join(_TENS)})[\s-](?:{'|'.join(_UNITS[1:10])})"
          rf"|a dozen|{_WORD})")
_VAGUE = "|".join(sorted(VAGUE, key=len, reverse=True))
_QUAL = r"(?:(?:at least|more than|over|some|nearly|almost|about|around|up to|as many as|between)\s+)?"
# "Armenian soldiers", "soldiers, including a general,": never across another casualty word
_NOT_WHO = (r"(?:killed|dead|died|martyred|slain|wounded|injured|hurt|missing|injuries|"
            r"sustained|which|who|where|that|while|when|as|after|in|on|at|by|from|to|with|shot|"
            r"stabbed|beat|beaten|\d+|"
            + "|".join(_UNITS[1:] + _TENS) + ")")
# "5 FC personnel and 1 officer were killed": the "and N" parts are added up later.
_AND_N = rf"and\s+(?:\d+|{'|'.join(_UNITS[1:] + _TENS)})\s+"
_WHO = rf"(?:(?!{_NOT_WHO}\b)[\w'’-]+,?\s+|{_AND_N}){{0,10}}?"
_BE = r"(?:(?:(?:said|reported|believed|feared) to have|shot and|gunned down and|were|was|have been|has been|had been|are|is|got|been|being|later|reportedly|also|allegedly|all)\s+)*"
KILL = (r"(?:killed|dead|died|slain|martyred|lost their lives|lost his life|lost her life|"
        r"embraced shahadat|perished|shot dead|gunned down|(?:shot|stabbed|beaten|burned|hacked) to death)")
HURT = (r"(?:injured|wounded|hurt|(?:sustained|sustaining|suffered|suffering|received) "
        r"(?:\w+ )?(?:injuries|wounds)|injuries)")
MISS = r"(?:missing|went missing|unaccounted for)"
_LEAD = r"(?<![\w,.])"

_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    kind: [re.compile(p, re.I) for p in (
        # "49 soldiers were killed", "at least 33 Turkish soldiers were martyred"
        # "six civilians including two girls were wounded": six, not two
        rf"{_LEAD}{_QUAL}(?P<n>{NUMBER})\s+(?P<who>{_WHO})including\s+(?:[\w'’-]+,?\s+){{1,8}}?{_BE}{verb}\b",
        rf"{_LEAD}{_QUAL}(?P<n>{NUMBER}|{_VAGUE})(?:\s+(?:to|or|-|–)\s+{NUMBER})?\s+(?P<who>{_WHO}){_BE}{verb}\b",
        # "killed 32 people", "killing at least 11", "left 49 soldiers dead"
        rf"\b{active}\s+{_QUAL}(?P<n>{NUMBER}|{_VAGUE})\b(?!\s*(?:km|kilomet|mile|%|per ?cent))",
        # "the death toll rose to 33", "the number of victims is 49"
        rf"\b{toll}\s+(?:\w+\s+){{0,3}}?(?:to|of|at|is|was|reached|exceeded|stands at)\s+{_QUAL}(?P<n>{NUMBER})\b",
        # "8 fatalities", "nine deaths", "2 injuries"
        rf"{_LEAD}{_QUAL}(?P<n>{NUMBER})\s+(?:\w+\s+)?{noun}\b",
        # "the killing of 11 members", "the deaths of 3 soldiers"
        rf"\b{of}\s+{_QUAL}(?P<n>{NUMBER})\b" if of else "",
    ) if p]
    for kind, verb, active, toll, noun, of in (
        ("killed", KILL, r"(?:killed|killing|kills|kill|left|leaving|claimed|claiming|shot dead|"
                          r"shot and killed|gunned down|(?:bodies|body) of)",
         r"(?:death toll|toll|number of (?:the )?(?:victims|dead|martyrs|deaths))",
         r"(?:fatalities|fatality|deaths|dead|bodies)", r"(?:killing|killings|deaths|death) of"),
        ("injured", HURT, r"(?:injured|injuring|injures|wounded|wounding|wounds)",
         r"(?:number of (?:the )?(?:injured|wounded))", r"(?:injuries|injured|wounded)", ""),
        ("missing", MISS, r"(?:left)", r"(?:number of (?:the )?missing)", r"(?:missing)", ""),
    )
}
_SINGULAR_DEATH = re.compile(r"\b(?:death|killing) of (?:the|a|an) (?:\w+ ){0,2}?"
                             r"(?:soldier|serviceman|civilian|man|woman|boy|girl|officer|"
                             r"child|fighter|policeman|resident|farmer)\b", re.I)
# The pre-checks run on lower-cased text without re.I: case-insensitive alternations
# are several times slower in Python's engine (no literal-prefix scan).
_TRIGGER = re.compile(r"kill|dead|die|death|slain|martyr|lost (?:their|his|her) li|shahadat|"
                      r"perish|fatalit|bodies|injur|wound|hurt|missing|victims|gunned|body")
_PAST_WAR = re.compile(r"\b(?:\d+-day war|war (?:of|in) (?:19|20)\d\d|(?:19|20)\d\d war|"
                       r"(?:ended|began|erupted) in (?:\w+ )?(?:19|20)\d\d|during the (?:\w+ )?war|"
                       r"world war|since (?:19|20)\d\d|in the (?:19|20)\d0s)")
_CIVIL = re.compile(r"civilian|resident|villager|children|child|women|woman|farmer|"
                    r"shepherd|passer|people|family", re.I)
_MILITARY = re.compile(r"soldier|serviceman|servicemen|troops|military|army|officer|"
                       r"personnel|fighters?\b|militants?|police|guards?\b|marines", re.I)
_ALSO = re.compile(r"\b(?:also|more|other|another)\b", re.I)
_PASSIVE = re.compile(r"\b(?:was|were|been|is|are|got)\b", re.I)
_MORE = re.compile(r"\b(?:more|another|other|further|others|while)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?;])[\"'’”)]*\s+|\n+")


def number(text: str) -> int | None:
    """'1,200' -> 1200, 'forty-nine' -> 49, 'a' -> 1, 'dozens' -> None."""
    text = text.lower().strip()
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


_AND_NUMBER = re.compile(rf"\band\s+{_QUAL}((?:\d[\d,]*|(?:{'|'.join(_UNITS[1:] + _TENS)})"
                         rf"(?:[\s-](?:{'|'.join(_UNITS[1:10])}))?))\b", re.I)


def _group(words: str) -> str:
    if _MILITARY.search(words):
        return "military"
    return "civilians" if _CIVIL.search(words) else ""


# Words without which a kind's patterns cannot match; also bound the search window.
_KIND_TRIGGER = {
    "killed": re.compile(r"kill|dead|died|death|slain|martyr|lives|life|shahadat|perish|"
                         r"fatalit|bodies|body|gunned|toll|victims"),
    "injured": re.compile(r"injur|wound|hurt"),
    "missing": re.compile(r"missing|unaccounted"),
}


def _take(m: re.Match[str], sentence: str, kind: str, flags: list[str],
          found: dict[int, _Count]) -> bool:
    """Record one pattern match as a count; False when it is not one."""
    raw = m.group("n")
    value = number(raw)
    # The words after the number say who: civilians or military.
    who = sentence[m.end("n"):max(m.end(), m.end("n") + 40)]
    if value is None:
        if raw.lower() in VAGUE and f"vague_{kind}" not in flags:
            flags.append(f"vague_{kind}")
        return False
    plural = re.search(r"s,?\s*$", m.groupdict().get("who") or "")
    # "a suicide bomber killed 32": a singular subject is the killer unless passive.
    passive = "who" not in m.groupdict() or _PASSIVE.search(m.group(0))
    words = (m.groupdict().get("who") or "").split()
    if raw.lower() in ("a", "an", "the") and (plural or not passive or len(words) > 3
                                              or "and" in words):
        return False  # "the people were killed" is not one person
    rest = m.group(0)[m.end("n") - m.start():]
    # "five, including two boys" is a part; "between 6 and 9" a range.
    if "including" not in rest and not m.group(0).lower().startswith("between"):
        value += sum(number(x) or 0 for x in _AND_NUMBER.findall(rest))
    before = sentence[max(0, m.start() - 12):m.end("n") + 6]
    # "6 fighters were killed by fire and 3 were killed by IEDs": a bare count
    # after another one adds to it.
    bare = bool(found) and "who" in m.groupdict() and not m.group("who").strip()
    if m.start("n") not in found:
        more = bare or bool(_MORE.search(before) or _ALSO.search(m.group(0)))
        found[m.start("n")] = _Count(value, m.start("n"), more, _group(who))
    return True


def _counts(sentence: str, kind: str, flags: list[str]) -> list[_Count]:
    found: dict[int, _Count] = {}
    hits = list(_KIND_TRIGGER[kind].finditer(sentence.lower()))
    if not hits:
        return []
    # A count sits at most ~12 words before its verb or ~6 after it: scanning that
    # window, not the whole sentence, keeps the patterns' lazy gaps cheap.
    low, high = max(0, hits[0].start() - 120), hits[-1].end() + 60
    for pattern in _PATTERNS[kind]:
        pos = low
        while (m := pattern.search(sentence, pos, high)) is not None:
            # A match that is no count ("the first raid, and two more") must not hide
            # the count inside it: retry from the next word, not from its end.
            pos = m.end() if _take(m, sentence, kind, flags, found) else m.start("n") + 1
    if kind == "killed" and not found:
        for m in _SINGULAR_DEATH.finditer(sentence):
            found[m.start()] = _Count(1, m.start(), False, _group(m.group(0)))
    return sorted(found.values(), key=lambda c: c.start)


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
    return [s for s in _SENTENCE.split(text) if s]


def count_casualties(title: str, text: str) -> Casualties:
    """Killed / injured / missing stated in the article (None when not stated)."""
    result = Casualties()
    if not (_TRIGGER.search(title.lower()) or _TRIGGER.search(text.lower())):
        return result
    for sentence in sentences(title) + sentences(text):
        lower = sentence.lower()
        if not _TRIGGER.search(lower) or _PAST_WAR.search(lower):
            continue
        for kind in ("killed", "injured", "missing"):
            counts = _counts(sentence, kind, result.flags)
            if not counts:
                continue
            total, groups = _combine(counts)
            earlier = getattr(result, kind)
            if earlier is not None and all(c.more for c in counts):
                # "Local officials said 7 militants were also killed": more victims.
                total, groups = earlier + total, {}
            if total > (earlier or -1):
                setattr(result, kind, total)
                for group, value in groups.items():
                    getattr(result, group)[kind] = value
    # A number stated anywhere wins over a vague amount elsewhere.
    result.flags = [f for f in result.flags if getattr(result, f.split("_", 1)[1]) is None]
    return result
