"""``cfwatch serve``: the desk's read-only web pages, Atom feed, JSON API, health and metrics.

Everything here reads the daemon's database and never writes it: queries.py turns
rows into plain dataclasses, app.py routes requests to them and renders templates
(Jinja2 autoescape: every string from a feed is hostile), mapdraw.py draws places on
bundled Natural Earth boundaries as inline SVG, atom.py and metrics.py serve the
same data to feed readers and Prometheus.
"""
