"""``cfwatch rules test``: explain one text, or classify many (JSONL) in one process."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from rules import ArticleResult, RuleSet


def add_commands(sub: Any) -> None:
    rules = sub.add_parser("rules", help="try the rules on text").add_subparsers(dest="rules_cmd", required=True)
    test = rules.add_parser("test", help="which rules fire on a text, and on which words")
    test.add_argument("file", nargs="?", help="text file (plain, or JSON with title/text); default stdin")
    test.add_argument("--title", help="title for a plain-text input")
    test.add_argument("--jsonl", metavar="FILE", help='classify {"id","title","text"} lines ("-" = stdin)')
    test.set_defaults(func=cmd_rules_test)


def _ruleset(args: argparse.Namespace) -> RuleSet:
    """Rules from the config when there is one, else the bundled pack."""
    from pipeline.app import load_rules
    from pipeline.cli import config_path
    from pipeline.config import Config, load_config

    path = config_path(args)
    config = load_config(path) if path.exists() or args.config else Config()
    return load_rules(config)


def cmd_rules_test(args: argparse.Namespace) -> int:
    from pipeline.cli import EXIT_OK, EXIT_USAGE

    ruleset = _ruleset(args)
    if args.jsonl:
        bad = classify_jsonl(ruleset, _open(args.jsonl), sys.stdout, sys.stderr)
        return EXIT_USAGE if bad else EXIT_OK
    title, text = _single_input(_open(args.file or "-").read(), args.title)
    result = ruleset.classify(title, text)
    print(explain(result, title, text))
    return EXIT_OK


def _open(name: str) -> TextIO:
    from pipeline.cli import UsageError

    if name == "-":
        return sys.stdin
    try:
        return Path(name).open(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


def _single_input(raw: str, title: str | None) -> tuple[str, str]:
    stripped = raw.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError:
            doc = None
        if isinstance(doc, dict):
            return str(doc.get("title") or ""), str(doc.get("text") or "")
    return title or "", raw


def classify_jsonl(ruleset: RuleSet, source: TextIO, out: TextIO, err: TextIO) -> int:
    """One result line per input line, same ``id``; returns the number of bad lines."""
    started, count, bad = time.perf_counter(), 0, 0
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            bad += 1
            err.write(f"cfwatch: {getattr(source, 'name', 'input')}:{number}: skipped: {exc}\n")
            continue
        result = ruleset.classify(str(doc.get("title") or ""), str(doc.get("text") or ""))
        out.write(json.dumps({"id": doc.get("id"), **result.to_record()}, ensure_ascii=False) + "\n")
        count += 1
    elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed > 0 else 0.0
    err.write(f"classified {count} texts in {elapsed:.2f} s ({rate:,.0f} texts/s); {bad} bad lines\n")
    return bad


def explain(result: ArticleResult, title: str, text: str) -> str:
    """Human-readable: categories, then each rule with the words it fired on in context."""
    if not result.matches:
        return "no rule fired"
    lines = [f"categories: {', '.join(result.categories)}   severity: {result.severity}"]
    fields = {"title": title, "text": text}
    for match in result.matches:
        lines.append(f"  {match.category:<20} {match.rule} ({match.severity}): {', '.join(match.text)}")
        for field, start, end in match.spans[:6]:
            lines.append(f"      {field}: {_context(fields[field], start, end)}")
    record = result.to_record()
    for key in ("places", "countries", "actors", "treaties", "claims", "agreements"):
        if record.get(key):
            lines.append(f"  {key}: {json.dumps(record[key], ensure_ascii=False)}")
    casualties = {k: v for k, v in (record.get("casualties") or {}).items() if v not in (None, [], {})}
    lines.append(f"  casualties: {json.dumps(casualties, ensure_ascii=False) if casualties else 'none stated'}")
    return "\n".join(lines)


def _context(source: str, start: int, end: int, width: int = 50) -> str:
    left = source[max(0, start - width):start].replace("\n", " ")
    right = source[end:end + width].replace("\n", " ")
    return f"…{left}[{source[start:end]}]{right}…"
