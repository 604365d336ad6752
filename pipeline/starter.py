"""The config ``cfwatch init`` writes when none exists."""

STARTER_CONFIG = """\
# ceasefire-watch configuration; `cfwatch check-config` validates it.
database: sqlite:///cfwatch.db

feeds:
  - {name: bbc-world, url: "https://feeds.bbci.co.uk/news/world/rss.xml", every: 10m, outlet: BBC News}
  - {name: aljazeera, url: "https://www.aljazeera.com/xml/rss/all.xml", every: 10m, outlet: Al Jazeera}
  - {name: reliefweb-updates, url: "https://reliefweb.int/updates/rss.xml", every: 15m, outlet: ReliefWeb}

rules: {packs: [ceasefire], files: []}

notifiers:
  - {name: console, type: console}
  - {name: archive, type: jsonl, path: alerts.jsonl}

routes: []   # empty: every alert goes to every notifier
"""
