"""``cfwatch feeds``: the health of every configured feed, one row each.

State is ``ok``, ``failing`` / ``silent`` (an operator alert is open), ``gone``
(410: disabled until the config URL changes), ``erroring`` (errors below
``max_failures``) or ``off`` (``enabled: false``). Items per day count the new
articles of the last seven days.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from pipeline.config import Config, FeedConfig
from pipeline.models import Article, Feed
from pipeline.records import iso

WINDOW = timedelta(days=7)


def add_commands(sub: Any) -> None:
    sub.add_parser("feeds", help="feed health: state, errors in a row, last success, items per day"
                   ).set_defaults(func=cmd_feeds)


def feed_state(cfg: FeedConfig, row: Feed | None) -> str:
    if not cfg.enabled:
        return "off"
    if row is None:
        return "new"
    if row.gone_url == cfg.url:
        return "gone"
    if row.alert_state:
        return row.alert_state
    return "erroring" if row.error_count else "ok"


def stored_feeds(session: Any, now: datetime) -> tuple[dict[str, Feed], dict[int, int]]:
    """Feed rows by name, and new articles per feed id over the last ``WINDOW``."""
    stored = {f.name: f for f in session.scalars(select(Feed))}
    counts = dict(session.execute(select(Article.feed_id, func.count()).where(Article.fetched_at >= now - WINDOW)
                                  .group_by(Article.feed_id)).all())
    return stored, counts


def rows(config: Config, session: Any, now: datetime) -> list[dict[str, Any]]:
    """One dict per configured feed (pure apart from the two queries)."""
    stored, counts = stored_feeds(session, now)
    out = []
    for cfg in config.feeds:
        row = stored.get(cfg.name)
        moved = row.moved_url if row is not None and row.moved_from == cfg.url else None
        out.append({
            "feed": cfg.name, "state": feed_state(cfg, row), "errors": row.error_count if row else 0,
            "last_success": iso(row.last_success_at) if row else None,
            "last_error": (row.last_error or "") if row else "",
            "per_day": round(counts.get(row.id, 0) / WINDOW.days, 1) if row else 0.0,
            "url": moved or cfg.url, "moved": moved is not None,
        })
    return out


def format_table(items: list[dict[str, Any]]) -> str:
    lines = [f"{'feed':<22} {'state':<9} {'errors':>6} {'items/day':>9}  {'last success':<21} last error / url"]
    for item in items:
        note = item["last_error"][:70] if item["state"] != "ok" else ("moved to " + item["url"] if item["moved"] else "")
        lines.append(f"{item['feed'][:22]:<22} {item['state']:<9} {item['errors']:>6} {item['per_day']:>9}  "
                     f"{item['last_success'] or '-':<21} {note}")
    return "\n".join(lines)


def cmd_feeds(args: argparse.Namespace) -> int:
    from pipeline.app import open_database
    from pipeline.cli import load

    config = load(args)
    engine, sessions = open_database(config)
    try:
        with sessions() as session:
            print(format_table(rows(config, session, datetime.now(timezone.utc))))
    finally:
        engine.dispose()
    return 0
