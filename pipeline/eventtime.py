"""When did it happen? (pure): the published time, moved by what the lead says.

"Overnight", "yesterday" and weekday names ("on Tuesday") move the event time back
from the published time, so a report published on Wednesday morning about Tuesday's
shelling joins Tuesday's incident rather than opening a new one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(?:on|late|early|since|last)\s+(" + "|".join(_WEEKDAYS) + r")\b", re.I)
_YESTERDAY = re.compile(r"\byesterday\b|\bon the previous day\b", re.I)
_OVERNIGHT = re.compile(r"\bovernight\b|\blast night\b|\bearly (?:this|on) morning\b", re.I)
LEAD_CHARS = 400  # only the lead speaks about this event; later paragraphs give background


def event_time(published: datetime, title: str, text: str) -> datetime:
    lead = f"{title}\n{text[:LEAD_CHARS]}"
    weekday = _WEEKDAY.search(lead)
    if weekday:
        target = _WEEKDAYS.index(weekday.group(1).lower())
        back = (published.weekday() - target) % 7
        return published - timedelta(days=back) if back else published
    if _YESTERDAY.search(lead):
        return published - timedelta(days=1)
    if _OVERNIGHT.search(lead):
        return published - timedelta(hours=6)
    return published
