"""Loading and validating ``config.yaml``.

Every problem is reported as ``file:line: key.path: message`` (exit 2 in the CLI), and
all checks run before anything starts, so a daemon never half-starts on a typo.
Secrets are never in the file: notifiers name environment variables instead.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from notifiers import REGISTRY, NotifierConfig
from pipeline.decide import Route
from pipeline.durations import parse_duration
from rules import CATEGORIES, SEVERITIES
from rules.yamlsrc import Located, SourceError, load_yaml


class ConfigError(SourceError):
    """Bad configuration: the CLI prints it and exits 2."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _duration(value: Any) -> timedelta:
    return parse_duration(value)


class FeedConfig(_Strict):
    name: str = Field(min_length=1, max_length=100)
    url: str
    every: timedelta = timedelta(minutes=10)
    outlet: str | None = None
    language: str = "en"
    tags: list[str] = []
    # Items older than this on a feed's first poll are stored but not alerted, so
    # adding a feed does not replay its whole history; ``all`` alerts on everything.
    backfill: timedelta | None = timedelta(hours=24)
    enabled: bool = True
    max_bytes: int | None = Field(default=None, gt=0)
    # Health: an operator alert when no new item came for this long (optional), or after
    # this many failed polls in a row. allow_private lets the feed (and its redirects)
    # reach loopback/private/CGNAT/reserved addresses; link-local stays refused.
    expect_every: timedelta | None = None
    max_failures: int = Field(default=5, ge=1)
    allow_private: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value, re.I):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> timedelta:
        delta = _duration(value)
        if delta < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return delta

    @field_validator("backfill", mode="before")
    @classmethod
    def _backfill(cls, value: Any) -> timedelta | None:
        return None if value in ("all", None) else _duration(value)

    @field_validator("expect_every", mode="before")
    @classmethod
    def _expect_every(cls, value: Any) -> timedelta | None:
        return None if value is None else _duration(value)

    @property
    def outlet_name(self) -> str:
        return self.outlet or self.name


class RulesConfig(_Strict):
    packs: list[str] = ["ceasefire"]
    files: list[str] = []


class RouteConfig(_Strict):
    notify: list[str] = Field(min_length=1)
    categories: list[str] | None = None
    min_severity: str | None = None
    feeds: list[str] | None = None
    tags: list[str] | None = None
    countries: list[str] | None = None
    places: list[str] | None = None
    events: list[Literal["new", "update", "escalation"]] | None = None
    continue_: bool = Field(default=False, alias="continue")

    def as_route(self) -> Route:
        def t(values: list[str] | None) -> tuple[str, ...] | None:
            return None if values is None else tuple(values)

        return Route(tuple(self.notify), t(self.categories), self.min_severity, t(self.feeds), t(self.tags),
                     t(self.countries), t(self.places), t(self.events), self.continue_)

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if item not in CATEGORIES:
                raise ValueError(f"unknown category '{item}' (known: {', '.join(CATEGORIES)})")
        return value

    @field_validator("min_severity")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        if value is not None and value not in SEVERITIES:
            raise ValueError(f"unknown severity '{value}' (known: {', '.join(SEVERITIES)})")
        return value


class FetchConfig(_Strict):
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    total_timeout: float = Field(default=30.0, gt=0)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=8, ge=1, le=256)
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    max_backoff: timedelta = timedelta(hours=1)
    user_agent: str = "ceasefire-watch/0.1 (+https://github.com/ceasefire-watch)"
    # Reuse idle connections to the same host (each reuse re-checked): see pipeline/plainhttp.py.
    keep_alive: bool = True

    @field_validator("max_backoff", mode="before")
    @classmethod
    def _max_backoff(cls, value: Any) -> timedelta:
        return _duration(value)


