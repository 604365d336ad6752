"""Optional check on the real evaluation corpus (skipped where ../shared is absent).

Only aggregate figures are asserted: no corpus text is copied here. The floors sit
below the current figures so that a regression fails while small tuning does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.evaluate import evaluate
from rules import build_ruleset
from rules.packs import read_bundled

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
EXAMPLE = CORPUS.parent / "examples" / "2022-09-13-armenia-azerbaijan-border.txt"


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS / "acled_events.csv").is_file(), reason=f"no corpus at {CORPUS}")
def test_bundled_pack_on_the_corpus() -> None:
    report = evaluate(build_ruleset([read_bundled("ceasefire")]), CORPUS)
    scores = {s.name: s for s in report.scores}
    assert scores["acled hostilities"].f1 >= 0.93
    assert scores["acled shelling"].f1 >= 0.88
    assert scores["sentences treaty_appeal"].precision >= 0.90
    assert scores["sentences treaty_appeal"].recall >= 0.80
    assert scores["sentences ceasefire_violation"].precision >= 0.85
    assert scores["sentences ceasefire_violation"].recall >= 0.85


@pytest.mark.corpus
@pytest.mark.skipif(not EXAMPLE.is_file(), reason=f"no seed example at {EXAMPLE}")
def test_seed_report_gets_shelling_violation_and_treaty_appeal() -> None:
    title, _, text = EXAMPLE.read_text(encoding="utf-8").partition("\n")
    result = build_ruleset([read_bundled("ceasefire")]).classify(title, text)
    assert {"shelling", "ceasefire_violation", "treaty_appeal"} <= set(result.categories)
