"""``cfwatch serve``: every route through Starlette's test client, over a real SQLite
database filled by the real pipeline polling a real feed server on 127.0.0.1.

Feed titles here carry markup as text (double-escaped in the feed, as a hostile or
broken feed sends it), so the stored titles really hold ``<script>`` and
``"><img onerror>``; every page must show them escaped.
"""

from __future__ import annotations

import html
import io
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import warnings

import feedparser
import pytest
import yaml

with warnings.catch_warnings():  # starlette 1.x suggests httpx2; httpx is what the project uses
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from conftest import BORDER_TEXT, BORDER_TITLE, DISTINCT_REPORTS, item, now, rss, sqlite_dump
from feedserver import FeedServer
from pipeline.app import App, database_url
from pipeline.config import Config, load_config
from pipeline.cycle import run_once
from pipeline.web.app import create_app

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG_ESCAPED = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
TOKEN = "desk-token-0123456789abcdef"


def write_site_config(directory: Path, feeds: list[dict], db_url: str | None = None) -> Path:
    doc = {
        "database": db_url or "sqlite:///cfwatch.db",
        "feeds": feeds,
        "rules": {"packs": ["ceasefire"]},
        "notifiers": [{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"}],
        "fetch": {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5},
        "delivery": {"drain_timeout": 0, "backoff": "1s"},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def fill_site(server: FeedServer, directory: Path, db_url: str | None = None) -> Config:
    """Poll feeds holding the border report twice (two outlets), two hostile reports and a broken feed."""
    kharkiv_title, kharkiv_text = DISTINCT_REPORTS[0]
    menaka_title, menaka_text = DISTINCT_REPORTS[1]
    wire = server.set("/wire.xml", rss([
        item(BORDER_TITLE, BORDER_TEXT, "https://wire.example/border"),
        # html.escape: the feed's title *text* is the markup (feed titles are hostile input)
        item(html.escape(SCRIPT) + " " + kharkiv_title,
             kharkiv_text.replace("overnight", "overnight " + html.escape("<script>alert(2)</script>")),
             "https://wire.example/kharkiv"),
        item(html.escape(IMG) + " " + menaka_title, menaka_text, "https://wire.example/menaka"),
    ]))
    regional = server.set("/regional.xml", rss([item(BORDER_TITLE, BORDER_TEXT,
                                                     "https://regional.example/border-shelling")]))
    down = server.set("/down.xml", "oops", status=500, content_type="text/plain")
    path = write_site_config(directory, [{"name": "wire", "url": wire},
                                         {"name": "regional", "url": regional, "outlet": "Regional Desk"},
                                         {"name": "down", "url": down}], db_url)
    config = load_config(path)
    app = App.build(config)
    try:
        run_once(app)
    finally:
        app.close()
    return config


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    server = FeedServer()
    try:
        yield fill_site(server, tmp_path_factory.mktemp("site"))
    finally:
        server.close()


@pytest.fixture
def client(site: Config) -> TestClient:
    return TestClient(create_app(site, database_url=database_url(site)))


def incident_ids(client: TestClient) -> dict[str, int]:
    """Incident id by a word of its title: border, kharkiv, menaka."""
    found = {}
    for row in client.get("/api/incidents").json()["incidents"]:
        for word in ("Armenian", "Kharkiv", "Menaka"):
            if word in row["title"]:
                found[{"Armenian": "border", "Kharkiv": "kharkiv", "Menaka": "menaka"}[word]] = row["id"]
    return found


def assert_escaped(body: str) -> None:
    assert "<script" not in body.lower() and "<img" not in body.lower()
    assert SCRIPT_ESCAPED in body and IMG_ESCAPED in body


# ---- pages -------------------------------------------------------------------

def test_index_lists_incidents_newest_first_with_places_sources_and_escaped_titles(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    body = page.text
    assert BORDER_TITLE in body
    assert_escaped(body)
    for place in ("Goris", "Kapan", "Jermuk"):
        assert place in body
    assert body.count('class="incident"') == 3
    assert "Treaty appeal" in body and "critical" in body


def test_hostile_titles_reach_the_pages_as_text(client):
    """The stored titles really hold the markup (so the escaping checks above mean something)."""
    titles = [row["title"] for row in client.get("/api/incidents").json()["incidents"]]
    assert any(t.startswith(SCRIPT) for t in titles) and any(t.startswith(IMG) for t in titles)


def test_incident_page_lists_every_source_highlights_words_and_shows_alerts(client):
    ids = incident_ids(client)
    body = client.get(f"/incidents/{ids['border']}").text
    assert body.count('class="source"') == 2
    assert "wire" in body and "Regional Desk" in body
    assert 'href="https://wire.example/border"' in body and 'href="https://regional.example/border-shelling"' in body
    assert "<mark>artillery</mark>" in body and "<mark>towns</mark>" in body
    assert "1997" in body and "Treaty of Friendship" in body              # the treaty involved
    assert "Denied by" in body or "Accused" in body or "Claimed by" in body  # claims and denials
    assert "first_notification" in body and "first alertable report" in body
    assert "archive" in body and "d-sent" in body                         # delivery state per notifier
    assert '<svg class="map"' in body and ">Goris<" in body


def test_incident_pages_escape_hostile_titles_and_text(client):
    ids = incident_ids(client)
    kharkiv = client.get(f"/incidents/{ids['kharkiv']}").text
    assert SCRIPT_ESCAPED in kharkiv and "&lt;script&gt;alert(2)&lt;/script&gt;" in kharkiv
    assert "<script" not in kharkiv.lower()
    menaka = client.get(f"/incidents/{ids['menaka']}").text
    assert IMG_ESCAPED in menaka and "<img" not in menaka.lower()
    assert 'href="javascript:' not in kharkiv + menaka


def test_unknown_incident_is_404(client):
    assert client.get("/incidents/99999").status_code == 404
    assert client.get("/api/incidents/99999").status_code == 404


def test_filters_by_category_country_severity_and_time(site, client):
    ids = incident_ids(client)

    def listed(query: str) -> set[int]:
        return {r["id"] for r in client.get(f"/api/incidents?{query}").json()["incidents"]}

    assert listed("category=treaty_appeal") == {ids["border"]}
    assert listed("country=am") == {ids["border"]}
    assert ids["kharkiv"] in listed("country=UA") and ids["border"] not in listed("country=UA")
    assert listed("severity=critical") == {ids["border"]}
    assert listed("since=7d") == set(ids.values())
    later = TestClient(create_app(site, database_url=database_url(site), clock=lambda: now() + timedelta(days=3)))
    assert {r["id"] for r in later.get("/api/incidents?since=1d").json()["incidents"]} == set()
    page = client.get("/?category=treaty_appeal&country=AM")
    assert page.text.count('class="incident"') == 1


@pytest.mark.parametrize("query", ["category=sports", "country=Armenia", "severity=huge", "since=soon",
                                   "limit=0", "since=999d"])
def test_bad_filters_are_400_and_say_what_is_accepted(client, query):
    page = client.get(f"/?{query}")
    assert page.status_code == 400
    assert query.split("=")[0] in page.text
    assert client.get(f"/api/incidents?{query}").status_code == 400


def test_map_draws_the_incident_places_on_boundaries(client):
    body = client.get("/map").text
    for place in ("Goris", "Kapan", "Jermuk"):
        assert f">{place}</text>" in body
    assert body.count('class="country"') > 3 and "Armenia" in body
    ids = incident_ids(client)
    assert f'href="/incidents/{ids["border"]}"' in body
    assert "<script" not in body.lower()


def test_feeds_page_shows_health_and_the_broken_feed(client):
    body = client.get("/feeds").text
    for name in ("wire", "regional", "down"):
        assert f"<strong>{name}</strong>" in body
    assert "HTTP 500" in body and "f-erroring" in body and "f-ok" in body


def test_rules_page_charts_hits_per_rule(client):
    body = client.get("/rules").text
    assert "shelling" in body and '<svg class="bars"' in body and "<rect" in body
    assert client.get("/rules?days=30").status_code == 200
    assert client.get("/rules?days=1000").status_code == 400


def test_static_stylesheet_and_security_headers(client):
    assert client.get("/static/style.css").status_code == 200
    headers = client.get("/").headers
    assert "script-src" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


# ---- Atom, API, health, metrics -------------------------------------------------

def test_alerts_atom_has_one_entry_per_alert_with_incident_links(client):
    response = client.get("/alerts.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(io.BytesIO(response.content))
    assert not feed.bozo, feed.bozo_exception
    assert len(feed.entries) == 3
    ids = incident_ids(client)
    links = {entry.link for entry in feed.entries}
    assert {f"http://testserver/incidents/{i}" for i in ids.values()} == links
    assert any(SCRIPT in entry.title for entry in feed.entries)  # shown as text in the reader...
    assert b"<script" not in response.content and b"<img" not in response.content  # ...never as markup
    only = feedparser.parse(io.BytesIO(client.get("/alerts.atom?category=treaty_appeal").content))
    assert [entry.link for entry in only.entries] == [f"http://testserver/incidents/{ids['border']}"]


def test_api_incidents_shapes(client):
    listing = client.get("/api/incidents").json()
    first = listing["incidents"][0]
    assert {"id", "title", "categories", "severity", "places", "casualties", "sources", "first_seen",
            "last_update"} <= set(first)
    ids = incident_ids(client)
    detail = client.get(f"/api/incidents/{ids['border']}").json()
    assert sorted(s["outlet"] for s in detail["sources"]) == ["Regional Desk", "wire"]
    assert {"Goris", "Kapan", "Jermuk"} <= {p["name"] for p in detail["places"]}
    assert detail["alerts"][0]["reason"] == "first_notification"
    assert detail["alerts"][0]["deliveries"][0]["status"] == "sent"


def test_healthz_is_ok_after_a_poll_and_open_without_token(site):
    client = TestClient(create_app(site, database_url=database_url(site), token=TOKEN))
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["schema"] == "at head"
    assert body["last_successful_poll_age_seconds"] < 600
    assert body["scheduler"] in ("alive", "stopped", "none", "unknown")


def test_healthz_503_when_polls_are_stale(site):
    later = TestClient(create_app(site, database_url=database_url(site), clock=lambda: now() + timedelta(days=2)))
    response = later.get("/healthz")
    assert response.status_code == 503 and "last successful poll" in response.json()["problems"][0]


def test_healthz_503_when_the_database_is_missing(site, tmp_path):
    missing = f"sqlite:///{tmp_path / 'nothing-here.db'}"
    client = TestClient(create_app(site, database_url=missing))
    response = client.get("/healthz")
    assert response.status_code == 503 and "database unreachable" in response.json()["problems"][0]
    assert not (tmp_path / "nothing-here.db").exists()  # read-only: never creates the file
    assert client.get("/").status_code == 503


def test_schema_not_at_head_is_said_on_healthz_and_pages(site, tmp_path):
    copy = tmp_path / "old.db"
    source = sqlite3.connect(Path(database_url(site).removeprefix("sqlite:///")))
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.execute("UPDATE alembic_version SET version_num = '0001'")
    target.commit()
    target.close()
    client = TestClient(create_app(site, database_url=f"sqlite:///{copy}"))
    response = client.get("/healthz")
    assert response.status_code == 503 and "revision 0001" in response.json()["schema"]
    assert "revision 0001" in client.get("/").text


def test_healthz_503_when_the_daemon_died(site, tmp_path):
    daemons = pytest.importorskip("pipeline.daemons", reason="this version has no daemon heartbeats")
    from pipeline.db import make_engine
    from sqlalchemy.orm import sessionmaker

    copy = tmp_path / "dead.db"
    shutil.copy(Path(database_url(site).removeprefix("sqlite:///")), copy)
    engine = make_engine(f"sqlite:///{copy}")
    later = now() + timedelta(hours=1)
    with sessionmaker(engine).begin() as session:  # a daemon, after the poll, that stopped beating unstopped
        daemons.register(session, daemons.Identity.new("run"), later - timedelta(minutes=10))
    engine.dispose()
    response = TestClient(create_app(site, database_url=f"sqlite:///{copy}", clock=lambda: later)).get("/healthz")
    assert response.status_code == 503 and response.json()["scheduler"] == "dead"


def test_metrics_come_from_the_database(client):
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("cfwatch_database_up", ())] == 1
    assert samples[("cfwatch_alerts_total", (("event", "new"),))] == 3
    assert samples[("cfwatch_deliveries", (("notifier", "archive"), ("state", "sent")))] == 3
    assert samples[("cfwatch_feed_errors_in_a_row", (("feed", "down"),))] == 1
    assert samples[("cfwatch_feed_polls_total", (("feed", "wire"),))] == 1
    assert any(name == "cfwatch_matches_total" for name, _ in samples)
    assert families["cfwatch_alert_latency_seconds"].type == "histogram"
    assert samples[("cfwatch_alert_latency_seconds_count", ())] == 3
    # The reports were published 5 minutes before the poll: that is how old the news was.
    assert samples[("cfwatch_alert_latency_seconds_bucket", (("le", "120.0"),))] == 0
    assert samples[("cfwatch_alert_latency_seconds_bucket", (("le", "600.0"),))] == 3
    assert samples[("cfwatch_delivery_latency_seconds_count", (("notifier", "archive"),))] == 3


# ---- the token -----------------------------------------------------------------

@pytest.fixture
def guarded(site: Config) -> TestClient:
    return TestClient(create_app(site, database_url=database_url(site), token=TOKEN))


@pytest.mark.parametrize("path", ["/", "/map", "/feeds", "/rules", "/alerts.atom", "/api/incidents", "/metrics"])
def test_token_required_without_credentials(guarded, path):
    response = guarded.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Goris" not in response.text


def test_token_page_for_browsers_offers_a_field(guarded):
    page = guarded.get("/incidents/1", headers={"accept": "text/html"})
    assert page.status_code == 401 and 'name="token"' in page.text and 'type="password"' in page.text


def test_bearer_header(guarded):
    assert guarded.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/", headers={"authorization": "Bearer wrong-token-0123456789"}).status_code == 403
    assert guarded.get("/", headers={"authorization": f"Basic {TOKEN}"}).status_code == 401


def test_query_token_sets_a_strict_httponly_cookie_that_then_suffices(guarded):
    first = guarded.get(f"/?token={TOKEN}")
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie  # the cookie carries a value derived from the token, not the token
    assert guarded.get("/feeds").status_code == 200  # the client kept the cookie
    guarded.cookies.clear()
    assert guarded.get("/feeds").status_code == 401


def test_wrong_query_token_and_forged_cookie_are_refused(guarded):
    assert guarded.get("/?token=not-the-token").status_code == 403
    guarded.cookies.set("cfwatch_token", "forged")
    assert guarded.get("/").status_code == 403
    guarded.cookies.set("cfwatch_token", TOKEN)  # the raw token is not the cookie value either
    assert guarded.get("/").status_code == 403


def test_serve_refuses_a_public_address_without_token(site, monkeypatch, capsys):
    from pipeline.cli import main

    monkeypatch.delenv("CFWATCH_WEB_TOKEN", raising=False)
    assert main(["--config", site.source, "serve", "--host", "0.0.0.0"]) == 2
    assert "CFWATCH_WEB_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("CFWATCH_WEB_TOKEN", "short")
    assert main(["--config", site.source, "serve", "--host", "192.0.2.10"]) == 2
    assert "too short" in capsys.readouterr().err


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                            ("127.0.0.2", True), ("0.0.0.0", False), ("10.0.0.5", False),
                                            ("desk.example.org", False), ("::", False)])
def test_loopback_detection(host, loopback):
    from pipeline.cli_serve import is_loopback

    assert is_loopback(host) is loopback


# ---- read-only ---------------------------------------------------------------------

def test_serving_every_route_changes_nothing_in_the_database(site, client):
    path = Path(database_url(site).removeprefix("sqlite:///"))
    before = sqlite_dump(path)
    ids = incident_ids(client)
    for route in ["/", "/map", "/feeds", "/rules", "/alerts.atom", "/api/incidents", "/healthz", "/metrics",
                  f"/incidents/{ids['border']}", f"/api/incidents/{ids['border']}", "/map?since=1d"]:
        assert client.get(route).status_code in (200, 503), route
    assert sqlite_dump(path) == before


def assert_cannot_write(url: str, error: type[Exception], message: str) -> None:
    from sqlalchemy import text

    from pipeline.web.readonly import readonly_engine

    engine = readonly_engine(url)
    try:
        with pytest.raises(error, match=message):
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM alerts"))
    finally:
        engine.dispose()


def test_the_web_engine_cannot_write(site):
    from sqlalchemy.exc import OperationalError

    assert_cannot_write(database_url(site), OperationalError, "readonly")


# ---- PostgreSQL: the SQL that differs between stores -------------------------------

@pytest.mark.backends("postgresql")
def test_routes_on_postgresql(backend, postgres_url, tmp_path):
    server = FeedServer()
    try:
        site = fill_site(server, tmp_path, postgres_url)
    finally:
        server.close()
    client = TestClient(create_app(site, database_url=database_url(site)))
    ids = incident_ids(client)
    assert len(ids) == 3
    assert {r["id"] for r in client.get("/api/incidents?category=treaty_appeal&country=AM")
            .json()["incidents"]} == {ids["border"]}
    assert_escaped(client.get("/").text)
    assert client.get(f"/incidents/{ids['border']}").text.count('class="source"') == 2
    assert "shelling" in client.get("/rules").text
    assert client.get("/healthz").status_code == 200
    metrics = client.get("/metrics").text
    assert 'cfwatch_delivery_latency_seconds_count{notifier="archive"} 3.0' in metrics
    feed = feedparser.parse(io.BytesIO(client.get("/alerts.atom").content))
    assert len(feed.entries) == 3
    from sqlalchemy.exc import DBAPIError

    assert_cannot_write(postgres_url, DBAPIError, "read-only")
