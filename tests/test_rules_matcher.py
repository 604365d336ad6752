"""Matching semantics of the rules engine, on small packs written for the tests."""

from __future__ import annotations

import threading

import pytest

from rules import ArticleResult, Match, RuleSet, build_ruleset


def ruleset(yaml_rules: str) -> RuleSet:
    return build_ruleset([("rules:\n" + yaml_rules, "test.yaml")])


def fired(rs: RuleSet, text: str, title: str = "") -> list[str]:
    return [m.rule for m in rs.classify(title, text).matches]


WILDCARD = ruleset("""
  - {id: shell, category: shelling, severity: high, any: ["shell*"]}
  - {id: exact, category: armed_clash, severity: medium, any: [clash]}
""")


@pytest.mark.parametrize("text", ["Shelling resumed", "they shelled it", "two SHELLS",
                                  "a shell landed", "(shell)"])
def test_prefix_wildcard_matches_word_starts(text: str) -> None:
    assert fired(WILDCARD, text) == ["shell"]


@pytest.mark.parametrize("text", ["an eggshell", "seashells", "nutshell*"])
def test_prefix_wildcard_needs_a_word_boundary_before(text: str) -> None:
    assert fired(WILDCARD, text) == []


def test_plain_phrase_is_a_whole_word() -> None:
    assert fired(WILDCARD, "a clash at dawn") == ["exact"]
    assert fired(WILDCARD, "clashes at dawn") == []
    assert fired(WILDCARD, "a clashing tone") == []


def test_multi_word_phrase_across_spacing_case_and_punctuation() -> None:
    rs = ruleset("""
  - {id: ac, category: armed_clash, severity: medium, any: ["armed clash*"]}
  - {id: cf, category: ceasefire_violation, severity: high, any: ["cease-fire"]}
""")
    assert fired(rs, "ARMED   clashes erupted") == ["ac"]
    assert fired(rs, "armed\nclash") == ["ac"]  # hard-wrapped line
    assert fired(rs, "armed\nClash") == []  # a line break before a capital: new sentence
    assert fired(rs, "armed\n\nclash") == []  # a blank line: new paragraph
    assert fired(rs, "an armed, clash") == ["ac"]
    assert fired(rs, "they disarmed clashing groups") == []
    # Hyphens separate words on both sides: "cease-fire" == "cease fire".
    assert fired(rs, "the cease fire held") == ["cf"]
    assert fired(rs, "the Cease-Fire held") == ["cf"]
    assert fired(rs, "the ceasefire held") == []


def test_phrase_does_not_span_two_sentences() -> None:
    rs = ruleset("  - {id: ac, category: armed_clash, severity: medium, any: [armed clash]}")
    assert fired(rs, "They were armed. Clash followed.") == []
    assert fired(rs, "U.S. armed clash reported.") == ["ac"]


def test_all_needs_every_group_and_a_string_is_a_group_of_one() -> None:
    rs = ruleset("""
  - id: drone
    category: shelling
    severity: high
    all: [[drone*, uav], [strike*, attack*], "village"]
""")
    assert fired(rs, "A drone strike hit the village") == ["drone"]
    assert fired(rs, "A UAV attacked the village") == ["drone"]
    assert fired(rs, "A drone strike hit the town") == []
    assert fired(rs, "A drone flew over the village") == []


def test_none_vetoes_in_its_scope_only() -> None:
    rs = ruleset("""
  - {id: art, category: shelling, severity: high, any: [shell*], none: [shell company]}
  - id: sent
    category: shelling
    severity: high
    any: [shell*]
    none: [shell company]
    scope: sentence
""")
    assert fired(rs, "A shell company was fined.") == []
    # scope any: the veto covers the whole article; sentence: only its own sentence.
    text = "Shells hit the town. Separately, a shell company was fined."
    assert fired(rs, text) == ["sent"]


def test_near_either_order_within_words() -> None:
    rs = ruleset("""
  - id: towns
    category: shelling
    severity: high
    near: {a: [fire*], b: [town*, village*], within: 3}
""")
    assert fired(rs, "troops fired on the town") == ["towns"]          # gap 3
    assert fired(rs, "the village came under fire") == ["towns"]       # b before a
    assert fired(rs, "troops fired at people near the town") == []     # gap 5
    assert fired(rs, "fire in the title", title="no town here") == []  # other field


