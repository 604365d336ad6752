"""Actors and claims: who reports, who is accused, who denies."""

from __future__ import annotations

import pytest

from rules import RuleSet, build_ruleset
from rules.packs import read_bundled


@pytest.fixture(scope="module")
def rs() -> RuleSet:
    return build_ruleset([read_bundled("ceasefire")])


def test_claim_accusation_and_denial(rs: RuleSet) -> None:
    text = ("Indian troops shelled two villages near the line overnight, said Pakistan's "
            "Defence Ministry. India's defence ministry denied the report.")
    result = rs.classify("", text)
    assert result.claims.claimed_by == ["Pakistan's Defence Ministry"]
    assert result.claims.accused == ["India"]
    assert result.claims.denied_by == ["India's defence ministry"]
    assert {a["name"] for a in result.actors} == {"India", "Pakistan"}


def test_according_to_and_accused_of(rs: RuleSet) -> None:
    text = ("Moldova accused Russian troops of firing on a checkpoint, according to "
            "Moldova's interior ministry.")
    result = rs.classify("", text)
    assert "Russia" in result.claims.accused
    assert result.claims.claimed_by == ["Moldova's interior ministry"]


def test_rejected_claims(rs: RuleSet) -> None:
    result = rs.classify("", "The Houthis rejected the claims of an attack on the port.")
    assert result.claims.denied_by == ["Houthis"]
    assert {"name": "Houthis", "country": "YE", "kind": "armed_group"} in result.actors


def test_titles_are_not_armed_parties(rs: RuleSet) -> None:
    result = rs.classify("", "The French President spoke with the German Chancellor.")
    assert result.actors == []


def test_organisations_and_acronyms(rs: RuleSet) -> None:
    result = rs.classify("", "RSF fighters attacked the town, the UN said. us officials were not there.")
    names = {a["name"] for a in result.actors}
    assert "Rapid Support Forces" in names
    assert "US" not in result.countries  # "us" in lower case is a pronoun
