"""Which rules fire on one article, and in which sentences: the matcher's hot path.

Each field's normalized text is split at the sentence marks, and each sentence is
reduced to one integer, the OR of the masks of the phrases in it (rules/compiled.py).
Rules are then tested with integer operations on those masks; word positions are
worked out only for the sentences where a `near` rule might fire, and for the
spans of a match when somebody reads them (rules/spans.py).
"""

from __future__ import annotations

from functools import reduce
from operator import itemgetter, or_
from typing import NamedTuple

from rules.compiled import Compiled, Plan
from rules.normalize import SENTENCE_BREAK
from rules.schema import Rule

Unit = tuple[int, int]          # (field, sentence)
Hit = tuple[int, int, int]      # (mask, first word, last word); words counted in the sentence
NearHit = tuple[int, int, int, int]  # (field, sentence, first word, last word in the sentence)

_VALUE = itemgetter(1)


class Fired(NamedTuple):
    rule: Rule
    used: int           # the bits whose hits the match reports (`any` and `all`)
    units: list[Unit]   # sentences holding the hits the rule used, in order
    near: list[NearHit]  # the hits of the `near` pairs that satisfied it


class Article:
    """One article's normalized fields cut into sentences, with a mask per sentence.

    Word positions are located lazily, per sentence, and remembered: only `near`
    rules and the spans of matches need them.
    """

    __slots__ = ("fields", "pieces", "masks", "_compiled", "_located", "_bases")

    def __init__(self, compiled: Compiled, fields: tuple[str, str], norms: tuple[str, str]) -> None:
        self.fields = fields
        # Two fields, title and text: written out, not looped (this runs for every item).
        title, text = norms
        pieces = self.pieces = (title.split(SENTENCE_BREAK) if title else [],
                                text.split(SENTENCE_BREAK) if text else [])
        automaton, shift = compiled.automaton, compiled.layout.shift
        masks: tuple[list[int], ...] = ([], [])
        if automaton is not None:
            scan = automaton.iter
            # OR of the packed values, then the key sizes in the low bits shifted away.
            masks = ([reduce(or_, map(_VALUE, scan(piece)), 0) >> shift for piece in pieces[0]],
                     [reduce(or_, map(_VALUE, scan(piece)), 0) >> shift for piece in pieces[1]])
        self.masks = masks
        self._compiled = compiled
        self._located: dict[Unit, list[Hit]] = {}
        self._bases: dict[int, list[int]] = {}

    def located(self, field_no: int, sentence: int) -> list[Hit]:
        """Every hit in one sentence with its word numbers in the sentence."""
        found = self._located.get((field_no, sentence))
        if found is None:
            automaton, (shift, length_bits) = self._compiled.automaton, self._compiled.layout
            assert automaton is not None
            piece = self.pieces[field_no][sentence]
            count = piece.count
            lengths, words_of = (1 << length_bits) - 1, (1 << (shift - length_bits)) - 1
            found = []
            for end, value in automaton.iter(piece):  # the layout unpacked inline: per hit
                length, words = value & lengths, (value >> length_bits) & words_of
                # end - length + 1 is the space before the first word; the spaces up to
                # it number the words before it, plus one.
                first = count(" ", 0, end - length + 2) - 1
                found.append((value >> shift, first, first + words - 1))
            self._located[(field_no, sentence)] = found
        return found

    def base(self, field_no: int, sentence: int) -> int:
        """Words of the field before this sentence (sentence marks not counted, as in
        the original text)."""
        bases = self._bases.get(field_no)
        if bases is None:
            bases, total = [], 0
            for piece in self.pieces[field_no]:
                bases.append(total)
                total += len(piece.split())
            self._bases[field_no] = bases
        return bases[sentence]


