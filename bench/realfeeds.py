"""Run the whole pipeline over the real captured feeds in ../shared/corpus/realfeeds.

Serves each feed document from a local HTTP server on 127.0.0.1, polls them all once
with ``backfill: all`` into a temporary database, and compares the alerted items with
the items the corpus MANIFEST judges conflict-related (a title-level judgement that
includes explainers and diplomacy, so not every one of them should alert).

    python -m bench.realfeeds [--corpus ../shared/corpus] [--show]
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline.app import App
from pipeline.config import parse_config
from pipeline.cycle import run_once
from pipeline.logfmt import setup_logging

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


class _Quiet(SimpleHTTPRequestHandler):
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--show", action="store_true", help="print alerted and missed titles")
    args = parser.parse_args()
    feeds_dir = args.corpus / "realfeeds"
    manifest = json.loads((feeds_dir / "MANIFEST.json").read_text(encoding="utf-8"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(feeds_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    setup_logging("ERROR")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = _run(manifest, f"http://127.0.0.1:{httpd.server_address[1]}", Path(tmp), args.show)
    finally:
        httpd.shutdown()
    _print(rows)


def _run(manifest: dict, base: str, tmp: Path, show: bool) -> list[tuple]:
    docs = manifest["documents"]
    feeds = [{"name": d["file"].split("_20")[0] + f"-{i}", "url": f"{base}/{d['file']}", "backfill": "all"}
             for i, d in enumerate(docs)]
    text = json.dumps({"database": "sqlite:///bench.db", "feeds": feeds,
                       "notifiers": [{"name": "archive", "type": "jsonl", "path": "alerts.jsonl"}],
                       "delivery": {"drain_timeout": 0}})
    app = App.build(parse_config(text, "bench-config", tmp))
    started = time.perf_counter()
    report = run_once(app)
    elapsed = time.perf_counter() - started
    app.close()
    alerts = [json.loads(line) for line in (tmp / "alerts.jsonl").read_text().splitlines()] \
        if (tmp / "alerts.jsonl").exists() else []
    # The latest record of each incident lists every source behind it.
    latest = {a["incident_id"]: a for a in alerts}
    covered = {(s["outlet"], (s["title"] or "").strip()) for a in latest.values() for s in a["sources"]}
    first = {(a["sources"][0]["outlet"], a["title"].strip()): a for a in latest.values() if a["sources"]}
    by_feed = {p.feed: p for p in report.polls}
    rows = []
    for feed, doc in zip(feeds, docs):
        poll = by_feed[feed["name"]]
        conflict = {c["title"].strip() for c in doc.get("conflict_items", [])}
        mine = {t: a for (outlet, t), a in first.items() if outlet == feed["name"]}
        alerted = {t for outlet, t in covered if outlet == feed["name"]}
        rows.append((doc["file"], poll.outcome, poll.items, len(conflict), len(mine), len(mine.keys() & conflict),
                     len(alerted & conflict), poll.error or ""))
        if show:
            for t in sorted(set(mine) - conflict):
                words = "; ".join(f"{m['category']}: {', '.join(m['text'])}" for m in mine[t]["matches"])
                print(f"  incident, not judged conflict: {t}  [{words}]")
            for t in sorted(conflict - alerted):
                print(f"  conflict item, in no alert:    {t}")
    print(f"\n{len(latest)} incidents ({len(alerts)} alert records) from {sum(r[2] for r in rows)} items "
          f"in {elapsed:.2f} s ({report.errors} documents not feeds)")
    return rows


def _print(rows: list[tuple]) -> None:
    print("\n| document | outcome | items | conflict items | incidents | incidents opened by a conflict item "
          "| conflict items in an alert |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, outcome, items, conflict, incidents, opened, covered, error in rows:
        note = f" ({error[:40]})" if error else ""
        print(f"| {name} | {outcome}{note} | {items} | {conflict} | {incidents} | {opened} | {covered} |")
    total = [sum(r[i] for r in rows) for i in range(2, 7)]
    print(f"| **total** | | {total[0]} | {total[1]} | {total[2]} | {total[3]} | {total[4]} |")
    if total[2]:
        print(f"\nincidents opened by a judged-conflict item: {total[3]}/{total[2]} = {total[3] / total[2]:.2f}; "
              f"judged-conflict items in some alert: {total[4]}/{total[1]} = {total[4] / max(total[1], 1):.2f}")


if __name__ == "__main__":
    main()
