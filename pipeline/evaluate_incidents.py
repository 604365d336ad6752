"""Measure incident grouping on real headlines of one event from several outlets.

- ``ucdp_headline_pairs.csv``: is the pair the same event (1) or a different event in
  the same region within three days (0)? Pairwise precision, recall and F1 of the
  pipeline's own ``same_event`` decision.
- ``ucdp_headline_clusters.jsonl``: all headlines in date order through the same
  incident assignment the pipeline does; B-cubed precision, recall and F1 against the
  events they belong to.

The corpus is read in place and nothing from it is written anywhere.

    python -m pipeline.evaluate_incidents [CORPUS_DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.incidents import IncidentState, StoryFacts, absorb, facts_sets, open_incident, same_event
from rules import RuleSet, build_ruleset
from rules.packs import read_bundled

# The corpus dates headlines to the day, not the hour: two headlines a day apart may
# be minutes or 47 hours apart. The pipeline's default 12 h window is widened by the
# half day that each date leaves unknown, so day-granular times are judged fairly.
WINDOW = timedelta(hours=12) + timedelta(hours=12)
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@dataclass(frozen=True)
class Scores:
    name: str
    n: int
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def headline_facts(ruleset: RuleSet, story: int, outlet: str, headline: str, date: str) -> StoryFacts:
    """Facts of a headline as the pipeline would see it; the day's noon as its time."""
    result = ruleset.classify(headline, "").to_record()
    when = datetime.fromisoformat(date).replace(hour=12, tzinfo=timezone.utc)
    killed = (result.get("casualties") or {}).get("killed")
    return StoryFacts(story, outlet, headline, frozenset(result["categories"]), result["severity"] or "low", when,
                      places=facts_sets(result.get("places") or []),
                      countries=frozenset(str(c).upper() for c in result.get("countries") or []),
                      actors=facts_sets(result.get("actors") or []),
                      killed=killed if isinstance(killed, int) else None)


def pairwise(ruleset: RuleSet, path: Path) -> Scores:
    tp = fp = fn = n = 0
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            a = headline_facts(ruleset, 1, row["outlet_a"], row["headline_a"], row["date_a"])
            b = headline_facts(ruleset, 2, row["outlet_b"], row["headline_b"], row["date_b"])
            # Either may arrive first: the pipeline joins them if one order does.
            same = same_event(open_incident(a), b, WINDOW) or same_event(open_incident(b), a, WINDOW)
            gold = row["label_same_event"] == "1"
            tp, fp, fn, n = tp + (same and gold), fp + (same and not gold), fn + (gold and not same), n + 1
    return Scores("incident pairwise (ucdp_headline_pairs)", n, tp / max(tp + fp, 1), tp / max(tp + fn, 1))


def assign(facts: Sequence[StoryFacts]) -> list[int]:
    """Incident index per headline, by the pipeline's first-match assignment in time order."""
    incidents: list[IncidentState] = []
    labels = []
    for item in facts:
        found = next((i for i in range(len(incidents) - 1, -1, -1) if same_event(incidents[i], item, WINDOW)), None)
        if found is None:
            incidents.append(open_incident(item))
            found = len(incidents) - 1
        else:
            incidents[found] = absorb(incidents[found], item)
        labels.append(found)
    return labels


def bcubed(ruleset: RuleSet, path: Path) -> Scores:
    items, gold = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        for article in event["articles"]:
            items.append((article["date"], article["outlet"], article["headline"]))
            gold.append(event["event_id"])
    order = sorted(range(len(items)), key=lambda i: items[i][0])
    facts = [headline_facts(ruleset, n, items[i][1], items[i][2], items[i][0]) for n, i in enumerate(order)]
    predicted = dict(zip(order, assign(facts)))
    precision, recall = _bcubed(gold, [predicted[i] for i in range(len(items))])
    return Scores("incident B-cubed (ucdp_headline_clusters)", len(items), precision, recall)


def _bcubed(gold: Sequence[object], predicted: Sequence[int]) -> tuple[float, float]:
    by_gold, by_pred = defaultdict(set), defaultdict(set)
    for i, (g, p) in enumerate(zip(gold, predicted)):
        by_gold[g].add(i)
        by_pred[p].add(i)
    precision = sum(len(by_pred[p] & by_gold[g]) / len(by_pred[p]) for g, p in zip(gold, predicted))
    recall = sum(len(by_pred[p] & by_gold[g]) / len(by_gold[g]) for g, p in zip(gold, predicted))
    return precision / len(gold), recall / len(gold)


def evaluate(ruleset: RuleSet, corpus: Path) -> list[Scores]:
    out = []
    if (corpus / "ucdp_headline_pairs.csv").exists():
        out.append(pairwise(ruleset, corpus / "ucdp_headline_pairs.csv"))
    if (corpus / "ucdp_headline_clusters.jsonl").exists():
        out.append(bcubed(ruleset, corpus / "ucdp_headline_clusters.jsonl"))
    return out


def format_scores(scores: Sequence[Scores]) -> str:
    lines = ["| measure | n | precision | recall | F1 |", "|---|---:|---:|---:|---:|"]
    lines.extend(f"| {s.name} | {s.n} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |" for s in scores)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    scores = evaluate(build_ruleset([read_bundled("ceasefire")]), args.corpus)
    if not scores:
        print(f"no UCDP headline files in {args.corpus}")
        return 1
    print(format_scores(scores))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