def _pairs(hits: list[tuple[int, int, int, NearHit]], plan: Plan) -> list[NearHit] | None:
    """The hits of the pairs (a, b) within `within` words of each other in one field,
    either order; None if there are none. ``hits``: (mask, first, last, where)."""
    a_hits = [h for h in hits if h[0] & plan.near_a]
    b_hits = [h for h in hits if h[0] & plan.near_b]
    used: list[NearHit] = []
    within = plan.within
    for _, a_first, a_last, a_where in a_hits:
        for _, b_first, b_last, b_where in b_hits:
            # Gap in words: 1 = adjacent; <= 0 = overlapping, which is one phrase hit
            # twice, not two things near each other.
            if b_where[0] == a_where[0] and 1 <= max(b_first - a_last, a_first - b_last) <= within:
                used += (a_where, b_where)
    return used or None


def _near_in_sentence(article: Article, unit: Unit, plan: Plan) -> list[NearHit]:
    """_pairs for one sentence (the common case: most rules are sentence-scoped)."""
    near_a, near_b, within = plan.near_a, plan.near_b, plan.within
    hits = article.located(*unit)
    b_hits = [(first, last) for mask, first, last in hits if mask & near_b]
    used: list[NearHit] = []
    for mask, a_first, a_last in hits:
        if mask & near_a:
            for b_first, b_last in b_hits:
                if 1 <= max(b_first - a_last, a_first - b_last) <= within:
                    used += ((*unit, a_first, a_last), (*unit, b_first, b_last))
    return used


def _with_units(article: Article, units: list[Unit]) -> list[tuple[int, int, int, NearHit]]:
    """Hits of these sentences as (mask, first, last, where): word numbers in the field
    (pairs may cross sentences here), ``where`` with word numbers in the sentence."""
    out = []
    for f, s in units:
        base = article.base(f, s)
        out += [(mask, base + first, base + last, (f, s, first, last))
                for mask, first, last in article.located(f, s)]
    return out


def _in_sentences(plan: Plan, article: Article, nonzero: list[tuple[int, int, int]]) -> Fired | None:
    need, veto = plan.need, plan.veto
    units = [(f, s) for f, s, m in nonzero if m & need == need and not m & veto]
    near: list[NearHit] = []
    if units and plan.near_a:
        kept = []
        for unit in units:
            pairs = _near_in_sentence(article, unit, plan)
            if pairs:
                kept.append(unit)
                near += pairs
        units = kept
    return Fired(plan.rule, plan.used, units, near) if units else None


def _in_scope(plan: Plan, article: Article, nonzero: list[tuple[int, int, int]]) -> Fired | None:
    """scope any (both fields) or title/text: conditions anywhere in the scope."""
    scope = [(f, s, m) for f, s, m in nonzero if plan.field is None or f == plan.field]
    mask = reduce(or_, (m for _, _, m in scope), 0)
    if mask & plan.need != plan.need or mask & plan.veto:
        return None
    near: list[NearHit] = []
    if plan.near_a:
        candidates = [(f, s) for f, s, m in scope if m & (plan.near_a | plan.near_b)]
        pairs = _pairs(_with_units(article, candidates), plan)
        if pairs is None:
            return None
        near = pairs
    units = {(f, s) for f, s, m in scope if m & plan.used}
    units.update((f, sentence) for f, sentence, _, _ in near)
    return Fired(plan.rule, plan.used, sorted(units), near)


def fire(compiled: Compiled, article: Article) -> list[Fired]:
    """The rules that fire (entity conditions aside), in rule order."""
    nonzero = [(f, s, m) for f, masks in enumerate(article.masks)
               for s, m in enumerate(masks) if m]
    if not nonzero:
        return []
    present = reduce(or_, (m for _, _, m in nonzero))
    fired: list[Fired] = []
    for plan in compiled.plans:
        if present & plan.need != plan.need:
            continue  # most rules: a condition is missing from the whole article
        found = (_in_sentences if plan.sentence else _in_scope)(plan, article, nonzero)
        if found is not None:
            fired.append(found)
    return fired
