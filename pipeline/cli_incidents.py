"""Incident commands: ``silence add|list|remove`` and ``replay``."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pipeline import silences
from pipeline.durations import parse_duration
from pipeline.models import Alert, Silence
from pipeline.records import iso
from rules import CATEGORIES


def add_commands(sub: Any) -> None:
    silence = sub.add_parser("silence", help="mute alerts for a while (they are still stored)")
    actions = silence.add_subparsers(dest="silence_cmd", required=True)
    add = actions.add_parser("add", help="add a silence")
    add.add_argument("--category", action="append", choices=CATEGORIES, help="repeatable")
    add.add_argument("--country", action="append", help="ISO code, repeatable")
    add.add_argument("--place", action="append", help="place name, repeatable")
    add.add_argument("--for", dest="duration", required=True, help="how long, e.g. 6h")
    add.add_argument("--reason", required=True)
    add.set_defaults(func=cmd_silence_add)
    actions.add_parser("list", help="active silences").set_defaults(func=cmd_silence_list)
    remove = actions.add_parser("remove", help="end a silence now")
    remove.add_argument("id", type=int)
    remove.set_defaults(func=cmd_silence_remove)
    replay = sub.add_parser("replay", help="what the pipeline would alert on, without sending anything")
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument("--jsonl", metavar="FILE", help='articles {"id","title","text","url","published",'
                                                        '"outlet","feed"}; - for stdin')
    source.add_argument("--since", metavar="AGE", help="replay the archive, e.g. 7d")
    replay.add_argument("--out", metavar="FILE", help="write alert records here (default stdout)")
    replay.set_defaults(func=cmd_replay)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def cmd_silence_add(args: argparse.Namespace) -> int:
    from pipeline.cli import UsageError
    from pipeline.cli_show import _sessions

    try:
        until = _now() + parse_duration(args.duration)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    engine, sessions = _sessions(args)
    with sessions.begin() as session:
        row = silences.add(session, categories=args.category, countries=args.country, places=args.place,
                           until=until, reason=args.reason, now=_now())
        print(f"silence {row.id} until {iso(until)}")
    engine.dispose()
    return 0


def cmd_silence_list(args: argparse.Namespace) -> int:
    from pipeline.cli_show import _sessions

    engine, sessions = _sessions(args)
    with sessions() as session:
        rows = session.scalars(select(Silence).where(Silence.removed_at.is_(None), Silence.until > _now())
                               .order_by(Silence.id)).all()
        for row in rows:
            what = "; ".join(f"{k} {','.join(v)}" for k, v in (("categories", row.categories),
                                                               ("countries", row.countries),
                                                               ("places", row.places)) if v) or "everything"
            print(f"{row.id:>4}  until {iso(row.until)}  {what}  ({row.reason})")
        if not rows:
            print("no active silences")
    engine.dispose()
    return 0


def cmd_silence_remove(args: argparse.Namespace) -> int:
    from pipeline.cli_show import _sessions

    engine, sessions = _sessions(args)
    with sessions.begin() as session:
        done = silences.remove(session, args.id, _now())
    engine.dispose()
    print(f"silence {args.id} removed" if done else f"no active silence {args.id}", file=sys.stderr)
    return 0 if done else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from pipeline.app import load_rules, open_database
    from pipeline.cli import UsageError, load
    from pipeline.replay import ReplayInputError, compare, from_archive, read_jsonl, replay

    config = load(args)
    ruleset = load_rules(config)
    actual: list[dict[str, Any]] | None = None
    if args.jsonl:
        try:
            handle = sys.stdin if args.jsonl == "-" else Path(args.jsonl).open(encoding="utf-8")
            items = list(read_jsonl(handle, args.jsonl))
        except OSError as exc:
            raise UsageError(f"cannot read {args.jsonl}: {exc.strerror}") from None
        except ReplayInputError as exc:
            raise UsageError(str(exc)) from None
    else:
        try:
            since = _now() - parse_duration(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from None
        engine, sessions = open_database(config)
        with sessions() as session:
            items = from_archive(session, since)
            actual = [a.record for a in session.scalars(select(Alert).where(Alert.created_at >= since))]
        engine.dispose()
    records = replay(config, ruleset, items)
    _write(records, args.out)
    counts = Counter(r["event"] for r in records)
    print(f"replayed {len(items)} articles: {len(records)} alerts "
          f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none'})", file=sys.stderr)
    if actual is not None:
        added, removed = compare(records, actual)
        print(f"compared with the alerts sent in that time: +{added} / -{removed} new incidents", file=sys.stderr)
    return 0


def _write(records: list[dict[str, Any]], out: str | None) -> None:
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    if out:
        Path(out).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
