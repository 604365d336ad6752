"""The query parameters that filter incidents and alerts (``/``, ``/map``, ``/alerts.atom``, the API).

Values are checked against closed sets (categories, severities, two-letter country
codes, durations) before they reach SQL, so a filter can only ever match the exact
value it names, and a typo is a 400 that says what is accepted, not an empty page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from pipeline.durations import format_duration, parse_duration
from rules import CATEGORIES, SEVERITIES

DEFAULT_SINCE = timedelta(days=7)
MAX_SINCE = timedelta(days=366)
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
_COUNTRY = re.compile(r"[A-Z]{2}")


class FilterError(ValueError):
    """A query parameter with a value outside what it accepts (HTTP 400)."""


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    country: str | None = None
    severity: str | None = None      # the lowest severity shown
    since: timedelta = DEFAULT_SINCE  # last update no older than this
    limit: int = DEFAULT_LIMIT

    def severities(self) -> list[str] | None:
        """The severities at or above ``severity``, or None for no filter."""
        return None if self.severity is None else list(SEVERITIES[SEVERITIES.index(self.severity):])

    @property
    def since_text(self) -> str:
        return format_duration(self.since)

    def query(self) -> str:
        """The filters as a query string (for links that keep them), defaults left out."""
        pairs = [(k, v) for k, v in (("category", self.category), ("country", self.country),
                                     ("severity", self.severity)) if v]
        if self.since != DEFAULT_SINCE:
            pairs.append(("since", format_duration(self.since)))
        if self.limit != DEFAULT_LIMIT:
            pairs.append(("limit", str(self.limit)))
        return urlencode(pairs)


def parse_filters(params: Mapping[str, str]) -> Filters:
    """Filters from query parameters; FilterError names the parameter and what it accepts."""
    category = _choice(params, "category", CATEGORIES)
    severity = _choice(params, "severity", SEVERITIES)
    country = (params.get("country") or "").strip().upper() or None
    if country is not None and not _COUNTRY.fullmatch(country):
        raise FilterError("country: expected a two-letter ISO code such as AM or UA")
    since = DEFAULT_SINCE
    if params.get("since"):
        try:
            since = parse_duration(params["since"])
        except ValueError as exc:
            raise FilterError(f"since: {exc}") from None
        if not timedelta(0) < since <= MAX_SINCE:
            raise FilterError("since: between 1s and 366d")
    limit = DEFAULT_LIMIT
    if params.get("limit"):
        try:
            limit = int(params["limit"])
        except ValueError:
            raise FilterError(f"limit: a whole number from 1 to {MAX_LIMIT}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise FilterError(f"limit: a whole number from 1 to {MAX_LIMIT}")
    return Filters(category, country, severity, since, limit)


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    value = (params.get(name) or "").strip().lower() or None
    if value is not None and value not in allowed:
        raise FilterError(f"{name}: one of {', '.join(allowed)}")
    return value
