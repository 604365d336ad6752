"""The web app: routes, templates, and the headers every response carries.

``create_app(config, token=..., clock=...)`` builds a Starlette app over a read-only
connection to the config's database. Routes are sync functions (Starlette runs them
in its thread pool) that ask queries.py / status.py for dataclasses and render them
with Jinja2, whose autoescape escapes every string; nothing from a feed is ever
marked safe, and the Content-Security-Policy allows no script at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notifiers.render import category_label
from pipeline.clock import Clock, utcnow
from pipeline.config import Config
from pipeline.logfmt import log_event
from pipeline.web import api, queries, status
from pipeline.web.atom import alerts_feed
from pipeline.web.auth import TokenGate
from pipeline.web.charts import bars
from pipeline.web.filters import FilterError, Filters, parse_filters
from pipeline.web.mapdraw import MapPicture, MapPlace, draw, world
from pipeline.web.metrics import render_metrics
from pipeline.web.places import with_coordinates
from pipeline.web.readonly import readonly_engine, schema_state, session_factory
from rules import CATEGORIES, SEVERITIES

HERE = Path(__file__).parent
log = logging.getLogger("cfwatch.web")
# No script anywhere; styles only from our own stylesheet; SVG is inline markup, not script.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",  # incident pages link out to outlets: don't tell them where from
    "x-frame-options": "DENY",
}


@dataclass
class Web:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def stale_after(self) -> timedelta:
        """No successful poll for this long is unhealthy: three of the slowest feed's intervals."""
        slowest = max((f.every for f in self.config.feeds if f.enabled), default=timedelta(minutes=5))
        return max(timedelta(minutes=15), 3 * slowest)


def _web(request: Request) -> Web:
    return request.app.state.web


def _templates(clock: Clock) -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = lambda dt: dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "–"
    env.filters["label"] = category_label
    env.globals["ago"] = lambda dt: _ago(clock() - dt) if dt else "never"
    env.globals["CATEGORIES"], env.globals["SEVERITIES"] = CATEGORIES, SEVERITIES
    env.globals["bars"] = bars
    return Jinja2Templates(env=env)


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now" if seconds < 5 else f"{seconds} s ago"


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    web = _web(request)
    context.setdefault("schema", None)
    if context["schema"] is None:
        with web.read() as session:
            context["schema"] = schema_state(session)
    return request.app.state.templates.TemplateResponse(request, name, {"now": web.clock(), **context},
                                                        status_code=status_code)


def _filters(request: Request) -> Filters:
    try:
        return parse_filters(request.query_params)
    except FilterError as exc:
        raise HTTPException(400, str(exc)) from None


def index(request: Request) -> Response:
    web, filters = _web(request), _filters(request)
    with web.read() as session:
        rows = queries.list_incidents(session, filters, web.clock(), web.config.incidents.window)
    return _page(request, "index.html", rows=rows, filters=filters)


def incident(request: Request) -> Response:
    web = _web(request)
    with web.read() as session:
        detail = queries.incident_detail(session, request.path_params["id"], web.clock(), web.config.incidents.window)
    if detail is None:
        raise HTTPException(404, f"no incident {request.path_params['id']}")
    picture = _picture([(detail.incident.id, detail.incident.severity, detail.places, detail.incident.countries)],
                       width=640, height=360)
    return _page(request, "incident.html", d=detail, picture=picture)


def map_page(request: Request) -> Response:
    web, filters = _web(request), _filters(request)
    with web.read() as session:
        rows = queries.list_incidents(session, filters, web.clock(), web.config.incidents.window)
    picture = _picture([(r.id, r.severity, r.places, r.countries) for r in rows])
    return _page(request, "map.html", picture=picture, rows=rows, filters=filters)


def _picture(incidents: list[tuple[int, str, list[dict[str, Any]], list[str]]], **size: int) -> MapPicture:
    places = [MapPlace(str(p["name"]), float(p["lat"]), float(p["lon"]), incident_id, severity)
              for incident_id, severity, found, countries in incidents
              for p in with_coordinates(found, countries)]
    return draw(places, world(), **size)


def feeds_page(request: Request) -> Response:
    web = _web(request)
    with web.read() as session:
        rows = status.feeds(session, web.config, web.clock())
    return _page(request, "feeds.html", feeds=rows)