def test_scope_sentence_needs_all_conditions_in_one_sentence() -> None:
    rs = ruleset("""
  - id: cf
    category: ceasefire_violation
    severity: high
    all: [[violat*], [ceasefire, truce]]
    scope: sentence
""")
    assert fired(rs, "They violated the truce on Monday.") == ["cf"]
    assert fired(rs, "A truce was agreed. Rights groups said laws were violated.") == []
    result = build_ruleset([("rules:\n  - {id: cf, category: ceasefire_violation, "
                             "severity: high, all: [[violat*], [truce]]}", "t.yaml")])
    assert fired(result, "A truce was agreed. Laws were violated.") == ["cf"]


def test_scope_title_and_text() -> None:
    rs = ruleset("""
  - {id: t, category: shelling, severity: high, any: [shelling], scope: title}
  - {id: x, category: shelling, severity: high, any: [shelling], scope: text}
""")
    assert fired(rs, "body", title="Shelling reported") == ["t"]
    assert fired(rs, "Shelling reported", title="headline") == ["x"]
    assert fired(rs, "shelling", title="shelling") == ["t", "x"]


def test_spans_map_to_the_original_text_with_non_ascii() -> None:
    rs = ruleset("""
  - {id: s, category: shelling, severity: high, any: [shell*, "rocket fire"]}
  - {id: p, category: armed_clash, severity: medium, any: [xankandi, "İstanbul"]}
""")
    title = "“Heavy” shelling near Xankändi"
    text = "Über-night — ROCKET\u00a0 fire; then shells.\nİstanbul said: “shelled”."
    result = rs.classify(title, text)
    fields = {"title": title, "text": text}
    for match in result.matches:
        assert match.text == list(dict.fromkeys(
            fields[f][start:end] for f, start, end in match.spans))
    shelling, place = result.matches
    assert shelling.text == ["shelling", "ROCKET\u00a0 fire", "shells", "shelled"]
    assert shelling.spans[0] == ("title", 8, 16)
    assert place.text == ["Xankändi", "İstanbul"]


def test_text_is_deduplicated_in_order() -> None:
    rs = ruleset("  - {id: s, category: shelling, severity: high, any: [shell*]}")
    match = rs.classify("Shelling", "shelling and Shelling and shelled").matches[0]
    assert match.text == ["Shelling", "shelling", "shelled"]
    assert len(match.spans) == 4


def test_severity_is_the_highest_and_categories_follow_the_fixed_order() -> None:
    rs = ruleset("""
  - {id: z-cf, category: ceasefire_violation, severity: medium, any: [truce]}
  - {id: a-cl, category: armed_clash, severity: low, any: [clash]}
  - {id: m-sh, category: shelling, severity: critical, any: [mortar]}
  - {id: b-sh, category: shelling, severity: high, any: [artillery]}
""")
    result = rs.classify("", "A clash broke the truce; mortar and artillery fire.")
    assert [m.rule for m in result.matches] == ["z-cf", "a-cl", "m-sh", "b-sh"]  # rule order
    assert result.categories == ["shelling", "armed_clash", "ceasefire_violation"]
    assert result.severity == "critical"
    assert rs.classify("", "A clash.").severity == "low"
    assert rs.classify("", "Nothing here.").severity is None


def test_to_record_shape() -> None:
    rs = ruleset("  - {id: s, category: shelling, severity: high, any: [shell*]}")
    record = rs.classify("Shelling", "").to_record()
    assert record == {
        "categories": ["shelling"], "severity": "high",
        "matches": [{"rule": "s", "category": "shelling", "severity": "high",
                     "text": ["Shelling"]}],
        "places": [], "countries": [], "actors": [],
        "casualties": {"killed": None, "injured": None, "flags": []},
        "claims": {"claimed_by": [], "accused": [], "denied_by": []},
        "treaties": [], "agreements": [],
    }
    assert ArticleResult([]).to_record()["categories"] == []
    assert isinstance(rs.classify("Shelling", "").matches[0], Match)


def test_empty_and_missing_fields() -> None:
    rs = ruleset("  - {id: s, category: shelling, severity: high, any: [shell*]}")
    assert rs.classify("", "").matches == []
    assert build_ruleset([]).classify("shelling", "shelling").matches == []
    assert len(build_ruleset([])) == 0 and len(rs) == 1


