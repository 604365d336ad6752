"""Rules compiled to bit masks: one Aho-Corasick automaton for every phrase of every rule.

Each (rule, slot) pair gets one bit: the rule's `any` list, each of its `all`
groups, the two sides of its `near`, and its `none` list. The automaton's value for
a phrase is the OR of the bits of every slot that lists it, so the slots present in
a sentence are the OR of the values of its hits, computed in C
(``reduce(or_, map(...))``) with no Python work per hit. A rule fires in a sentence
when ``mask & need == need`` and ``not mask & veto``: one integer test instead of
grouping hits rule by rule. Word positions are only needed for `near` and for the
spans of the rules that fire: the low bits of each value hold the key's length and
word count for that (``Layout``); the OR of a sentence's values is shifted right past
them, so they never mix with the masks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import ahocorasick

from rules.schema import Phrase, Rule


class Plan(NamedTuple):
    """What one rule needs, as bit masks over the automaton's values."""

    rule_no: int
    rule: Rule
    need: int     # every bit must be present: `any`, each `all` group, near a and b
    used: int     # `any` and `all` bits: their hits are reported in the match
    veto: int     # the rule's `none` bit (0 without `none`)
    near_a: int   # 0 without `near`
    near_b: int
    within: int
    sentence: bool     # scope sentence: every condition inside one sentence
    field: int | None  # scope title (0) or text (1); None for any and sentence


class Layout(NamedTuple):
    """How a value packs a key: ``mask << shift | words << length_bits | length``
    (length in characters, to find a hit's start from its end; words, to find its last)."""

    shift: int        # bits below the mask
    length_bits: int  # bits of the length, below the word count


class Compiled(NamedTuple):
    plans: tuple[Plan, ...]
    automaton: ahocorasick.Automaton | None  # key -> packed value (see Layout)
    layout: Layout


def _slots(rule: Rule) -> Iterable[tuple[str, Iterable[Phrase]]]:
    if rule.any:
        yield "any", rule.any
    for group_no, group in enumerate(rule.all):
        yield f"all{group_no}", group
    if rule.near is not None:
        yield "near_a", rule.near.a
        yield "near_b", rule.near.b
    if rule.none:
        yield "none", rule.none


_FIELDS = {"title": 0, "text": 1}


def compile_rules(rules: list[Rule]) -> Compiled:
    masks: dict[str, int] = {}
    words: dict[str, int] = {}
    plans: list[Plan] = []
    bit = 1
    for rule_no, rule in enumerate(rules):
        bits: dict[str, int] = {}
        for slot, phrases in _slots(rule):
            bits[slot] = bit
            for phrase in phrases:
                masks[phrase.key] = masks.get(phrase.key, 0) | bit
                words[phrase.key] = len(phrase.words)
            bit <<= 1
        used = bits.get("any", 0)
        for group_no in range(len(rule.all)):
            used |= bits[f"all{group_no}"]
        near_a, near_b = bits.get("near_a", 0), bits.get("near_b", 0)
        plans.append(Plan(rule_no, rule, used | near_a | near_b, used, bits.get("none", 0),
                          near_a, near_b, rule.near.within if rule.near else 0,
                          rule.scope == "sentence", _FIELDS.get(rule.scope)))
    if not masks:  # pyahocorasick cannot search an empty automaton
        return Compiled((), None, Layout(0, 0))
    length_bits = max(len(key) for key in masks).bit_length()
    layout = Layout(length_bits + max(words.values()).bit_length(), length_bits)
    automaton = ahocorasick.Automaton()
    for key, mask in masks.items():
        automaton.add_word(key, mask << layout.shift | words[key] << length_bits | len(key))
    automaton.make_automaton()
    return Compiled(tuple(plans), automaton, layout)
