"""The phrases of casualty counts: number words, who the victims are, the verbs of
killing, wounding and going missing, and the compiled patterns that rules/casualties.py
runs. Patterns run on lower-cased text without re.I (three times faster in Python's
engine); none needs the original case."""

from __future__ import annotations

import re

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
            r"sustained|which|who|where|that|while|when|as|after|in|on|at|by|to|with|shot|"
            r"stabbed|beat|beaten|(?:\d+|"
            + "|".join(_UNITS[1:] + _TENS) + r")(?![-\s]year))")
# "5 FC personnel and 1 officer were killed": the "and N" parts are added up later.
_AND_N = rf"and\s+(?:\d+|{'|'.join(_UNITS[1:] + _TENS)})(?:\s*[-–]\s*\d+)?\s+"
_WHO = rf"(?:(?!{_NOT_WHO}\b)[\w'’-]+,?\s+|{_AND_N}){{0,10}}?"
_BE = r"(?:(?:(?:said|reported|believed|feared) to have|shot and|gunned down and|(?:attacked|ambushed|abducted|kidnapped|tortured|stabbed|beaten) and|found(?: \w+ and)?|were|was|have been|has been|had been|are|is|got|been|being|later|reportedly|also|allegedly|all)\s+)*"
KILL = (r"(?:killed|dead|died|slain|martyred|lost their lives|lost his life|lost her life|"
        r"embraced shahadat|perished|shot dead|gunned down|lynched|(?:shot|stabbed|beaten|burned|hacked) to death)")
HURT = (r"(?:injured|wounded|hurt|(?:sustained|sustaining|suffered|suffering|received) "
        r"(?:\w+ )?(?:injuries|wounds)|injuries)")
MISS = r"(?:missing|went missing|unaccounted for)"
# Not inside a word or a figure ("1,200", "5-7", "20/06", "forty-nine").
_LEAD = r"(?<![\w,.\-–/])"
# A number that labels rather than counts: "a form four student", "grade 7 pupils".
_LABEL = r"(?<!form )(?<!grade )(?<!class )(?<!standard )(?<!phase )(?<!stage )(?<!level )"
# "UPDATE 2-Thirteen Ukrainians dead": a wire prefix glued to the count.
# The dash comes first so that the engine can skip to dashes (a look-behind first is
# tried at every character: 10x slower).
WIRE = re.compile(r"[-–](?<=\d[-–])(?=[a-z])")

# "3 militants were killed or wounded", "killed, injured or captured": the split
# between dead and hurt is not said, so it is no count of either.
_UNSPLIT = r"(?![\s,/]*(?:(?:or|and)\s+)?(?:injur|wound|captur|arrest|kill))"
# The part after "including" never runs over another casualty word.
_PART = r"(?!(?:killed|dead|died|slain|martyred|wounded|injured|hurt|missing)\b)"


def _kind_patterns(verb: str, active: str, toll: str, noun: str, of: str,
                   including: bool = True) -> list[re.Pattern[str]]:
    """Two patterns per kind: counts written before their verb or noun, and counts
    written after a verb, toll or "death of". The alternatives of each share one
    scan of the sentence (three separate scans cost three times as much); at one
    position they are tried in the order written. ``including=False``: without the
    alternative that needs the word "including" (see PATTERNS_WITHOUT_INCLUDING)."""
    number_first = "|".join(p for p in (
        # "six civilians including two girls were wounded": six, not two
        rf"(?P<n0>{NUMBER})\s+(?P<who0>{_WHO})including\s+(?:{_PART}[\w'’-]+,?\s+){{1,8}}?{_BE}{verb}\b{_UNSPLIT}"
        if including else "",
        # "49 soldiers were killed", "at least 33 Turkish soldiers were martyred"
        rf"(?P<n1>{NUMBER}|{_VAGUE})(?:\s+(?:to|or|[-–])\s+{NUMBER}|(?<=\d)[-–]\d+)?\s+(?P<who1>{_WHO}){_BE}{verb}\b{_UNSPLIT}",
        # "8 fatalities", "nine deaths", "2 injuries"
        rf"(?P<n2>{NUMBER})\s+(?:(?:\w+\s+){{1,2}}?and\s+{NUMBER}\s+)?(?:\w+\s+)?{noun}\b",
    ) if p)
    verb_first = "|".join(p for p in (
        # "killed 32 people", "killing at least 11", "left 49 soldiers dead"
        rf"{active}\s+{_QUAL}(?:(?:a|an|the)\s+family\s+of\s+)?(?P<n3>{NUMBER}|{_VAGUE}|him|her|(?:his|their)(?=\s+\w+(?<!s)\b))\b(?!\s*(?:km|kilomet|mile|%|per ?cent))",
        # "the death toll rose to 33", "the number of victims is 49"
        rf"{toll}\s+(?:\w+\s+){{0,8}}?(?:to|of|at|is|was|reached|exceeded|stands at)\s+{_QUAL}(?!(?:a|an|the)\b)(?P<n4>{NUMBER})\b",
        # "the killing of 11 members", "the deaths of 3 soldiers"
        rf"{of}\s+{_QUAL}(?P<n5>{NUMBER})\b" if of else "",
    ) if p)
    return [re.compile(rf"{_LEAD}{_LABEL}{_QUAL}(?:{number_first})"), re.compile(rf"\b(?:{verb_first})")]


