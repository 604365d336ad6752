"""Rule-pack validation: every mistake names file:line and the key path."""

from __future__ import annotations

import pytest

from rules import CATEGORIES, SEVERITIES, Rule, SourceError, build_ruleset, parse_pack

GOOD = """\
rules:
  - id: shelling-artillery
    category: shelling
    severity: high
    description: Artillery.
    any: [shell*, artillery, "rocket fire"]
    none: ["shell company"]
  - id: drones
    category: shelling
    severity: high
    all: [[drone*, uav], strike*]
    near: {a: [fire*], b: [town*], within: 6}
    scope: sentence
"""


def error_of(text: str, source: str = "ceasefire.yaml") -> str:
    with pytest.raises(SourceError) as info:
        parse_pack(text, source)
    return str(info.value)


def test_constants() -> None:
    assert CATEGORIES == ("shelling", "armed_clash", "casualties", "treaty_appeal",
                          "ceasefire_violation")
    assert SEVERITIES == ("low", "medium", "high", "critical")


def test_parses_a_good_pack() -> None:
    first, second = parse_pack(GOOD, "my.yaml")
    assert isinstance(first, Rule)
    assert (first.id, first.category, first.severity, first.scope) == (
        "shelling-artillery", "shelling", "high", "any")
    assert [(p.words, p.prefix) for p in first.any] == [
        (("shell",), True), (("artillery",), False), (("rocket", "fire"), False)]
    assert [[p.text for p in group] for group in second.all] == [["drone*", "uav"], ["strike*"]]
    assert second.near is not None and second.near.within == 6
    assert (second.source, second.line) == ("my.yaml", 8)


@pytest.mark.parametrize("bad, expected", [
    (GOOD.replace("category: shelling\n    severity: high\n    description",
                  "category: shellfire\n    severity: high\n    description"),
     "ceasefire.yaml:3: rules[0].category: 'shellfire' is not one of shelling, "),
    (GOOD.replace("  - id: drones\n", "  - \n"),
     "ceasefire.yaml:9: rules[1]: missing required key 'id'"),
    (GOOD.replace("within: 6", "within: 0"),
     "ceasefire.yaml:12: rules[1].near.within: must be a positive integer"),
    (GOOD.replace("within: 6", "within: yes"),
     "ceasefire.yaml:12: rules[1].near.within: must be a positive integer"),
    (GOOD.replace("within: 6", "within: '6'"),
     "ceasefire.yaml:12: rules[1].near.within: must be a positive integer"),
    (GOOD.replace("id: drones", "id: shelling-artillery"),
     "ceasefire.yaml:8: rules[1].id: duplicate rule id 'shelling-artillery' "
     "(first defined at ceasefire.yaml:2)"),
    (GOOD.replace("severity: high\n    all", "severity: urgent\n    all"),
     "ceasefire.yaml:10: rules[1].severity: 'urgent' is not one of low, medium, high, critical"),
    (GOOD.replace("scope: sentence", "scope: paragraph"),
     "ceasefire.yaml:13: rules[1].scope: 'paragraph' is not one of"),
    (GOOD.replace('"rocket fire"', '"rock*et"'),
     "ceasefire.yaml:6: rules[0].any[2]: 'rock*et': '*' is only allowed at the end"),
    (GOOD.replace('"rocket fire"', '"s*"'),
     "ceasefire.yaml:6: rules[0].any[2]: 's*': a wildcard needs at least 3 letters"),
    (GOOD.replace('"rocket fire"', '"--"'),
     "ceasefire.yaml:6: rules[0].any[2]: '--': has no letters or digits"),
    (GOOD.replace("none:", "nones:"),
     "ceasefire.yaml:7: rules[0].nones: unknown key"),
    ("# a comment\n\n" + GOOD, None),
    (GOOD.replace("all: [[drone*, uav], strike*]", "all: []"),
     "ceasefire.yaml:11: rules[1].all: must be a non-empty list of phrase lists"),
    (GOOD.replace("near: {a: [fire*], b: [town*], within: 6}", "near: {a: [fire*], within: 6}"),
     "ceasefire.yaml:12: rules[1].near: missing required key 'b'"),
    ("rules:\n  - {id: x, category: shelling, severity: high, none: [a]}\n",
     "ceasefire.yaml:2: rules[0]: needs at least one of any, all, near"),
    ("rules:\n  - {id: Bad Id, category: shelling, severity: high, any: [a]}\n",
     "ceasefire.yaml:2: rules[0].id: must be lower-case"),
    ("rules: {id: x}\n", "ceasefire.yaml:1: rules: must be a list of rules"),
    ("- a\n- b\n", "ceasefire.yaml:1: a rule pack must be a mapping with a 'rules' list"),
    ("rules:\n  - [unclosed\n", "ceasefire.yaml:3: invalid YAML"),
])
def test_bad_packs_name_line_and_key_path(bad: str, expected: str | None) -> None:
    if expected is None:
        parse_pack(bad, "ceasefire.yaml")  # comments and blank lines are fine
        return
    assert error_of(bad).startswith(expected)


def test_duplicate_ids_across_packs() -> None:
    other = "rules:\n  - {id: drones, category: shelling, severity: low, any: [uav]}\n"
    with pytest.raises(SourceError) as info:
        build_ruleset([(GOOD, "rules/packs/ceasefire.yaml"), (other, "local.yaml")])
    assert str(info.value) == ("local.yaml:2: rules[0].id: duplicate rule id 'drones' "
                               "(first defined at rules/packs/ceasefire.yaml:8)")


def test_build_ruleset_keeps_rule_order_across_packs() -> None:
    other = "rules:\n  - {id: extra, category: casualties, severity: low, any: [wounded]}\n"
    rs = build_ruleset([(GOOD, "a.yaml"), (other, "b.yaml")])
    assert [r.id for r in rs.rules] == ["shelling-artillery", "drones", "extra"]
    assert len(rs) == 3
