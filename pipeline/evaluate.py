"""Measure a RuleSet on the labelled evaluation corpus (../shared/corpus).

The corpus may not be redistributed: it is read from its folder at run time and
nothing from it is written anywhere. Worst misses / false positives are returned in
the report for printing to a terminal only.

    python -m pipeline.evaluate [CORPUS_DIR] [--examples N] [--bench]

Label mapping (corpus/README.md):

- acled_events.csv, one row per ``dup_group``, classified as title="", text=notes.
  shelling: gold = sub_event_type Shelling/artillery/missile attack or Air/drone strike;
  hostilities: predicted shelling or armed_clash, gold = event_type Battles or
  Explosions/Remote violence; armed_clash: gold = sub_event_type Armed clash.
  For these three the negatives are only Protests, Riots and Strategic developments
  rows (other violence, e.g. attacks on civilians, is neither counted for nor against).
  casualties: gold = the note says how many people were killed, a singular ("a man
  was killed", "the victim died", "1 fatality") counting as one (KILLED_COUNT_RE);
  notes that only state people injured are left out (our category also covers
  injuries, the gold does not), as are notes with coded or vague counts ("coded as",
  "unknown number", "a number of").
- real_sentences.jsonl: treaty_appeal vs negative_treaty, ceasefire_violation vs
  negative_ceasefire, and shelling recall on the ``shelling`` label.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import evaluate_incidents
from rules import RuleSet, build_ruleset
from rules.gazetteer import name_key
from rules.packs import read_bundled

SHELLING_SUB = {"Shelling/artillery/missile attack", "Air/drone strike"}
HOSTILE_EVENTS = {"Battles", "Explosions/Remote violence"}
NEGATIVE_EVENTS = {"Protests", "Riots", "Strategic developments"}

_NUM = (r"(?:\d[\d,]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
        r"|dozens?|scores|several|a|an|the|his|her|their|at least \d+)")
# "3 soldiers were killed", "killing 2", "1 fatality", "a civilian died", "killing the
# driver": the note says how many people were killed (a singular counts as one).
KILLED_COUNT_RE = re.compile(
    rf"\b{_NUM}\b(?:[\s-]+[\w()'-]+){{0,6}}?[\s-]+"
    rf"(?:(?:was|were|are|been|being|later|reportedly|allegedly|shot|and)\s+)*"
    rf"(?:killed|dead|died|slain|fatality|fatalities|deaths|bodies|body)\b"
    rf"|\b(?:kill(?:ed|ing|s)|shot dead)\s+(?:at least\s+|between\s+)?"
    rf"(?:{_NUM}|him|her|them)\b",
    re.IGNORECASE)
# Notes whose count is coded or vague are left out of the measure.
_HEDGED_RE = re.compile(r"coded as|unknown number|a number of|unclear|no fatalit|"
                        r"no casualt|nor fatalit|split", re.IGNORECASE)
_INJURED_RE = re.compile(r"\b(?:injur|wound)", re.IGNORECASE)


@dataclass
class Score:
    """Counts for one measure, with a few example ids/texts of each error kind."""

    name: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    def add(self, gold: bool, predicted: bool, label: str) -> None:
        if gold and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
            self.false_positives.append(label)
        elif gold:
            self.fn += 1
            self.misses.append(label)
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Exact:
    """Share of items where an extracted value equals the gold (counts, places)."""

    name: str
    n: int = 0
    ok: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, correct: bool, label: str) -> None:
        self.n += 1
        self.ok += correct
        if not correct:
            self.misses.append(label)

    @property
    def accuracy(self) -> float:
        return self.ok / self.n if self.n else 0.0


@dataclass
class EvalReport:
    scores: list[Score] = field(default_factory=list)
    exact: list[Exact] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a corpus file was not used
    incidents: list[Any] = field(default_factory=list)  # pipeline.evaluate_incidents.Scores


def _snippet(row_id: str, text: str, width: int = 220) -> str:
    flat = " ".join(text.split())
    return f"{row_id}: {flat[:width]}{'...' if len(flat) > width else ''}"


def _acled_rows(path: Path) -> Iterable[dict[str, str]]:
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["dup_group"] not in seen:
                seen.add(row["dup_group"])
                yield row


def states_killed_count(note: str) -> bool | None:
    """Gold for casualties: True/False, or None when the note is left out."""
    if KILLED_COUNT_RE.search(note) and not _HEDGED_RE.search(note):
        return True
    if _INJURED_RE.search(note) or _HEDGED_RE.search(note):
        return None
    return False


def _place_names(ruleset: RuleSet, location: str) -> set[str]:
    """Every canonical name the gazetteer gives ``location`` ("Kiev" -> "Kyiv")."""
    gaz = ruleset.gazetteer
    # ACLED writes a district as "City-District" and a feature as "Name (Region)":
    # finding the city, or the name, places the event.
    head = re.split(r"\s*\(|-(?=[A-Z])", location)[0].strip()
    names = {location.lower(), head.lower()}
    for name in (location, head):
        key = name_key(name)
        names |= {e.name.lower() for e in gaz.curated.get(key, ())}
        names |= {gaz.name(row).lower() for row in gaz.place_rows(key)}
    return names


def evaluate_acled(ruleset: RuleSet, path: Path) -> tuple[list[Score], list[Exact]]:
    shelling, hostile = Score("acled shelling"), Score("acled hostilities")
    clash, casualties = Score("acled armed_clash"), Score("acled casualties")
    places, killed = Exact("acled place recall (location in places)"), Exact("acled killed exact")
    for row in _acled_rows(path):
        note, event, sub = row["notes"], row["event_type"], row["sub_event_type"]
        result = ruleset.classify("", note)
        cats = set(result.categories)
        label = _snippet(f"{row['event_id_cnty']} [{sub}]", note)
        if row["location"] and re.search(rf"\b{re.escape(row['location'])}\b", note):
            found = {p["name"].lower() for p in result.places}
            places.add(bool(found & _place_names(ruleset, row["location"])),
                       f"{row['location']} not in {sorted(found)}: {label}")
        if states_killed_count(note) and row["fatalities"].strip():
            gold = int(row["fatalities"])
            got = result.casualties.killed
            killed.add(got == gold, f"gold {gold}, got {got}: {label}")
        if event in HOSTILE_EVENTS or event in NEGATIVE_EVENTS:
            hostile.add(event in HOSTILE_EVENTS, bool(cats & {"shelling", "armed_clash"}),
                        label)
        if sub in SHELLING_SUB or event in NEGATIVE_EVENTS:
            shelling.add(sub in SHELLING_SUB, "shelling" in cats, label)
        if sub == "Armed clash" or event in NEGATIVE_EVENTS:
            clash.add(sub == "Armed clash", "armed_clash" in cats, label)
        gold = states_killed_count(note)
        if gold is not None:
            casualties.add(gold, "casualties" in cats, label)
    return [hostile, shelling, clash, casualties], [places, killed]


def evaluate_sentences(ruleset: RuleSet, path: Path) -> tuple[list[Score], list[Exact]]:
    treaty, ceasefire = Score("sentences treaty_appeal"), Score("sentences ceasefire_violation")
    shelling = Score("sentences shelling (recall)")
    counts = {kind: Exact(f"sentences {kind} exact") for kind in ("killed", "injured")}
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    for no, row in enumerate(rows, 1):
        label, text = row["label"], row["text"]
        result = ruleset.classify("", text)
        cats = set(result.categories)
        shown = _snippet(f"line {no} [{label}]", text)
        for kind, exact in counts.items():
            if row.get(kind) is not None:
                got = getattr(result.casualties, kind)
                exact.add(got == row[kind], f"gold {row[kind]}, got {got}: {shown}")
        if label in ("treaty_appeal", "negative_treaty"):
            treaty.add(label == "treaty_appeal", "treaty_appeal" in cats, shown)
        if label in ("ceasefire_violation", "negative_ceasefire"):
            ceasefire.add(label == "ceasefire_violation", "ceasefire_violation" in cats, shown)
        if label == "shelling":
            shelling.add(True, "shelling" in cats, shown)
    return [treaty, ceasefire, shelling], list(counts.values())


_SOURCES: list[tuple[str, Callable[[RuleSet, Path], tuple[list[Score], list[Exact]]]]] = [
    ("acled_events.csv", evaluate_acled),
    ("real_sentences.jsonl", evaluate_sentences),
]


def evaluate(ruleset: RuleSet, corpus_dir: Path) -> EvalReport:
    """Run every measure whose corpus file exists; note the ones skipped."""
    report = EvalReport()
    for name, measure in _SOURCES:
        path = Path(corpus_dir) / name
        if not path.is_file():
            report.skipped.append(f"{name}: not found in {corpus_dir}, skipped")
            continue
        scores, exact = measure(ruleset, path)
        report.scores += scores
        report.exact += exact
    report.incidents = evaluate_incidents.evaluate(ruleset, Path(corpus_dir))
    return report


def format_report(report: EvalReport) -> str:
    """A markdown table of the measures, then the skipped files."""
    lines = ["| measure | n | TP | FP | FN | precision | recall | F1 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in report.scores:
        n = s.tp + s.fp + s.fn + s.tn
        lines.append(f"| {s.name} | {n} | {s.tp} | {s.fp} | {s.fn} | "
                     f"{s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |")
    if report.exact:
        lines += ["", "| extraction | n | correct | accuracy |", "|---|---:|---:|---:|"]
        lines += [f"| {e.name} | {e.n} | {e.ok} | {e.accuracy:.3f} |" for e in report.exact]
    if report.incidents:
        lines += ["", evaluate_incidents.format_scores(report.incidents)]
    lines += [f"\n_{message}_" for message in report.skipped]
    return "\n".join(lines)


def format_examples(report: EvalReport, count: int) -> str:
    """Misses and false positives per measure: for the terminal, never for files."""
    out: list[str] = []
    for s in report.scores:
        for kind, items in (("misses", s.misses), ("false positives", s.false_positives)):
            if items:
                out.append(f"\n## {s.name}: {kind} ({len(items)})")
                out += [f"- {item}" for item in items[:count]]
    for e in report.exact:
        if e.misses:
            out.append(f"\n## {e.name}: wrong ({len(e.misses)})")
            out += [f"- {item}" for item in e.misses[:count]]
    return "\n".join(out)


def bench(ruleset: RuleSet, corpus_dir: Path, seconds: float = 3.0,
          plain: bool = False) -> tuple[float, int]:
    """items/s of classify() on feed-sized items built from ACLED notes.

    An item is a ~100-char title (the start of one note) and a summary of whole
    notes joined until it reaches ~600 chars: ~700 chars in all, like a feed entry.
    ACLED notes are all about violence, so this is a dense (slow) case.
    """
    notes = [row["notes"] for row in _acled_rows(Path(corpus_dir) / "acled_events.csv")]
    items: list[tuple[str, str]] = []
    for i in range(len(notes)):
        summary, j = notes[i], i + 1
        while len(summary) < 600:
            summary, j = summary + " " + notes[j % len(notes)], j + 1
        items.append((notes[i - 1][:100], summary[:600]))
    run = ruleset.match if plain else ruleset.classify
    run("", "warm up: loads the gazetteer outside the timing")
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for title, text in items:
            run(title, text)
        done += len(items)
    elapsed = time.perf_counter() - start
    chars = sum(len(t) + len(x) for t, x in items) // len(items)
    return done / elapsed, chars


_EVAL_HEADER = """# Evaluation results