# (kind, verb, active verb, toll, noun, "death of") for _kind_patterns
_KINDS = (
    ("killed", KILL, r"(?:killed|killing|kills|kill|lynched|lynching|left|leaving|claimed|claiming|shot dead|"
                      r"shot and killed|gunned down|(?:bodies|body) of)",
     r"(?:death toll|toll|number of (?:the )?(?:victims|dead|martyrs|deaths))",
     r"(?:fatalities|fatality|deaths|dead|bodies)", r"(?:killing|killings|deaths|death) of"),
    ("injured", HURT, r"(?:injured|injuring|injures|wounded|wounding|wounds)",
     r"(?:number of (?:the )?(?:injured|wounded))", r"(?:injuries|injured|wounded)", ""),
    ("missing", MISS, r"(?:left)", r"(?:number of (?:the )?missing)", r"(?:missing)", ""),
)
PATTERNS: dict[str, list[re.Pattern[str]]] = {
    kind: _kind_patterns(verb, active, toll, noun, of) for kind, verb, active, toll, noun, of in _KINDS}
# The same without the "including" alternative (n0), for a sentence window that lacks
# the word: there n0 can never match, and trying it at every number ("the", "a", "one")
# costs a third of the scan. The other alternatives match exactly as in PATTERNS.
PATTERNS_WITHOUT_INCLUDING: dict[str, list[re.Pattern[str]]] = {
    kind: _kind_patterns(verb, active, toll, noun, of, including=False)
    for kind, verb, active, toll, noun, of in _KINDS}
N_GROUPS = ("n0", "n1", "n2", "n3", "n4", "n5")
WHO_GROUP = {"n0": "who0", "n1": "who1"}
SINGULAR_DEATH = re.compile(r"\b(?:death|killing) of (?:the|a|an) (?:\w+ ){0,2}?"
                             r"(?:soldier|serviceman|civilian|man|woman|boy|girl|officer|"
                             r"child|fighter|policeman|resident|farmer)\b")
# The pre-checks run on lower-cased text without re.I: case-insensitive alternations
# are several times slower in Python's engine (no literal-prefix scan).
# "died", not "die": "soldier" would pass every sentence that names one.
# Plain strings: whether a text holds any is a few substring tests (str.__contains__,
# in C), faster than the alternation; the pattern finds where.
TRIGGER_WORDS = ("kill", "dead", "died", "death", "slain", "martyr", "lost their li", "lost his li",
                 "lost her li", "shahadat", "perish", "fatalit", "bodies", "injur", "wound", "hurt",
                 "missing", "victims", "gunned", "body", "murder")
TRIGGER = re.compile("|".join(map(re.escape, TRIGGER_WORDS)))
PAST_WAR = re.compile(r"\b(?:\d+-day war|war (?:of|in) (?:19|20)\d\d|(?:19|20)\d\d war|"
                       r"(?:ended|began|erupted) in (?:\w+ )?(?:19|20)\d\d|during the (?:\w+ )?war|"
                       r"world war|since (?:19|20)\d\d|in the (?:19|20)\d0s|in retaliation for|"
                       r"to honou?r|in memory of|commemorat|anniversary of)")
CIVIL = re.compile(r"civilian|resident|villager|children|child|women|woman|farmer|"
                    r"shepherd|passer|people|family")
MILITARY = re.compile(r"soldier|serviceman|servicemen|troops|military|army|officer|"
                       r"personnel|fighters?\b|militants?|police|guards?\b|marines")
ALSO = re.compile(r"\b(?:also|more|other|another)\b")
# "a 48-year-old man died": these verbs need no passive for their subject to be the victim.
INTRANSITIVE = re.compile(r"\b(?:died|perished|lost (?:his|her|their) li(?:fe|ves)|"
                           r"succumbed)$|(?<!shot )\bdead$")
PASSIVE = re.compile(r"\b(?:was|were|been|is|are|got)\b")
MORE = re.compile(r"\b(?:more|another|other|further|others|while)\b")
# Deaths from disease are no casualties of violence.
CAUSE = re.compile(r"died (?:from|of) (?:the )?(?:covid|coronavirus|natural|illness|disease|"
                    r"cancer|heart)")
