"""The access token (``CFWATCH_WEB_TOKEN``): a small ASGI gate in front of every route.

With a token configured, a request needs one of:

- ``Authorization: Bearer TOKEN`` (scripts, Prometheus' ``authorization`` setting);
- the cookie set by a visit with ``?token=TOKEN`` (browsers; also feed readers, which
  keep the query string in the URL they poll). The cookie holds an HMAC of the token,
  not the token, and is ``HttpOnly`` (no script can read it) and ``SameSite=Strict``
  (no other site can make the browser use it).

Comparisons are constant-time. Without a token the gate is open: ``cfwatch serve``
allows that only on a loopback address. ``/healthz`` is always open (see OPEN_PATHS).
"""

from __future__ import annotations

import hashlib
import hmac
import html
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "cfwatch_token"
COOKIE_MAX_AGE = 30 * 86400
# Load balancers and orchestrators probe /healthz without credentials; it says only
# whether the database answers and how old the last poll is, never anything from a feed.
OPEN_PATHS = frozenset({"/healthz"})
OPEN_PREFIX = "/static/"  # the stylesheet: the sign-in page needs it before there is a cookie


def _same(offered: str, expected: str) -> bool:
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


def cookie_value(token: str) -> str:
    """What the cookie carries: derived from the token, so the cookie jar never holds the token itself."""
    return hmac.new(token.encode("utf-8"), b"cfwatch web cookie v1", hashlib.sha256).hexdigest()


class TokenGate:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token or None
        self.cookie = cookie_value(token) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None or scope["path"] in OPEN_PATHS \
                or scope["path"].startswith(OPEN_PREFIX):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        verdict = self.check(request)
        if verdict == "query":
            await self.app(scope, receive, self._setting_cookie(send, request.url.scheme == "https"))
        elif verdict == "ok":
            await self.app(scope, receive, send)
        else:
            await refusal(request, wrong=verdict == "wrong")(scope, receive, send)

    def check(self, request: Request) -> str:
        """``ok``, ``query`` (ok, and set the cookie), ``missing`` or ``wrong``."""
        assert self.token is not None and self.cookie is not None
        offered = request.query_params.get("token")
        if offered is not None:
            return "query" if _same(offered, self.token) else "wrong"
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return "ok" if _same(value.strip(), self.token) else "wrong"
        cookie = request.cookies.get(COOKIE)
        if cookie is not None:
            return "ok" if _same(cookie, self.cookie) else "wrong"
        return "missing"

    def _setting_cookie(self, send: Send, secure: bool) -> Send:
        morsel: SimpleCookie = SimpleCookie()
        morsel[COOKIE] = self.cookie or ""
        attributes: dict[str, Any] = {"httponly": True, "samesite": "Strict", "path": "/", "max-age": COOKIE_MAX_AGE}
        if secure:
            attributes["secure"] = True
        for key, value in attributes.items():
            morsel[COOKIE][key] = value
        header = morsel.output(header="").strip()

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", header)
            await send(message)

        return wrapped


def refusal(request: Request, *, wrong: bool) -> Response:
    """401 without credentials, 403 with wrong ones; browsers get a page with a token field."""
    status = 403 if wrong else 401
    headers = {"WWW-Authenticate": 'Bearer realm="cfwatch"', "Cache-Control": "no-store"}
    what = "That token is not the right one." if wrong else "This page needs the access token."
    if "text/html" not in request.headers.get("accept", ""):
        return PlainTextResponse(what + " Send Authorization: Bearer TOKEN, or add ?token=TOKEN once.\n",
                                 status, headers=headers)
    path = html.escape(request.url.path, quote=True)
    body = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>cfwatch: sign in</title>"
            f"<link rel=\"stylesheet\" href=\"/static/style.css\">"
            f"<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\"></head>"
            f"<body><main class=\"signin\">"
            f"<h1>ceasefire-watch</h1><p>{what}</p>"
            f"<form method=\"get\" action=\"{path}\"><label>Token <input type=\"password\" name=\"token\" "
            f"autocomplete=\"current-password\" required></label> <button>Open</button></form>"
            f"<p class=\"muted\">Signed in on this browser before? Links from other sites arrive without the "
            f"cookie: <a href=\"{path}\">open the page again</a>.</p></main></body></html>")
    return HTMLResponse(body, status, headers=headers)
