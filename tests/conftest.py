"""Shared fixtures: a local feed server, config files in a temp dir, report texts.

The report texts here were written for the project (the corpus and the shared
example may not be copied into the repository); tests that read the real shared
example skip where ``../shared`` is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from feedserver import FeedServer, rss  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"

# A border-shelling report in the shape of the project's seed case, written for the tests.
BORDER_TITLE = "Azerbaijani forces shell Armenian border towns; Yerevan seeks Russian help"
BORDER_TEXT = (
    "Azerbaijani troops opened fire with artillery and drones on the Armenian towns of Goris, Kapan and "
    "Jermuk early on Tuesday, Armenia's Defence Ministry said. Baku denied the claims and said its units "
    "had responded to provocations. Yerevan accused Azerbaijan of a gross violation of the ceasefire "
    "agreement that ended the fighting in 2020. Armenia's Security Council later decided to formally "
    "request military assistance from Russia under the 1997 treaty on friendship, cooperation and "
    "mutual assistance between the two countries."
)
SPORT_TITLE = "Late strike sinks City as striker shoots United into cup final"
SPORT_TEXT = ("The visitors attacked from the first whistle, and their forward fired a shot against the post "
              "before a header in stoppage time sent the fans into the night celebrating.")
BUSINESS_TITLE = "Shell profits climb as oil prices rise; price war fears fade"
BUSINESS_TEXT = ("The energy company reported higher quarterly earnings and announced a share buyback, while "
                 "analysts said a price war among refiners now looked unlikely.")


# Distinct events (different places, parties and wording), written for the tests.
DISTINCT_REPORTS = [
    ("Rocket barrage hits Kharkiv apartment block",
     "Russian rockets struck a residential building in Kharkiv overnight, regional officials said, "
     "wounding several people. Firefighters worked through the night."),
    ("Militants ambush army convoy near Menaka",
     "Gunmen attacked a Malian army convoy near Menaka on Monday, the army said, in an ambush that "
     "left two soldiers dead. The attackers fled on motorbikes."),
    ("Houthi drone strikes Red Sea tanker",
     "A drone launched by Houthi forces hit a commercial tanker off Hodeidah, maritime security agencies "
     "reported. The crew put out a fire on deck."),
    ("Clashes erupt in Khartoum between army and RSF",
     "Heavy fighting broke out between the Sudanese army and the Rapid Support Forces in Khartoum, "
     "residents said, with gunfire heard across the city."),
    ("Israeli air strike kills three in Rafah",
     "An Israeli air strike on a house in Rafah killed three people, health officials in Gaza said. "
     "The military said it targeted militants."),
    ("Mortar fire reported along Line of Contact in Tavush",
     "Armenian positions in Tavush province came under mortar fire from Azerbaijani units, Yerevan said, "
     "calling it a violation of the ceasefire. Baku denied the claim."),
]


def now() -> datetime:
    return datetime.now(timezone.utc)


def item(title: str, text: str, link: str, guid: str | None = None,
         published: datetime | None = None) -> dict[str, Any]:
    return {"title": title, "description": text, "link": link, "guid": guid or link,
            "published": published or now() - timedelta(minutes=5)}


# PostgreSQL for the tests that run on both stores: the CI machine's server, database
# `test`. Each test gets a schema of its own, dropped afterwards.
PG_URL = os.environ.get("CFWATCH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def postgres_missing() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it answers."""
    if "reason" not in _pg_state:
        try:
            import psycopg
            from sqlalchemy.engine import make_url

            url = make_url(PG_URL)
            psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
                            password=url.password, connect_timeout=3).close()
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 (any failure means: skip, and say why)
            _pg_state["reason"] = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
    return _pg_state["reason"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of database `test`."""
    reason = postgres_missing()
    if reason:
        pytest.skip(f"no PostgreSQL at {PG_URL.split('@')[-1]} ({reason})")
    from sqlalchemy import create_engine, text

    schema = f"cfw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``@pytest.mark.backends`` runs a test once per store (SQLite, PostgreSQL)."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", marker.args or ("sqlite", "postgresql"))


@pytest.fixture
def backend() -> str:
    """SQLite unless CFWATCH_TEST_BACKEND=postgresql runs the whole suite on PostgreSQL."""
    return os.environ.get("CFWATCH_TEST_BACKEND", "sqlite")


@pytest.fixture(autouse=True)
def _sqlite_only(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is not None and os.environ.get("CFWATCH_TEST_BACKEND", "sqlite") != "sqlite":
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'reads the SQLite file'}")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """The store under test: a SQLite file in tmp_path, or a PostgreSQL schema."""
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'cfwatch.db'}"


@pytest.fixture
def sessions(database_url: str):
    """A migrated store and its session factory."""
    from sqlalchemy.orm import sessionmaker

    from pipeline.db import make_engine, migrate

    engine = make_engine(database_url)
    migrate(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def write_config(tmp_path: Path, database_url: str):
    """Write a config.yaml in tmp_path from a dict; returns its path."""

    def write(feeds: list[dict[str, Any]], **extra: Any) -> Path:
        doc: dict[str, Any] = {
            "database": database_url,
            "feeds": feeds,
            "rules": {"packs": ["ceasefire"]},
            "notifiers": [{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"}],
            "fetch": {"connect_timeout": 2, "read_timeout": 2, "total_timeout": 5},
            "delivery": {"drain_timeout": 0, "backoff": "1s"},
        }
        doc.update(extra)
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return path

    return write


@contextmanager
def open_store(tmp_path: Path) -> Iterator[Any]:
    """A connection to the store the config in tmp_path names (SQLite or PostgreSQL), for asserts."""
    from sqlalchemy import create_engine

    from pipeline.db import resolve_url

    url = yaml.safe_load((tmp_path / "config.yaml").read_text(encoding="utf-8"))["database"]
    engine = create_engine(resolve_url(url, tmp_path))
    try:
        with engine.connect() as connection:
            yield _Raw(connection)
    finally:
        engine.dispose()


class _Raw:
    """``execute(sql)`` with plain SQL text, like sqlite3's."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name

    def execute(self, sql: str) -> Any:
        from sqlalchemy import text

        return self.connection.execute(text(sql))


def sqlite_dump(path: Path) -> list[str]:
    """Every row and schema statement of a SQLite file, opened read-only (to prove nothing changed)."""
    import sqlite3

    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shared_example() -> tuple[str, str]:
    """(title, text) of the real report in ../shared/examples, or skip."""
    files = sorted((SHARED / "examples").glob("*.txt")) if (SHARED / "examples").is_dir() else []
    if not files:
        pytest.skip("../shared/examples is not present next to the repository")
    body = files[0].read_text(encoding="utf-8").strip()
    title, _, rest = body.partition(". ")  # the file has no headline: use its first sentence
    return title.strip() + ".", rest


__all__ = ["rss", "item", "read_jsonl", "now", "open_store", "shared_example", "sqlite_dump"]


def make_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """(certificate, key) of a self-signed certificate for 127.0.0.1, made for the test."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key
