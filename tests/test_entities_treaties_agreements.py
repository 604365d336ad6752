"""Treaties named by appeals, agreements in force, and rule entity conditions."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from rules import SourceError, build_ruleset
from rules.agreements import Agreement, make_agreement
from rules.packs import read_bundled

PACK = read_bundled("ceasefire")


def treaty_ids(text: str) -> list[str]:
    return [t["id"] for t in build_ruleset([PACK]).classify("", text).treaties]


def test_treaty_named_by_the_appeal() -> None:
    text = ("Armenia's government decided to ask Russia for military assistance under the "
            "1997 mutual defence treaty between the two countries.")
    assert treaty_ids(text) == ["armenia-russia-1997"]
    assert treaty_ids("Estonia requested consultations under Article 4 of the NATO treaty.") == ["nato-art4"]
    assert treaty_ids("Latvia has invoked Article 5 of the NATO treaty after the attack.") == ["nato-art5"]


def test_no_treaty_without_an_appeal() -> None:
    assert treaty_ids("NATO leaders discussed Article 5 at the summit in Vilnius.") == []


AGREEMENT = {"name": "Border truce", "parties": ["AM", "AZ"], "since": "2020-11-10"}
TEXT = "Azerbaijani forces shelled Armenian positions near the village of Sotk."


def test_agreement_violation_without_the_word_ceasefire() -> None:
    rs = build_ruleset([PACK], agreements=[AGREEMENT])
    result = rs.classify("", TEXT)
    assert "ceasefire_violation" in result.categories
    assert result.agreements[0]["name"] == "Border truce"
    assert "AZ" in result.agreements[0]["reason"] and "AM" in result.agreements[0]["reason"]
    assert any(m.rule == "agreement.border-truce" for m in result.matches)


def test_agreement_in_force_by_date() -> None:
    ended = dict(AGREEMENT, until="2021-01-01")
    rs = build_ruleset([PACK], agreements=[ended])
    assert rs.classify("", TEXT, when=datetime(2020, 12, 1)).agreements
    assert not rs.classify("", TEXT, when=date(2022, 9, 13)).agreements
    assert not rs.classify("", TEXT).agreements  # unknown date: an ended agreement stays out
    assert not rs.classify("", TEXT, when=date(2019, 1, 1)).agreements


def test_agreement_needs_both_parties_and_its_area() -> None:
    rs = build_ruleset([PACK], agreements=[AGREEMENT])
    assert not rs.classify("", "Azerbaijani forces shelled a village.").agreements
    in_area = dict(AGREEMENT, area=["Tavush"])
    rs = build_ruleset([PACK], agreements=[in_area])
    assert not rs.classify("", TEXT).agreements
    assert rs.classify("", TEXT + " The shells fell in Tavush region.").agreements


def test_make_agreement_validates() -> None:
    assert make_agreement(AGREEMENT) == Agreement("Border truce", ("AM", "AZ"), date(2020, 11, 10))
    with pytest.raises(ValueError):
        make_agreement({"name": "x", "parties": ["AM"]})


def test_rule_entity_conditions() -> None:
    pack = ("rules:\n"
            "  - {id: caucasus, category: shelling, severity: high, any: [shell*],\n"
            "     countries_any: [AM, AZ]}\n"
            "  - {id: in-armenia, category: shelling, severity: high, any: [shell*],\n"
            "     places_in: [AM]}\n"
            "  - {id: houthi, category: shelling, severity: high, any: [shell*],\n"
            "     actors_any: [houthis]}\n")
    rs = build_ruleset([(pack, "t.yaml")])
    fired = lambda text: [m.rule for m in rs.classify("", text).matches]  # noqa: E731
    assert fired("Shelling hit Goris, in Armenia.") == ["caucasus", "in-armenia"]
    assert fired("Azerbaijani shelling was reported.") == ["caucasus"]
    assert fired("The Houthis shelled the port.") == ["houthi"]
    assert fired("Shelling was reported.") == []
    assert rs.match("", "Shelling hit Goris, in Armenia.").matches == []  # plain matcher


def test_rule_entity_conditions_are_validated() -> None:
    bad = "rules:\n  - {id: x, category: shelling, severity: high, any: [a], countries_any: [arm]}\n"
    with pytest.raises(SourceError, match=r"rules\[0\]\.countries_any\[0\]"):
        build_ruleset([(bad, "t.yaml")])