class DeliveryConfig(_Strict):
    max_attempts: int = Field(default=8, ge=1)
    backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=30)
    drain_timeout: float = Field(default=30.0, ge=0)

    @field_validator("backoff", "max_backoff", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> timedelta:
        return _duration(value)


class IncidentsConfig(_Strict):
    window: timedelta = timedelta(hours=12)
    update_interval: timedelta = timedelta(minutes=15)
    repeat_after: timedelta | None = timedelta(hours=24)

    @field_validator("window", "update_interval", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> timedelta:
        return _duration(value)

    @field_validator("repeat_after", mode="before")
    @classmethod
    def _repeat(cls, value: Any) -> timedelta | None:
        return None if value in (None, "never", 0, "0") else _duration(value)


class WatchConfig(_Strict):
    """What the user follows; an alert outside it is stored with reason outside_watch."""

    countries: list[str] | None = None
    places: list[str] | None = None
    actors: list[str] | None = None
    categories: list[str] | None = None


class GazetteerPlaceConfig(_Strict):
    name: str = Field(min_length=1)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    aliases: list[str] = []


class GazetteerActorConfig(_Strict):
    name: str = Field(min_length=1)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    kind: str | None = None
    aliases: list[str] = []


class GazetteerConfig(_Strict):
    """User additions to the bundled gazetteer: places (with aliases) and actors."""

    places: list[GazetteerPlaceConfig] = []
    actors: list[GazetteerActorConfig] = []


class AgreementConfig(_Strict):
    """A ceasefire in force: hostilities between its parties are violations of it."""

    name: str = Field(min_length=1)
    parties: list[str] = Field(min_length=2)  # ISO alpha-2 codes or actor names
    since: date | None = None
    until: date | None = None
    area: list[str] = []  # place names or ISO codes; empty = anywhere


class OperatorConfig(_Strict):
    """Where messages about the watcher itself go (feeds failing or silent, deliveries given up)."""

    notify: list[str] = []


class Config(_Strict):
    database: str = "sqlite:///cfwatch.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    feeds: list[FeedConfig] = []
    rules: RulesConfig = RulesConfig()
    notifiers: list[NotifierConfig] = []
    routes: list[RouteConfig] = []
    fetch: FetchConfig = FetchConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    incidents: IncidentsConfig = IncidentsConfig()
    watch: WatchConfig = WatchConfig()
    gazetteer: GazetteerConfig = GazetteerConfig()
    agreements: list[AgreementConfig] = []
    operator: OperatorConfig = OperatorConfig()
    # Where the file was read from; relative paths in it are resolved against this.
    base_dir: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="config.yaml", exclude=True)

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError naming file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), None, (), "config file not found (use --config or CFWATCH_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), None, (), f"cannot read config: {exc}") from None
    return parse_config(text, str(path), path.resolve().parent)


def parse_config(text: str, source: str, base_dir: Path) -> Config:
    """Validate config text (pure apart from nothing: no file or network access)."""
    try:
        located = load_yaml(text, source)
    except SourceError as exc:
        raise ConfigError(exc.source, exc.line, exc.path, exc.message) from None
    data = located.data if located.data is not None else {}
    if not isinstance(data, dict):
        raise _error(located, (), "the config must be a mapping of keys (database, feeds, notifiers...)")
    raw = dict(data)
    raw["notifiers"] = _notifier_models(located, raw.get("notifiers") or [])
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise _from_validation(located, exc) from None
    config.base_dir = base_dir
    config.source = source
    _check_references(located, config)
    return config


def _notifier_models(located: Located, items: Any) -> list[NotifierConfig]:
    if not isinstance(items, list):
        raise _error(located, ("notifiers",), "must be a list of notifiers")
    models: list[NotifierConfig] = []
    for index, item in enumerate(items):
        path: tuple[str | int, ...] = ("notifiers", index)
        if not isinstance(item, dict):
            raise _error(located, path, "must be a mapping with at least name and type")
        kind = item.get("type")
        if kind not in REGISTRY:
            known = ", ".join(sorted(REGISTRY))
            raise _error(located, path + ("type",), f"unknown notifier '{kind}' (known: {known})")
        try:
            models.append(REGISTRY[kind].Config.model_validate(item))
        except ValidationError as exc:
            raise _from_validation(located, exc, prefix=path) from None
    return models


def _check_references(located: Located, config: Config) -> None:
    """Checks that span keys: unique names, routes naming real notifiers."""
    _unique(located, "feeds", [f.name for f in config.feeds])
    _unique(located, "notifiers", [n.name for n in config.notifiers])
    names = {n.name for n in config.notifiers}
    for r_index, route in enumerate(config.routes):
        for n_index, name in enumerate(route.notify):
            if name not in names:
                raise _error(located, ("routes", r_index, "notify", n_index),
                             f"unknown notifier '{name}' (configured: {', '.join(sorted(names)) or 'none'})")
        for f_index, feed in enumerate(route.feeds or []):
            if config.feed(feed) is None:
                raise _error(located, ("routes", r_index, "feeds", f_index), f"unknown feed '{feed}'")
    for n_index, name in enumerate(config.operator.notify):
        if name not in names:
            raise _error(located, ("operator", "notify", n_index),
                         f"unknown notifier '{name}' (configured: {', '.join(sorted(names)) or 'none'})")


def _unique(located: Located, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise _error(located, (key, index, "name"), f"duplicate name '{name}'")
        seen.add(name)


def _error(located: Located, path: tuple[str | int, ...], message: str) -> ConfigError:
    return ConfigError(located.source, located.line_of(path), path, message)


def _from_validation(located: Located, exc: ValidationError,
                     prefix: tuple[str | int, ...] = ()) -> ConfigError:
    """The first pydantic error, located; the others usually follow from it."""
    err = exc.errors()[0]
    path = prefix + tuple(p for p in err["loc"] if p not in ("function-after", "function-before"))
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
    return _error(located, path, message)
