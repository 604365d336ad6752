"""Delivery commands: ``notify test NAME``, ``routes test ALERT.json``, ``deliveries``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from notifiers import Message, NotifierError, build_notifier
from pipeline.decide import matching_routes, select_notifiers
from pipeline.models import Alert, Delivery
from pipeline.records import iso


def add_commands(sub: Any) -> None:
    notify = sub.add_parser("notify", help="notifier tools").add_subparsers(dest="notify_cmd", required=True)
    test = notify.add_parser("test", help="send a sample alert through one notifier, now, and say what happened")
    test.add_argument("name", help="notifier name from the config")
    test.set_defaults(func=cmd_notify_test)
    routes = sub.add_parser("routes", help="routing tools").add_subparsers(dest="routes_cmd", required=True)
    rtest = routes.add_parser("test", help="which notifiers an alert record would reach")
    rtest.add_argument("alert", help="alert record: JSON, or JSONL (first line); - for stdin")
    rtest.add_argument("--feed", help="the feed the alert came from (for feeds/tags conditions)")
    rtest.set_defaults(func=cmd_routes_test)
    deliveries = sub.add_parser("deliveries", help="the outbox: pending, failed and recent deliveries")
    deliveries.add_argument("--status", choices=["pending", "sending", "sent", "failed"])
    deliveries.add_argument("--limit", type=int, default=50)
    deliveries.set_defaults(func=cmd_deliveries)


def sample_record(now: datetime) -> dict[str, Any]:
    """An obviously-a-test alert in the shape of a real one."""
    return {
        "alert_id": 0, "incident_id": 0, "event": "new", "reason": "test",
        "categories": ["shelling", "ceasefire_violation"], "severity": "high",
        "title": "[test] ceasefire-watch test alert: shelling reported near Goris",
        "url": "https://example.org/ceasefire-watch/test", "published": iso(now), "created_at": iso(now),
        "places": [{"name": "Goris", "country": "AM", "lat": 39.5111, "lon": 46.3417}],
        "actors": [], "casualties": {"killed": None, "injured": None}, "treaties": [],
        "sources": [{"outlet": "ceasefire-watch", "url": "https://example.org/ceasefire-watch/test",
                     "title": "test alert"}],
        "matches": [{"rule": "test", "category": "shelling", "text": ["shelling"]}],
    }


def cmd_notify_test(args: argparse.Namespace) -> int:
    from pipeline.app import notifier_context
    from pipeline.cli import UsageError, load

    config = load(args)
    chosen = next((n for n in config.notifiers if n.name == args.name), None)
    if chosen is None:
        names = ", ".join(n.name for n in config.notifiers) or "none"
        raise UsageError(f"no notifier named '{args.name}' (configured: {names})")
    notifier = build_notifier(chosen, notifier_context(config))
    try:
        sent = notifier.send(Message(sample_record(datetime.now(timezone.utc)), delivery_id=0))
    except NotifierError as exc:
        kind = "retryable (would be retried)" if exc.retryable else "permanent (would not be retried)"
        print(f"{args.name} ({chosen.type}): FAILED, {kind}: {exc}", file=sys.stderr)
        return 1
    ref = f", message id {sent.ref}" if sent and sent.ref else ""
    print(f"{args.name} ({chosen.type}): sent{ref}")
    return 0


def cmd_routes_test(args: argparse.Namespace) -> int:
    from pipeline.cli import UsageError, load

    config = load(args)
    record = _read_record(args.alert, UsageError)
    feed = config.feed(args.feed) if args.feed else None
    if args.feed and feed is None:
        raise UsageError(f"no feed named '{args.feed}'")
    routes = [r.as_route() for r in config.routes]
    tags = feed.tags if feed else []
    names = [n.name for n in config.notifiers]
    chosen = select_notifiers(record, args.feed, tags, routes, names)
    if not routes:
        print("no routes configured: every notifier gets every alert")
    for index in matching_routes(record, args.feed, tags, routes):
        print(f"routes[{index}] matches -> {', '.join(routes[index].notify)}")
    print(f"notifiers: {', '.join(chosen) or 'none (this alert would reach no one)'}")
    return 0


def _read_record(name: str, error: type[Exception]) -> dict[str, Any]:
    try:
        raw = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {name}: {exc.strerror}") from None
    text = raw.strip()
    try:
        record = json.loads(text) if text.startswith("{") and "\n{" not in text else json.loads(text.splitlines()[0])
    except (ValueError, IndexError) as exc:
        raise error(f"{name}: not a JSON alert record ({exc})") from None
    if not isinstance(record, dict):
        raise error(f"{name}: not a JSON object")
    return record


def cmd_deliveries(args: argparse.Namespace) -> int:
    from pipeline.cli_show import _sessions

    engine, sessions = _sessions(args)
    query = (select(Delivery, Alert.record).join(Alert, Alert.id == Delivery.alert_id)
             .order_by(Delivery.id.desc()).limit(args.limit))
    if args.status:
        query = query.where(Delivery.status == args.status)
    with sessions() as session:
        print(f"{'id':>6} {'alert':>6} {'notifier':<16} {'status':<8} {'tries':>5}  {'next/sent':<21} error / title")
        for delivery, record in session.execute(query):
            when = iso(delivery.sent_at if delivery.status == "sent" else delivery.next_attempt_at)
            detail = delivery.last_error or (record or {}).get("title", "")
            print(f"{delivery.id:>6} {delivery.alert_id:>6} {delivery.notifier[:16]:<16} {delivery.status:<8} "
                  f"{delivery.attempts:>5}  {when or '-':<21} {str(detail)[:80]}")
    engine.dispose()
    return 0
