"""Read-only views of the database: ``cfwatch alerts list`` and ``cfwatch status``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from datetime import datetime, timezone

from sqlalchemy import func, or_, select

from pipeline import daemons, store
from pipeline.models import Delivery, Feed
from pipeline.records import iso


def add_commands(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="alerts sent").add_subparsers(dest="alerts_cmd", required=True)
    listing = alerts.add_parser("list", help="newest alerts first")
    listing.add_argument("--json", action="store_true", help="one alert record per line (JSONL)")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=cmd_alerts_list)
    sub.add_parser("status", help="feed health, daemons and their leases, the delivery outbox") \
        .set_defaults(func=cmd_status)


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
        _print_daemons(session, datetime.now(timezone.utc))
        counts = store.delivery_counts(session)
        print("\ndeliveries:")
        for (notifier, status), count in sorted(counts.items()):
            print(f"  {notifier:<20} {status:<8} {count}")
        if not counts:
            print("  none yet")
    engine.dispose()
    return 0


def _print_daemons(session: Any, now: datetime) -> None:
    """Each daemon of the last hour: heartbeat, the feeds it leases now, the sends it holds."""
    leased = dict(session.execute(select(Feed.lease_owner, func.count()).where(Feed.lease_until >= now)
                                  .group_by(Feed.lease_owner)).all())
    sending = dict(session.execute(select(Delivery.claimed_by, func.count()).where(Delivery.status == "sending")
                                   .group_by(Delivery.claimed_by)).all())
    live = daemons.alive(session, now)
    print(f"\n{'daemon':<34} {'role':<9} {'state':<7} {'beat age':>9} {'leases':>6} {'sending':>7}  started")
    rows = daemons.fleet(session, now)
    for row in rows:
        state = "running" if row.id in live else ("stopped" if row.stopped_at else "dead")
        age = f"{(now - row.heartbeat_at).total_seconds():.0f}s"  # since the last heartbeat
        print(f"{row.id[:34]:<34} {row.role:<9} {state:<7} {age:>9} {leased.get(row.id, 0):>6} "
              f"{sending.get(row.id, 0):>7}  {iso(row.started_at)}")
    if not rows:
        print("  none in the last hour")
    # Lag: how far behind schedule the due feeds are (all daemons together).
    overdue = [(now - due).total_seconds() for (due,) in session.execute(
        select(Feed.next_poll_at).where(Feed.next_poll_at < now, Feed.gone_url.is_(None),
                                        or_(Feed.lease_until.is_(None), Feed.lease_until < now)))]
    if overdue:
        overdue.sort()
        print(f"lag: {len(overdue)} feeds due and not yet polled, the oldest {overdue[-1]:.0f}s past due "
              f"(median {overdue[len(overdue) // 2]:.0f}s)")
    else:
        print("lag: no feed is past due")
