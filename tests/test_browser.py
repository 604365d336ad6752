"""End to end in a real headless browser: ``cfwatch poll --once`` over local feeds holding
the seed report (../shared/examples, from two outlets), then ``cfwatch serve`` on
127.0.0.1 with a token, driven by Playwright in Debian's chromium.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run``
installs it with apt where it can); the test skips, saying why, where chromium or the
playwright package is missing. docs/screenshots/take.py reuses these helpers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import item, rss, shared_example, sqlite_dump
from feedserver import FeedServer
from test_web import write_site_config

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CFWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-token-0123456789"


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium), as .ci/run does"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


def seed_site(server: FeedServer, directory: Path, title: str, text: str,
              extra: list[tuple[str, str]] = ()) -> Path:
    """Two outlets carrying the seed report (plus ``extra`` reports), polled once by the real CLI."""
    wire = server.set("/wire.xml", rss([item(title, text, "https://wire.example/2022/09/13/armenia-border"),
                                        *(item(t, x, f"https://wire.example/extra/{n}")
                                          for n, (t, x) in enumerate(extra))]))
    regional = server.set("/regional.xml", rss([item(title, text, "https://regional.example/news/border-shelling")]))
    config = write_site_config(directory, [{"name": "wire", "url": wire, "outlet": "Wire Service"},
                                           {"name": "regional", "url": regional, "outlet": "Regional Desk"}])
    done = cli(config, "poll", "--once", timeout=180)
    assert done.returncode == 0, done.stderr
    return config


def cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=_env())


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CFWATCH_WEB_TOKEN"}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(config: Path, token: str | None = None) -> Iterator[str]:
    """``cfwatch serve`` in its own process; yields its base URL once it answers."""
    port = free_port()
    log = (config.parent / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--config", str(config), "serve",
                                "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, env=_env(**({"CFWATCH_WEB_TOKEN": token} if token else {})))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = (config.parent / "serve.log").read_text()
                    raise RuntimeError(f"cfwatch serve did not start: {output}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def browser(**context: Any) -> Iterator[Any]:
    """A Playwright browser context in Debian's chromium, with a fresh profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="cfwatch-chromium-") as profile:
        browser_context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 900}, **context)
        try:
            yield browser_context
        finally:
            browser_context.close()


def test_the_desk_pages_in_a_real_browser(feed_server, tmp_path):
    missing = browser_missing()
    if missing:
        pytest.skip(missing)
    title, text = shared_example()
    config = seed_site(feed_server, tmp_path, title, text)
    before = sqlite_dump(tmp_path / "cfwatch.db")
    with serving(config, token=TOKEN) as base, browser() as context:
        page = context.new_page()
        problems: list[str] = []  # script errors and CSP violations show up as console errors
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

        page.goto(f"{base}/?token={TOKEN}")  # sets the HttpOnly, SameSite=Strict cookie
        rows = page.locator("tr.incident")
        assert rows.count() == 1
        assert "Goris" in rows.first.inner_text() and "Jermuk" in rows.first.inner_text()
        rows.first.locator("a.title").click()
        page.wait_for_url("**/incidents/*")  # the cookie carried us on; no token in this URL

        sources = page.locator("li.source")
        assert sources.count() == 2
        assert {"Wire Service", "Regional Desk"} == set(page.locator("li.source .outlet").all_inner_texts())
        marked = {word.lower() for word in page.locator("li.source mark").all_inner_texts()}
        assert {"firing", "towns"} <= marked and {"shelling", "treaty"} & marked
        assert page.locator("li.source mark").first.is_visible()

        page.goto(f"{base}/map")
        labels = page.locator("svg.map .marker text")
        assert {"Goris", "Kapan", "Jermuk"} <= set(labels.all_text_contents())
        for town in ("Goris", "Kapan", "Jermuk"):
            box = labels.filter(has_text=town).first.bounding_box()
            assert box is not None and box["width"] > 0  # drawn, inside the picture
        assert page.locator("svg.map path.country").count() > 3

        assert not problems, problems
        page.context.clear_cookies()
        assert page.goto(f"{base}/").status == 401
    assert sqlite_dump(tmp_path / "cfwatch.db") == before  # serving never wrote a row