# A figure from another source or a party to the fight, after the event's own count.
ALTERNATIVE = re.compile(r"\b(?:claim(?:s|ed|ing)?|conflicting|other (?:sources?|reports?)|"
                          r"another (?:source|report)|alternative|contest(?:s|ed)?|unconfirmed|"
                          r"initial(?:ly)? report|reports? (?:that )?(?:\d|one|two|three|four|"
                          r"five|six|seven|eight|nine|ten))")
# Where sentences end: the punctuation is kept (group 1), closing quotes and the space
# go. Marked with sub() and split on the mark; the pattern starts with a character set
# so that the engine skips to candidates (a look-behind first is tried at every
# character: twice as slow).
SENTENCE = re.compile(r"[.!?;\n](?:(?<=([.!?;]))[\"'’”)]*\s+|(?<=\n)\n*)")



AND_NUMBER = re.compile(rf"\band\s+{_QUAL}((?:\d[\d,]*|(?:{'|'.join(_UNITS[1:] + _TENS)})"
                         rf"(?:[\s-](?:{'|'.join(_UNITS[1:10])}))?))\b")


CONJUNCTION = re.compile(r"\s(?:and|as well as|in addition to|along with)\s")
SINGLE = re.compile(r"(?:his|her|their|a|an|another|one|the)\s+(?:[\w'’-]+\s+){0,2}?"
                     r"(?P<noun>[\w'’-]+)\s*(?:,|$)")
NUMBERED = re.compile(rf"(?:{_QUAL}(?:\d|{'|'.join(_UNITS[1:] + _TENS)}))")
TAIL = re.compile(rf"\s+(?:(?!{_NOT_WHO}\b)[\w'’-]+\s+){{0,4}}?(?:and|as well as|in addition to)"
                   rf"\s+(?:(?P<one>his|her|their|a|an|another)|(?P<n>\d+|{'|'.join(_UNITS[1:])}))"
                   rf"\s+(?:(?:of\s+(?:his|her|their)\s+)?(?!{_NOT_WHO}\b)[\w'’-]+\s+){{0,2}}?"
                   rf"(?P<noun>[\w'’-]+)\b(?P<after>[^.;]{{0,30}})")
OTHER_HARM = re.compile(r"injur|wound|hurt|missing|arrest|captur|abduct|kidnap|detain")


ANIMALS = re.compile(r"\s*(?:\w+\s+)?(?:camels?|cattle|cows?|goats?|sheep|donkeys?|livestock|"
                      r"animals?|dogs?|horses?|chickens?|heads? of)\b")
OBJECT = re.compile(rf"\s+(?:a|an|the|his|her|their|him|them|\d+|{'|'.join(_UNITS[1:] + _TENS)})\b")


# A death that is the cause of a protest or riot, not one of its casualties: "residents
# protested after police shot dead a driver", "a vigil over the killing of a journalist",
# "rioters torched houses after a man was killed". The cause is the clause that starts
# at a cue word after the protest word and names a death or injury within a few words
# (no comma between); counts inside it are background unless the text says they fell
# during the action (BACKGROUND_BREAK between the cue and the count).
_HARM = (r"kill|dead|died|death|slain|murder|shot dead|bod(?:y|ies) of|injur|wound|hurt|"
         r"beat(?:en|ing)?\b")
# Words without which BACKGROUND cannot match: a literal alternation is scanned fast.
PROTEST_WORD = re.compile(r"protest|demonstrat|rall|march|vigil|sit-in|riot|mourn|torch|"
                          r"vandali|loot|block|beat")
BACKGROUND = re.compile(
    r"\b(?:protest|demonstrat|rall(?:y|ied|ies)\b|march(?:ed|es|ing)?\b|vigil|sit-in|riot|"
    r"mourn|torch|vandali[sz]|loot|block(?:ed|ing)\b|beat(?:en)? up)"
    r"[^;]*?\b(?P<cue>after|following|against|demanding|condemning|denouncing|"
    r"over(?= (?:the|a|an|his|her|their|its|this|that|alleged|reported|killings?|deaths?|"
    r"murders?)\b)|in response to|because of|justice for|(?:bod(?:y|ies)|coffins?|funeral|"
    r"memory|famil(?:y|ies)|relatives) of|(?<=protest )the|(?<=protested )the|"
    rf"(?<=protesting )the)\b(?=[^,;]{{0,100}}?\b(?:{_HARM}))")
HARM_WORD = re.compile(rf"\b(?:{_HARM})")
BACKGROUND_BREAK = re.compile(r"\b(?:during|clash\w*|opened fire|fired|dispers\w*|shot at|stormed|"
                              r"attacked|turned violent|when|while|as police|but)\b")
# A death named in the background part of a sentence (a count or not: "the deaths").
DEATH_WORD = re.compile(r"\b(?:kill|dead|died|death|slain|murder|shot dead|bod(?:y|ies) of\b)")
# "the fatalities", "the dead", "the bodies": the article is no count before a plural.
PLURAL_NOUN = re.compile(r"(?:fatalities|deaths|dead|bodies)$")
