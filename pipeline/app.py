"""Wiring: build the running parts from a validated Config.

The only place that constructs dependencies; everything it builds takes them as
arguments, so tests can hand in their own fetcher, clock, notifiers or database.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from notifiers import Notifier, NotifierContext, build_notifier
from pipeline import daemons, locks, store
from pipeline.clock import Clock, utcnow
from pipeline.config import Config, ConfigError
from pipeline.db import make_engine, migrate, resolve_url
from pipeline.fetch import Fetcher, HttpFetcher
from pipeline.ingest import Ingestor
from pipeline.outbox import Outbox
from rules import RuleSet, build_ruleset
from rules.packs import read_bundled

log = logging.getLogger("cfwatch")


def load_rules(config: Config) -> RuleSet:
    """The bundled packs and rule files named in config, compiled into one matcher."""
    sources: list[tuple[str, str]] = []
    for index, name in enumerate(config.rules.packs):
        try:
            sources.append(read_bundled(name))
        except KeyError as exc:
            raise ConfigError(config.source, None, ("rules", "packs", index), str(exc.args[0])) from None
    for index, name in enumerate(config.rules.files):
        path = Path(name).expanduser()
        path = path if path.is_absolute() else config.base_dir / path
        try:
            sources.append((path.read_text(encoding="utf-8"), str(path)))
        except OSError as exc:
            raise ConfigError(config.source, None, ("rules", "files", index),
                              f"cannot read rule file {path}: {exc.strerror}") from None
    return build_ruleset(sources, gazetteer_extra=config.gazetteer.model_dump(),
                         agreements=config.agreements)


def notifier_context(config: Config) -> NotifierContext:
    """What notifiers see: the config's folder for relative paths, the process environment for secrets."""
    return NotifierContext(base_dir=config.base_dir, env=dict(os.environ))


def database_url(config: Config) -> str:
    return resolve_url(config.database, config.base_dir)


def open_database(config: Config) -> tuple[Engine, sessionmaker[Session]]:
    """Engine with the schema migrated to head, and a session factory."""
    engine = make_engine(database_url(config))
    migrate(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    ruleset: RuleSet
    fetcher: Fetcher
    notifiers: dict[str, Notifier]
    ingestor: Ingestor
    outbox: Outbox
    identity: daemons.Identity
    clock: Clock = field(default=utcnow)
    _heartbeat: daemons.Heartbeat | None = None

    @classmethod
    def build(cls, config: Config, *, fetcher: Fetcher | None = None, clock: Clock = utcnow,
              context: NotifierContext | None = None, ruleset: RuleSet | None = None,
              role: str = "run") -> App:
        ruleset = ruleset or load_rules(config)
        context = context or notifier_context(config)
        notifiers = {n.name: build_notifier(n, context) for n in config.notifiers}
        engine, sessions = open_database(config)
        identity = daemons.Identity.new(role)
        with sessions.begin() as session:
            locks.hold_for_transaction(session, "feeds")  # daemons starting together add each feed once
            store.sync_feeds(session, [f for f in config.feeds if f.enabled])
            daemons.register(session, identity, clock())
        fetch = config.fetch
        fetcher = fetcher or HttpFetcher.create(
            connect_timeout=fetch.connect_timeout, read_timeout=fetch.read_timeout,
            total_timeout=fetch.total_timeout, max_redirects=fetch.max_redirects,
            user_agent=fetch.user_agent, max_connections=fetch.concurrency, keep_alive=fetch.keep_alive)
        ingestor = Ingestor(config=config, sessions=sessions, ruleset=ruleset, fetcher=fetcher, clock=clock,
                            owner=identity.id)
        outbox = Outbox(sessions=sessions, notifiers=notifiers, config=config.delivery, clock=clock,
                        owner=identity.id)
        return cls(config, engine, sessions, ruleset, fetcher, notifiers, ingestor, outbox, identity, clock)

    @property
    def feeds(self) -> list:
        return [f for f in self.config.feeds if f.enabled]

    def start_heartbeat(self) -> None:
        """Beat while this process works, so others see it alive and leave its claims alone."""
        if self._heartbeat is None:
            self._heartbeat = daemons.Heartbeat(self.sessions, self.identity, self.clock,
                                                self.ingestor.lease).start()

    def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
        try:
            with self.sessions.begin() as session:
                daemons.stopped(session, self.identity, self.clock())
        except Exception as exc:  # noqa: BLE001 (a stop must not fail on a database gone away)
            log.warning("could not record the stop of %s: %s", self.identity.id, exc)
        close = getattr(self.fetcher, "close", None)
        if close is not None:
            close()
        self.engine.dispose()