Generated by `cfwatch eval --write docs/EVAL.md` (or `python -m pipeline.evaluate
--write docs/EVAL.md`) from the labelled corpus in `../shared/corpus`; only the figures
are kept here, never corpus text. See `pipeline/evaluate.py` for how each corpus
label maps to our categories, and docs/RULES.md for the rules.

- place recall: ACLED rows whose `location` is written in the note (as a whole
  word); a hit when a place found has the location's name, or the name the
  gazetteer gives it ("Kiev" -> "Kyiv"); for "City-District" and "Name (Region)"
  locations the city or the name counts.
- killed exact: ACLED rows whose note states how many were killed (as in the
  casualties measure) compared with the coded `fatalities`; real_sentences rows
  with a `killed`/`injured` label compared with it.

"""


def write_table(report: EvalReport, path: Path) -> None:
    """docs/EVAL.md: the header above and the figures; no corpus text."""
    path.write_text(_EVAL_HEADER + format_report(report) + "\n", encoding="utf-8")


def default_corpus() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "corpus"


def main(argv: list[str] | None = None) -> int:
    default = default_corpus()
    parser = argparse.ArgumentParser(description="Evaluate the bundled rule pack.")
    parser.add_argument("corpus", nargs="?", type=Path, default=default)
    parser.add_argument("--examples", type=int, default=0, help="show N errors per measure")
    parser.add_argument("--bench", action="store_true", help="also measure items/s")
    parser.add_argument("--write", type=Path, help="write the results table (docs/EVAL.md)")
    args = parser.parse_args(argv)
    ruleset = build_ruleset([read_bundled("ceasefire")])
    report = evaluate(ruleset, args.corpus)
    print(format_report(report))
    if args.write:
        write_table(report, args.write)
    if args.examples:
        print(format_examples(report, args.examples))
    if args.bench and (args.corpus / "acled_events.csv").is_file():
        rate, chars = bench(ruleset, args.corpus)
        plain, _ = bench(ruleset, args.corpus, plain=True)
        print(f"\nclassify() (rules + entities + counts + claims): {rate:,.0f} items/s on one "
              f"core; match() (phrase matcher alone): {plain:,.0f} items/s "
              f"(avg {chars} chars per item, {len(ruleset)} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