def rules_page(request: Request) -> Response:
    web = _web(request)
    try:
        days = int(request.query_params.get("days") or 14)
    except ValueError:
        raise HTTPException(400, "days: a whole number from 2 to 90") from None
    if not 2 <= days <= 90:
        raise HTTPException(400, "days: a whole number from 2 to 90")
    with web.read() as session:
        chart = status.rule_hits(session, web.clock(), days)
    return _page(request, "rules.html", chart=chart, days=days)


def atom(request: Request) -> Response:
    web, filters = _web(request), _filters(request)
    with web.read() as session:
        entries = queries.list_alerts(session, filters, web.clock())
    base = str(request.base_url)
    self_url = base + "alerts.atom" + (f"?{filters.query()}" if filters.query() else "")
    body = alerts_feed(entries, base_url=base, self_url=self_url, now=web.clock())
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def api_incidents(request: Request) -> Response:
    web, filters = _web(request), _filters(request)
    with web.read() as session:
        rows = queries.list_incidents(session, filters, web.clock(), web.config.incidents.window)
        sources = queries.incident_sources(session, [r.id for r in rows])
    return JSONResponse({"incidents": [api.incident_json(r, sources.get(r.id, [])) for r in rows]})


def api_incident(request: Request) -> Response:
    web = _web(request)
    with web.read() as session:
        detail = queries.incident_detail(session, request.path_params["id"], web.clock(), web.config.incidents.window)
    if detail is None:
        return JSONResponse({"error": f"no incident {request.path_params['id']}"}, 404)
    return JSONResponse(api.detail_json(detail))


def healthz(request: Request) -> Response:
    web = _web(request)
    try:
        with web.read() as session:
            result = status.health(session, web.clock(), stale_after=web.stale_after())
    except SQLAlchemyError as exc:  # the file vanished, the server went away...
        reason = " ".join(str(exc).split())[:200]
        return JSONResponse({"status": "unhealthy", "problems": [f"database unreachable: {reason}"]}, 503)
    return JSONResponse(result.as_dict(), 200 if result.ok else 503)


def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    web = _web(request)
    return Response(render_metrics(web.sessions, web.clock), media_type=CONTENT_TYPE_LATEST)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/") or request.url.path in ("/alerts.atom", "/metrics"):
        return JSONResponse({"error": exc.detail}, exc.status_code)
    return _page(request, "error.html", exc.status_code, message=exc.detail, status=exc.status_code,
                 schema=False)


def _database_error(request: Request, exc: Exception) -> Response:
    """A query failed: most often a schema older or newer than this code. Say which."""
    log_event(log, logging.ERROR, "web_database_error", path=request.url.path, error=str(exc)[:300])
    try:
        with _web(request).read() as session:
            schema = schema_state(session).describe()
    except SQLAlchemyError as again:
        schema = f"the database cannot be read: {' '.join(str(again).split())[:200]}"
    message = f"The database could not be read ({schema})."
    if request.url.path.startswith("/api/") or request.url.path in ("/alerts.atom", "/metrics"):
        return JSONResponse({"error": message}, 503)
    return _page(request, "error.html", 503, message=message, status=503, schema=False)


class ResponseHeaders:
    """Security headers on every response, and one log line per request (path only:
    a query string may carry the token)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, code = time.monotonic(), [0]

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                code[0] = message["status"]
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            log_event(log, logging.INFO, "http", method=scope.get("method"), path=scope.get("path"),
                      status=code[0], ms=int((time.monotonic() - started) * 1000))


def create_app(config: Config, *, database_url: str, token: str | None = None, clock: Clock = utcnow,
               engine: Engine | None = None) -> ASGIApp:
    """The app over ``database_url`` (resolved, as pipeline.app.database_url returns it)."""
    engine = engine or readonly_engine(database_url)
    routes = [
        Route("/", index), Route("/incidents/{id:int}", incident), Route("/map", map_page),
        Route("/feeds", feeds_page), Route("/rules", rules_page), Route("/alerts.atom", atom),
        Route("/api/incidents", api_incidents), Route("/api/incidents/{id:int}", api_incident),
        Route("/healthz", healthz), Route("/metrics", metrics),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error,
                                                       SQLAlchemyError: _database_error})
    app.state.web = Web(config, engine, session_factory(engine), clock)
    app.state.templates = _templates(clock)
    return ResponseHeaders(TokenGate(app, token))
