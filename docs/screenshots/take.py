"""Take the README's screenshots of the web pages: ``.venv/bin/python docs/screenshots/take.py``.

The same path as the browser test (tests/test_browser.py): local feeds on 127.0.0.1,
``cfwatch poll --once``, ``cfwatch serve``, and Debian's chromium through Playwright.
The pictures use the test suite's own report of the seed event (the border shelling
of Goris, Kapan and Jermuk, written for the project), not the text in
../shared/examples: that text may not be redistributed, and a picture of it would be
a copy. Writes index.png and incident.png next to this file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

from conftest import BORDER_TEXT, BORDER_TITLE, DISTINCT_REPORTS  # noqa: E402
from feedserver import FeedServer  # noqa: E402
from test_browser import browser, browser_missing, seed_site, serving  # noqa: E402


def main() -> int:
    missing = browser_missing()
    if missing:
        print(f"take.py: {missing}", file=sys.stderr)
        return 1
    title, text = BORDER_TITLE, BORDER_TEXT
    server = FeedServer()
    try:
        with tempfile.TemporaryDirectory(prefix="cfwatch-shots-") as folder:
            config = seed_site(server, Path(folder), title, text, extra=DISTINCT_REPORTS[:4])
            with serving(config) as base, browser(device_scale_factor=1) as context:
                page = context.new_page()
                page.goto(f"{base}/")
                page.screenshot(path=str(HERE / "index.png"), full_page=True)
                page.locator("tr.incident a.title", has_text="Armenian border").first.click()
                page.wait_for_url("**/incidents/*")
                page.screenshot(path=str(HERE / "incident.png"), full_page=True)
    finally:
        server.close()
    print(f"wrote {HERE / 'index.png'} and {HERE / 'incident.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
