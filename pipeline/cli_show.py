"""Read-only views of the database: ``cfwatch alerts list`` and ``cfwatch status``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy import select

from pipeline import store
from pipeline.models import Feed
from pipeline.records import iso


def add_commands(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="alerts sent").add_subparsers(dest="alerts_cmd", required=True)
    listing = alerts.add_parser("list", help="newest alerts first")
    listing.add_argument("--json", action="store_true", help="one alert record per line (JSONL)")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=cmd_alerts_list)
    sub.add_parser("status", help="feed health and the delivery outbox").set_defaults(func=cmd_status)


def _sessions(args: argparse.Namespace) -> Any:
    from pipeline.app import open_database
    from pipeline.cli import load

    return open_database(load(args))


def cmd_alerts_list(args: argparse.Namespace) -> int:
    engine, sessions = _sessions(args)
    with sessions() as session:
        alerts = store.recent_alerts(session, args.limit)
        for alert in alerts:
            if args.json:
                print(json.dumps(alert.record, ensure_ascii=False, sort_keys=True))
            else:
                record = alert.record
                print(f"{alert.id:>6}  {iso(alert.created_at)}  {alert.event:<10} {alert.severity:<8} "
                      f"{','.join(record.get('categories') or [])}  {record.get('title', '')[:90]}")
    engine.dispose()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    engine, sessions = _sessions(args)
    with sessions() as session:
        print(f"{'feed':<24} {'polls':>6} {'items':>6} {'errors':>6}  {'last success':<21} last error")
        for feed in session.scalars(select(Feed).order_by(Feed.name)):
            print(f"{feed.name[:24]:<24} {feed.polls:>6} {feed.items_seen:>6} {feed.error_count:>6}  "
                  f"{iso(feed.last_success_at) or '-':<21} {(feed.last_error or '')[:60]}")
        counts = store.delivery_counts(session)
        print("\ndeliveries:")
        for (notifier, status), count in sorted(counts.items()):
            print(f"  {notifier:<20} {status:<8} {count}")
        if not counts:
            print("  none yet")
    engine.dispose()
    return 0
