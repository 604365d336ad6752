"""Hostile and broken feed documents, and a measurement of parsing them.

``python tests/hostile_docs.py [LISTENER_URL]`` parses every document in this
process and prints one JSON line: per case the outcome and seconds, the worst time,
and the peak RSS in MB (docs/RELIABILITY.md quotes it).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.parse import NotAFeed, parse_feed  # noqa: E402

ITEM = "<item><title>Shelling near Goris {n}</title><link>https://news.example/{n}</link></item>"


def rss(body: str, prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<rss version="2.0"><channel><title>t</title>'
            f"{body}</channel></rss>").encode()


def documents(listener: str = "http://127.0.0.1:9") -> dict[str, bytes]:
    lol = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    return {
        "billion_laughs": rss("<item><title>&l9;</title></item>", f'<!DOCTYPE r [<!ENTITY l0 "lol">{lol}]>'),
        "quadratic": rss("<item><title>" + "&a;" * 20_000 + "</title></item>",
                         '<!DOCTYPE r [<!ENTITY a "' + "x" * 100_000 + '">]>'),
        "quadratic_small_entity": rss("<item><title>" + "&a;" * 20_000 + "</title></item>",
                                      '<!DOCTYPE r [<!ENTITY a "' + "x" * 200 + '">]>'),
        "xxe_file": rss("<item><title>&x;</title></item>", '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
        "xxe_listener": rss("<item><title>&x;</title></item>", f'<!DOCTYPE r [<!ENTITY x SYSTEM "{listener}/xxe">]>'),
        "xxe_parameter": rss(ITEM.format(n=1), f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{listener}/pe"> %p;]>'),
        "external_dtd": rss(ITEM.format(n=1), f'<!DOCTYPE rss SYSTEM "{listener}/dtd">'),
        "entity_without_doctype": b'<?xml version="1.0"?><!ENTITY x "y"><rss version="2.0"></rss>',
        "dev_zero": b"/dev/zero",
        "etc_passwd": b"/etc/passwd",
        "truncated": rss(ITEM.format(n=1) + ITEM.format(n=2))[:-40],
        "html_200": b"<!DOCTYPE html><html><head><title>Error</title></head><body>Service unavailable</body></html>",
        "json": b'{"error": "not found", "items": []}',
        "empty": b"",
        "binary": bytes(range(256)) * 64,
        "wrong_encoding": rss("<item><title>Caf\xe9 shelled</title><link>https://a.example/1</link></item>")
        .replace(b"Caf\xc3\xa9", "Caf\u00e9".encode("latin-1")),
        "utf16": ('<?xml version="1.0" encoding="UTF-16"?><rss version="2.0"><channel><title>t</title>'
                  + ITEM.format(n=1) + "</channel></rss>").encode("utf-16"),
        "small_entities": rss("<item><title>Shelling&nbsp;&co;</title><link>https://a.example/1</link></item>",
                              '<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY co "near Goris">]>'),
    }


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ``ru_maxrss`` is not used: after fork+exec it
    can report the parent's (here pytest's) high-water mark instead of the child's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(listener: str = "http://127.0.0.1:9") -> dict[str, object]:
    cases: dict[str, object] = {}
    for name, body in documents(listener).items():
        started = time.monotonic()
        try:
            parsed = parse_feed(body, "f", "o")
            outcome: object = [a.title for a in parsed.articles]
        except NotAFeed as exc:
            outcome = f"not a feed: {exc}"
        cases[name] = {"outcome": outcome, "seconds": round(time.monotonic() - started, 4)}
    worst = max(cases.items(), key=lambda kv: kv[1]["seconds"])  # type: ignore[index]
    return {"cases": cases, "worst_case": worst[0], "worst_seconds": worst[1]["seconds"],  # type: ignore[index]
            "rss_mb": round(peak_rss_mb(), 1)}


if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[1:2])))
