"""``/alerts.atom``: one Atom entry per alert, linking to its incident page (feedgen).

The entry's content is the same escaped HTML the email notifier sends
(notifiers.render.html_fragment), so a feed reader shows what the desk got by mail;
titles go through ``one_line`` because XML cannot carry control characters and a
hostile feed title may hold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator

from notifiers.render import category_label, headline, html_fragment, one_line
from pipeline.web.queries import AlertEntry


def alerts_feed(entries: Sequence[AlertEntry], *, base_url: str, self_url: str, now: datetime) -> bytes:
    """The Atom document; ``base_url`` ends with ``/`` and is where incident pages live."""
    fg = FeedGenerator()
    fg.id(base_url + "alerts.atom")
    fg.title("ceasefire-watch alerts")
    fg.subtitle("Alerts on ceasefire violations: one entry per alert, newest first")
    fg.author({"name": "ceasefire-watch"})
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=base_url, rel="alternate", type="text/html")
    fg.updated(max((e.view.created_at for e in entries), default=now))
    fg.generator("ceasefire-watch")
    for entry in entries:
        view, record = entry.view, entry.record
        incident_url = f"{base_url}incidents/{view.incident_id}"
        fe = fg.add_entry(order="append")
        fe.id(f"{incident_url}#alert-{view.id}")
        fe.title(one_line(f"{headline(record)}: {one_line(record.get('title') or '(no title)', 200)}", 300))
        fe.link(href=incident_url, rel="alternate", type="text/html")
        fe.published(view.created_at)
        fe.updated(view.created_at)
        for category in view.categories:
            fe.category(term=category, label=category_label(category))
        fe.content(html_fragment(record), type="html")
    return fg.atom_str(pretty=True)
