"""Local feed server and webhook receiver for the benchmarks (127.0.0.1 only).

The feed server runs in its own process (``FeedServerProcess``) so that the CPU it
spends rendering and sending feeds never counts as the poller's CPU, and the two
share the machine's two cores as a daemon and a remote site would. It serves
``/feed/N`` as RSS with an ETag and Last-Modified, answers 304 to a matching
conditional request, and has control routes for the driver:

- ``POST /_ctl/change?fraction=F&new=K`` gives a fraction of feeds K new items each;
- ``POST /_ctl/add?feed=N`` adds one alerting item now and returns its link;
- ``GET /_ctl/seen?link=L`` says when a 200 response first carried that item;
- ``GET /_ctl/stats`` counts 200 and 304 answers.

It speaks HTTP/1.1 with a Content-Length on every answer that has a body (a 304 has
none by definition), as real feed servers do, so a client's keep-alive works here:
an idle connection is closed after ``_KEEP_ALIVE`` seconds, like a server's
keep-alive timeout.

    python -m bench.feedserver --feeds 1000 --items 50   # prints "port N", serves until killed
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

from bench.load import _SYNTHETIC, MIXES, ROOT, Item, make_item, rss, utcnow

# Alerting items for the latency measure: distinct places in distinct countries, so
# each one opens its own incident and sends a `new` alert at once (an item grouped
# into an earlier incident would wait for the 15-minute update batch instead).
_PLACES = ("Goris, Armenia", "Kharkiv, Ukraine", "Aleppo, Syria", "Gao, Mali", "Sanaa, Yemen", "Tripoli, Libya",
           "Kandahar, Afghanistan", "Goma, DR Congo", "Mogadishu, Somalia", "Maiduguri, Nigeria",
           "Juba, South Sudan", "Khartoum, Sudan", "Marawi, Philippines", "Srinagar, India", "Gaza, Palestine",
           "Tartus, Syria", "Mosul, Iraq", "Ouagadougou, Burkina Faso", "Niamey, Niger", "Bamako, Mali")


_KEEP_ALIVE = 60.0  # nginx's default is 75 s; the poller's own idle timeout (30 s) is shorter


@dataclass
class _Feed:
    items: list[Item]
    version: int = 0
    body: bytes = b""
    stamp: float = field(default_factory=time.time)


class _State:
    def __init__(self, feeds: int, items: tuple[int, int], seed: int, mix: str = "dense") -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.mix = mix
        now = utcnow()
        self.feeds = [_Feed([make_item(self.rng, n, s, now, mix=mix) for s in range(self.rng.randint(*items))])
                      for n in range(feeds)]
        for n in range(feeds):
            self._render(n)
        self.serial = 10**6
        self.added: dict[str, float] = {}   # link -> when it appeared on the server
        self.seen: dict[str, float] = {}    # link -> when a 200 first carried it
        self.counts = {"200": 0, "304": 0}

    def _render(self, n: int) -> None:
        feed = self.feeds[n]
        feed.version += 1
        feed.stamp = time.time()
        feed.body = rss(f"feed-{n}", feed.items)

    def change(self, fraction: float, new: int) -> int:
        chosen = self.rng.sample(range(len(self.feeds)), round(len(self.feeds) * fraction))
        now = utcnow()
        with self.lock:
            for n in chosen:
                fresh = [make_item(self.rng, n, self._next(), now, mix=self.mix) for _ in range(new)]
                feed = self.feeds[n]
                feed.items = (fresh + feed.items)[:max(len(feed.items), 50)]  # newest first, at most 50
                self._render(n)
        return len(chosen)

    def add_alert(self, n: int) -> str:
        serial = self._next()
        place = _PLACES[serial % len(_PLACES)]
        link = f"http://latency.example/{n}/{serial}"
        # Words of its own after the lead: the same template with another place would be a
        # near-duplicate of the last item (one story), and a story's second report sends
        # no new alert, so the measure would wait for alerts that never come.
        filler = " ".join(self.rng.choice(_SYNTHETIC) for _ in range(40))
        text = (f"Artillery shelling hit residential areas of {place} this morning, killing {serial % 7 + 2} "
                f"civilians and wounding several others, local officials said. {filler.capitalize()}.")
        item = Item(link, f"Shelling kills civilians in {place.split(',')[0]} ({serial})", text, link, utcnow())
        with self.lock:
            self.feeds[n].items = [item] + self.feeds[n].items[:-1]
            self._render(n)
            self.added[link] = time.time()
        return link

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def served(self, feed: _Feed) -> None:
        now = time.time()
        for item in feed.items[:3]:  # added items are always at the top
            if item.link in self.added and item.link not in self.seen:
                self.seen[item.link] = now


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # else each response can wait 40 ms for an ACK
        protocol_version = "HTTP/1.1"  # persistent connections, as real feed servers
        timeout = _KEEP_ALIVE  # an idle connection is closed (the handler thread ends) after this

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            url = urlsplit(self.path)
            if url.path.startswith("/feed/"):
                return self._feed(int(url.path.rsplit("/", 1)[1]))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/_ctl/seen":
                link = query["link"]
                return self._json({"added": state.added.get(link), "seen": state.seen.get(link)})
            if url.path == "/_ctl/stats":
                return self._json(state.counts)
            self.send_error(404)

        def do_POST(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/_ctl/change":
                return self._json({"changed": state.change(float(query["fraction"]), int(query["new"]))})
            if url.path == "/_ctl/add":
                return self._json({"link": state.add_alert(int(query["feed"]))})
            self.send_error(404)

        def _feed(self, n: int) -> None:
            with state.lock:
                feed = state.feeds[n]
                etag = f'"{n}-{feed.version}"'
                if self.headers.get("If-None-Match") == etag:
                    state.counts["304"] += 1
                    self.send_response(304)  # no body, so no length needed to keep the connection
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = feed.body
                state.counts["200"] += 1
                state.served(feed)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(feed.stamp, usegmt=True))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: object) -> None:
            data = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # 1,000 feeds polled 8 at a time must never see a refused connect


def serve(feeds: int, items: tuple[int, int], seed: int, mix: str = "dense") -> None:
    httpd = _Server(("127.0.0.1", 0), _handler(_State(feeds, items, seed, mix)))
    print(f"port {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


class FeedServerProcess:
    """The feed server in a child process; ``url(n)`` is feed n, ``ctl`` posts to it."""

    def __init__(self, feeds: int, items: tuple[int, int] = (20, 200), seed: int = 1, mix: str = "dense") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.feedserver", "--feeds", str(feeds), "--items", str(items[0]),
             str(items[1]), "--seed", str(seed), "--mix", mix], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until every feed is rendered
        if not line.startswith("port "):
            self.close()
            raise RuntimeError(f"feed server did not start: {line!r}")
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"
        self.client = httpx.Client(timeout=60, trust_env=False)

    def url(self, n: int) -> str:
        return f"{self.base}/feed/{n}"

    def post(self, path: str, **params: object) -> dict:
        return self.client.post(self.base + path, params=params).json()

    def get(self, path: str, **params: object) -> dict:
        return self.client.get(self.base + path, params=params).json()

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)

    def __enter__(self) -> FeedServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Receiver:
    """A webhook endpoint that notes when each alert arrived (wall clock, like the server)."""

    def __init__(self, on_alert: Callable[[dict, float], None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802
                arrived = time.time()  # before reading the body: the call has reached us
                record = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                on_alert(record, arrived)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, nargs=2, default=(20, 200), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mix", choices=MIXES, default="dense",
                        help="dense: conflict reports (almost every item fires a rule); news: general news")
    args = parser.parse_args()
    serve(args.feeds, (args.items[0], args.items[1]), args.seed, args.mix)


if __name__ == "__main__":
    main()
