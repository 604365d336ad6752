"""``/metrics``: Prometheus metrics read from the database at scrape time.

``cfwatch serve`` is not the daemon (which polls and delivers), so it has no counters
of its own to export: a custom collector asks the database instead, with aggregate
queries only (counts and sums grouped in SQL, never rows). Latency histograms cover
alerts and deliveries of the last ``LATENCY_WINDOW``, and their bucket counts are
computed in the same single query as their sum.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import ColumnElement, case, extract, func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.logfmt import log_event
from pipeline.models import Alert, Article, Delivery, Feed, Incident, MatchRow

log = logging.getLogger("cfwatch.web")

LATENCY_WINDOW = timedelta(hours=24)
ALERT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
DELIVERY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """``later - earlier`` in seconds, in SQL (each database spells date arithmetic its own way)."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return extract("epoch", later - earlier)


class DatabaseCollector:
    """Reads counts from the database at every scrape (prometheus-client custom collector)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("cfwatch_database_up", "1 when the database answered this scrape")
        try:
            with self.sessions() as session:
                metrics = list(self._collect(session))
        except Exception as exc:  # a scrape must answer even when the database does not
            log_event(log, logging.WARNING, "metrics_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _collect(self, session: Session) -> Iterator[Metric]:
        yield from _feeds(session)
        yield from _pipeline(session)
        dialect = session.get_bind().dialect.name
        since = self.clock() - LATENCY_WINDOW
        yield _alert_latency(session, dialect, since)
        yield _delivery_latency(session, dialect, since)


def _feeds(session: Session) -> Iterator[Metric]:
    polls = CounterMetricFamily("cfwatch_feed_polls", "Polls of each feed", labels=["feed"])
    items = CounterMetricFamily("cfwatch_feed_items", "New items seen in each feed", labels=["feed"])
    errors = GaugeMetricFamily("cfwatch_feed_errors_in_a_row", "Failed polls in a row", labels=["feed"])
    success = GaugeMetricFamily("cfwatch_feed_last_success_timestamp_seconds",
                                "Unix time of the last successful poll", labels=["feed"])
    for name, n_polls, n_items, n_errors, last in session.execute(
            select(Feed.name, Feed.polls, Feed.items_seen, Feed.error_count, Feed.last_success_at)):
        polls.add_metric([name], n_polls or 0)
        items.add_metric([name], n_items or 0)
        errors.add_metric([name], n_errors or 0)
        if last is not None:
            success.add_metric([name], last.timestamp())
    yield from (polls, items, errors, success)


def _pipeline(session: Session) -> Iterator[Metric]:
    articles = CounterMetricFamily("cfwatch_articles", "Articles stored (exact duplicates are sources, not articles)")
    articles.add_metric([], session.scalar(select(func.count()).select_from(Article)) or 0)
    incidents = CounterMetricFamily("cfwatch_incidents", "Incidents opened")
    incidents.add_metric([], session.scalar(select(func.count()).select_from(Incident)) or 0)
    matches = CounterMetricFamily("cfwatch_matches", "Rule matches", labels=["rule", "category"])
    for rule, category, count in session.execute(select(MatchRow.rule, MatchRow.category, func.count())
                                                 .group_by(MatchRow.rule, MatchRow.category)):
        matches.add_metric([rule, category], count)
    alerts = CounterMetricFamily("cfwatch_alerts", "Alerts created, by event (new, update, escalation, operator)",
                                 labels=["event"])
    for event, count in session.execute(select(Alert.event, func.count()).group_by(Alert.event)):
        alerts.add_metric([event], count)
    deliveries = GaugeMetricFamily("cfwatch_deliveries", "Outbox rows by notifier and state",
                                   labels=["notifier", "state"])
    for notifier, status, count in session.execute(select(Delivery.notifier, Delivery.status, func.count())
                                                   .group_by(Delivery.notifier, Delivery.status)):
        deliveries.add_metric([notifier, status], count)
    yield from (articles, incidents, matches, alerts, deliveries)


def _histogram_columns(latency: ColumnElement[Any], buckets: tuple[float, ...]) -> list[ColumnElement[Any]]:
    return [func.count(), func.coalesce(func.sum(latency), 0.0),
            *(func.coalesce(func.sum(case((latency <= bound, 1), else_=0)), 0) for bound in buckets)]


def _histogram(family: HistogramMetricFamily, labels: list[str], row: Any, buckets: tuple[float, ...]) -> None:
    count, total, *cumulative = row
    family.add_metric(labels, [*((str(b), int(c)) for b, c in zip(buckets, cumulative)), ("+Inf", int(count))],
                      float(total))


def _alert_latency(session: Session, dialect: str, since: datetime) -> Metric:
    """New incidents: from the publication of their first article to the alert.

    Publication, not fetch: an article is stamped with its poll's time, and its alert is
    created in the same poll, so fetch-to-alert would always read 0. This is the age of
    the news when the desk hears of it: the feed's own delay plus the poll interval.
    """
    family = HistogramMetricFamily("cfwatch_alert_latency_seconds",
                                   f"Publication of an incident's first article to its 'new' alert, last "
                                   f"{int(LATENCY_WINDOW.total_seconds() // 3600)} h", labels=[])
    latency = seconds_between(Alert.created_at, func.coalesce(Article.published_at, Article.fetched_at), dialect)
    row = session.execute(select(*_histogram_columns(latency, ALERT_BUCKETS))
                          .select_from(Alert).join(Incident, Incident.id == Alert.incident_id)
                          .join(Article, Article.id == Incident.first_article_id)
                          .where(Alert.event == "new", Alert.created_at >= since)).one()
    _histogram(family, [], row, ALERT_BUCKETS)
    return family


def _delivery_latency(session: Session, dialect: str, since: datetime) -> Metric:
    """Sent deliveries: from the alert's creation to the notifier's success, per notifier."""
    family = HistogramMetricFamily("cfwatch_delivery_latency_seconds",
                                   f"Alert created to delivery sent, per notifier, last "
                                   f"{int(LATENCY_WINDOW.total_seconds() // 3600)} h", labels=["notifier"])
    latency = seconds_between(Delivery.sent_at, Alert.created_at, dialect)
    rows = session.execute(select(Delivery.notifier, *_histogram_columns(latency, DELIVERY_BUCKETS))
                           .join(Alert, Alert.id == Delivery.alert_id)
                           .where(Delivery.status == "sent", Delivery.sent_at >= since)
                           .group_by(Delivery.notifier))
    for notifier, *row in rows:
        _histogram(family, [notifier], row, DELIVERY_BUCKETS)
    return family


def render_metrics(sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> bytes:
    """The text exposition format; a fresh registry per scrape (nothing global to leak between apps)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(sessions, clock))
    return generate_latest(registry)