def test_classify_from_threads_gives_the_same_results() -> None:
    rs = ruleset("""
  - {id: s, category: shelling, severity: high, any: [shell*], scope: sentence}
  - {id: c, category: armed_clash, severity: medium, near: {a: [fire*], b: [town], within: 2}}
""")
    texts = [f"Item {i}: shells fell. Troops fire at town {i}." for i in range(200)]
    expected = [rs.classify("", t).to_record() for t in texts]
    results: dict[int, list[dict[str, object]]] = {}

    def work(n: int) -> None:
        results[n] = [rs.classify("", t).to_record() for t in texts]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(found == expected for found in results.values())


def test_apostrophes_and_dashes_separate_words_on_both_sides() -> None:
    rs = ruleset("""
  - {id: poss, category: armed_clash, severity: low, any: ["armenia's army"]}
  - {id: cf, category: ceasefire_violation, severity: high, any: ["cease fire"]}
  - {id: under, category: shelling, severity: high, any: [snake]}
""")
    assert fired(rs, "Armenia\u2019s army said") == ["poss"]
    assert fired(rs, "the Cease\u2013Fire held") == ["cf"]
    assert fired(rs, "a snake_case name") == ["under"]


def test_match_defers_spans_but_gives_the_same_ones_as_classify() -> None:
    rs = ruleset("""
  - {id: s, category: shelling, severity: high, any: [shell*], scope: sentence}
  - {id: c, category: armed_clash, severity: medium, near: {a: [fire*], b: [town], within: 2}}
""")
    title, text = "Shelling near Goris", "Troops fire at town. Shells fell again.\n\nNo more."
    plain, full = rs.match(title, text).matches, rs.classify(title, text).matches
    assert [m.rule for m in plain] == ["s", "c"]
    assert [(m.spans, m.text) for m in plain] == [(m.spans, m.text) for m in full]
    assert plain[0].text == ["Shelling", "Shells"] and plain[1].text == ["fire", "town"]
    assert plain == full  # equality compares the spans and text too


def test_deferred_spans_read_from_threads_agree() -> None:
    rs = ruleset("  - {id: s, category: shelling, severity: high, any: [shell*, mortar]}")
    results = [rs.match("", f"Shells and mortar fire hit town {i}. More shelling.") for i in range(200)]
    seen: dict[int, list[object]] = {}

    def read(n: int) -> None:
        seen[n] = [(r.matches[0].spans, r.matches[0].text) for r in results]

    threads = [threading.Thread(target=read, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(found == seen[0] for found in seen.values())
    assert seen[0][0][1] == ["Shells", "mortar", "shelling"]


def test_near_in_scope_any_counts_words_across_sentences_not_the_break() -> None:
    rule = "near: {a: [fired], b: [town], within: 1}"
    anywhere = ruleset(f"  - {{id: n, category: shelling, severity: high, {rule}}}")
    by_sentence = ruleset(f"  - {{id: n, category: shelling, severity: high, scope: sentence, {rule}}}")
    text = "Troops fired. Town residents fled."
    assert fired(anywhere, text) == ["n"]  # adjacent words: the sentence break is no word
    assert fired(by_sentence, text) == []
    assert anywhere.classify("", text).matches[0].text == ["fired", "Town"]


def test_scope_text_vetoes_and_needs_all_groups_in_that_field() -> None:
    rs = ruleset("""
  - {id: t, category: shelling, severity: high, all: [[drone*], [strike*]], none: [exercise], scope: text}
""")
    assert fired(rs, "Drone strikes hit a depot.") == ["t"]
    assert fired(rs, "Strikes hit a depot.", title="Drone") == []  # the groups are in two fields
    assert fired(rs, "Drone strikes. It was an exercise.") == []   # the veto covers the field


def test_a_control_character_in_the_text_does_not_shift_the_spans() -> None:
    rs = ruleset("  - {id: s, category: shelling, severity: high, any: [shelling], scope: sentence}")
    text = "a\x01b then shelling"
    match = rs.classify("", text).matches[0]
    assert [text[start:end] for _, start, end in match.spans] == ["shelling"]
