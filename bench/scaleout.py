"""Scale-out on one PostgreSQL: feeds polled per minute by one daemon, then by two.

    python -m bench.scaleout                      # 600 feeds, both modes, 45 s windows
    python -m bench.scaleout --feeds 1000 --window 60 --delay-ms 0 200

Every feed is due every second, far more than any daemon can do, so the figure is
each setup's capacity: the polls completed in a measured window (after a warm-up
that takes the cold first poll of every feed out of it), read from ``feeds.polls``.
Feeds answer 304 to the daemon's conditional GET (the warm case that dominates a real
day). Two modes:

- ``--delay-ms 0``: the feed server answers at once, so a daemon is bound by its own
  CPU (one core per process under the GIL), and the feed server and PostgreSQL take
  their share of the same two cores;
- ``--delay-ms 200``: each answer waits 200 ms, as a remote site does; a daemon is
  bound by its concurrency (``fetch.concurrency``, 8), the case that sends a desk to
  more daemons.

The daemons are the real ``cfwatch run`` processes; the feed server runs in a process
of its own on 127.0.0.1; the database is a fresh schema in database ``test`` at
127.0.0.1:5432 (``--database`` for another), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from bench.report import Figure, machine, table

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BODY = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b'<item><title>Local council approves new library budget</title><link>https://example.org/1</link>'
        b'<guid>https://example.org/1</guid><description>The council voted on the budget.</description></item>'
        b'</channel></rss>')


def serve(port_file: str, delay: float) -> None:
    """Every path is a one-item feed with an ETag; a matching If-None-Match gets 304."""
    stamp = formatdate(usegmt=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            if delay:
                time.sleep(delay)
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.send_header("ETag", '"v1"')
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", '"v1"')
            self.send_header("Last-Modified", stamp)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.request_queue_size = 512
    Path(port_file).write_text(str(httpd.server_address[1]))
    httpd.serve_forever()


class Site:
    def __init__(self, delay: float, folder: Path) -> None:
        port_file = folder / f"port-{delay}"
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.scaleout", "--serve", str(port_file),
                                      "--delay-ms", str(int(delay * 1000))])
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("the feed server did not start")
            time.sleep(0.05)
        self.base = f"http://127.0.0.1:{port_file.read_text()}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _config(folder: Path, url: str, site: Site, feeds: int) -> Path:
    doc = {"database": url,
           "feeds": [{"name": f"f{i}", "url": f"{site.base}/f{i}.xml", "every": "1s"} for i in range(feeds)],
           "rules": {"packs": ["ceasefire"]},
           "notifiers": [{"name": "archive", "type": "jsonl", "path": str(folder / "alerts.jsonl")}],
           "fetch": {"concurrency": 8, "total_timeout": 10}}
    path = folder / f"config-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _polls(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("select coalesce(sum(polls), 0) from feeds")).scalar() or 0)
    finally:
        engine.dispose()


def _capacity(config: Path, url: str, daemons: int, warmup: float, window: float, folder: Path) -> float:
    """Polls per minute of ``daemons`` daemons, measured over ``window`` seconds."""
    procs = [subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "run"],
                              stdout=subprocess.DEVNULL, stderr=(folder / f"daemon{i}.log").open("w"))
             for i in range(daemons)]
    try:
        time.sleep(warmup)
        before, start = _polls(url), time.monotonic()
        time.sleep(window)
        after, end = _polls(url), time.monotonic()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    return (after - before) / (end - start) * 60


def measure(feeds: int, delays: list[float], warmup: float, window: float, admin_url: str) -> list[Figure]:
    figures: list[Figure] = []
    admin = create_engine(admin_url)
    for delay in delays:
        schema = f"cfw_bench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{admin_url}?options=-csearch_path%3D{schema}"
        with tempfile.TemporaryDirectory(prefix="cfwatch-scaleout-") as name:
            folder = Path(name)
            site = Site(delay, folder)
            try:
                config = _config(folder, url, site, feeds)
                one = _capacity(config, url, 1, warmup, window, folder)
                two = _capacity(config, url, 2, warmup, window, folder)
            finally:
                site.close()
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        mode = f"feed server delay {delay * 1000:.0f} ms, {feeds} feeds, all 304"
        figures.append(Figure(f"scale-out: one daemon ({mode})", round(one), "polls/min"))
        figures.append(Figure(f"scale-out: two daemons ({mode})", round(two), "polls/min", ">= 1.7x one",
                              two >= 1.7 * one, "one daemon, same run", two / one if one else None))
    admin.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=600)
    parser.add_argument("--delay-ms", type=int, nargs="+", default=[0, 200])
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the window (cold polls)")
    parser.add_argument("--window", type=float, default=45.0)
    parser.add_argument("--database", default=os.environ.get("CFWATCH_BENCH_POSTGRES", ADMIN_URL))
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.delay_ms[0] / 1000)
        return
    print(machine())
    print(table(measure(args.feeds, [d / 1000 for d in args.delay_ms], args.warmup, args.window, args.database)))


if __name__ == "__main__":
    main()
