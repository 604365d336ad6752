"""A real HTTP server on 127.0.0.1 that speaks enough of Slack's Web API for tests.

slack-sdk is pointed at it with ``base_url`` (``server.api_url``); incoming webhooks
post to ``server.webhook_url``. It checks the bot token, stores posted messages
(channel, text, blocks, thread, metadata) and answers ``conversations.history`` /
``conversations.replies`` / ``conversations.list`` from them, so reconciliation is
tested against what was really posted.

Faults are scripted per API method and used up in order: an HTTP status with a
``Retry-After`` header, ``{"ok": false, "error": ...}``, a slow reply, and
accept-then-reset (the request is read, and with ``accept=True`` the message is even
stored, then the socket is closed with an RST and no answer). Every request is
recorded for assertions.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOKEN = "xoxb-test-0000-SECRETTOKENVALUE"
WEBHOOK_PATH = "/services/T0000/B0000/SECRETHOOKPART"
CHANNELS = {"C0GENERAL01": "general", "C0ARCHIVE01": "old-news", "C0CEASEFIRE": "ceasefire"}  # ceasefire on page 2
WEBHOOK = "webhook"  # the fault/record key for the incoming-webhook path


@dataclass
class Fault:
    kind: str  # "status" | "error" | "slow" | "reset"
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    accept: bool = False  # for "reset": store the message before dropping the connection


@dataclass
class Request:
    method: str  # API method ("chat.postMessage") or WEBHOOK
    headers: dict[str, str]
    params: dict[str, Any]


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    reply_broadcast: bool
    metadata: dict[str, Any] | None
    unfurl_links: Any = None
    unfurl_media: Any = None


class SlackServer:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests: list[Request] = []
        self.messages: list[Posted] = []
        self.webhook_posts: list[dict[str, Any]] = []
        self.list_page_size = 2  # small pages so conversations.list pagination is exercised
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._ts = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no 40 ms delay per keep-alive request
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                server._serve(self)

            def do_GET(self) -> None:  # noqa: N802
                server._serve(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    # ---- for tests ----------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    @property
    def webhook_url(self) -> str:
        return self.base + WEBHOOK_PATH

    def fail(self, method: str, kind: str, times: int = 1, **kwargs: Any) -> None:
        """Script ``times`` faults for ``method`` (an API method name or WEBHOOK)."""
        with self._lock:
            self._faults.setdefault(method, deque()).extend(Fault(kind, **kwargs) for _ in range(times))

    def calls(self, method: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- request handling ------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path)
        params = _params(handler, path.query)
        method = WEBHOOK if path.path == WEBHOOK_PATH else path.path.removeprefix("/api/")
        with self._lock:
            self.requests.append(Request(method, {k.lower(): v for k, v in handler.headers.items()}, params))
            queue = self._faults.get(method)
            fault = queue.popleft() if queue else None
        if fault is not None and self._fault(handler, fault, method, params):
            return
        if method == WEBHOOK:
            return self._webhook(handler, params)
        auth = handler.headers.get("Authorization")
        if not auth:
            return _json(handler, {"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return _json(handler, {"ok": False, "error": "invalid_auth"})
        route = _ROUTES.get(method)
        if route is None:
            return _json(handler, {"ok": False, "error": "unknown_method"}, 404)
        _json(handler, route(self, params))

    def _fault(self, handler: BaseHTTPRequestHandler, fault: Fault, method: str, params: dict[str, Any]) -> bool:
        """Act out a scripted fault; False when the request should then be served normally."""
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "reset":
            if fault.accept and method == "chat.postMessage":
                self._post_message(params)
            _reset(handler)
            return True
        body: dict[str, Any] | str = {"ok": False, "error": fault.error or "fault"}
        if method == WEBHOOK:
            body = fault.error or "fault"
        _reply(handler, fault.status, body, fault.headers)
        return True

    def _webhook(self, handler: BaseHTTPRequestHandler, params: dict[str, Any]) -> None:
        with self._lock:
            self.webhook_posts.append(params)
        _reply(handler, 200, "ok", {})

    # ---- API methods ----------------------------------------------------------------

    def _channel_id(self, given: Any) -> str | None:
        name = str(given or "")
        if name in CHANNELS:
            return name
        return next((cid for cid, n in CHANNELS.items() if n == name.removeprefix("#")), None)

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(params.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel == "C0ARCHIVE01":
            return {"ok": False, "error": "is_archived"}
        with self._lock:
            self._ts += 1
            ts = f"{1_700_000_000 + self._ts}.{self._ts:06d}"
            self.messages.append(Posted(
                channel=channel, ts=ts, text=str(params.get("text") or ""), blocks=_loads(params.get("blocks")) or [],
                thread_ts=params.get("thread_ts"), reply_broadcast=_truthy(params.get("reply_broadcast")),
                metadata=_loads(params.get("metadata")), unfurl_links=params.get("unfurl_links"),
                unfurl_media=params.get("unfurl_media")))
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text")}}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(params.get("channel"))
        if channel is None or channel != params.get("channel"):  # the real API wants an id here
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            top = [m for m in self.messages if m.channel == channel and (m.thread_ts is None or m.reply_broadcast)]
        limit = int(params.get("limit") or 100)
        listed = [_as_api(m, _truthy(params.get("include_all_metadata"))) for m in reversed(top)][:limit]
        return {"ok": True, "messages": listed, "has_more": len(top) > limit}

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        with self._lock:
            thread = [m for m in self.messages if m.channel == channel and (m.ts == ts or m.thread_ts == ts)]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        limit = int(params.get("limit") or 100)
        metadata = _truthy(params.get("include_all_metadata"))
        return {"ok": True, "messages": [_as_api(m, metadata) for m in thread][:limit]}

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        start = int(params.get("cursor") or 0)
        ids = list(CHANNELS)
        page = ids[start:start + min(int(params.get("limit") or 100), self.list_page_size)]
        following = start + len(page)
        return {"ok": True, "channels": [{"id": cid, "name": CHANNELS[cid], "is_archived": False} for cid in page],
                "response_metadata": {"next_cursor": str(following) if following < len(ids) else ""}}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "team": "Test", "user": "cfwatch", "user_id": "U0BOT", "bot_id": "B0BOT"}


_ROUTES = {
    "chat.postMessage": SlackServer._post_message,
    "conversations.history": SlackServer._history,
    "conversations.replies": SlackServer._replies,
    "conversations.list": SlackServer._list,
    "auth.test": SlackServer._auth_test,
}


def _params(handler: BaseHTTPRequestHandler, query: str) -> dict[str, Any]:
    """Query string plus the body: JSON (chat.postMessage) or form-encoded (the rest)."""
    params: dict[str, Any] = dict(parse_qsl(query))
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if not raw:
        return params
    if (handler.headers.get("Content-Type") or "").startswith("application/json"):
        params.update(json.loads(raw))
    else:
        params.update(parse_qsl(raw.decode("utf-8")))
    return params


def _loads(value: Any) -> Any:
    """Form bodies carry blocks/metadata as JSON strings; JSON bodies as objects."""
    return json.loads(value) if isinstance(value, str) and value else value


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _as_api(message: Posted, with_metadata: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks}
    if message.thread_ts:
        item["thread_ts"] = message.thread_ts
        if message.reply_broadcast:
            item["subtype"] = "thread_broadcast"
    if with_metadata and message.metadata:
        item["metadata"] = message.metadata
    return item


def _json(handler: BaseHTTPRequestHandler, body: dict[str, Any], status: int = 200) -> None:
    _reply(handler, status, body, {})


def _reply(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | str, headers: dict[str, str]) -> None:
    data = (json.dumps(body) if isinstance(body, dict) else body).encode("utf-8")
    kind = "application/json; charset=utf-8" if isinstance(body, dict) else "text/plain; charset=utf-8"
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def _reset(handler: BaseHTTPRequestHandler) -> None:
    """Drop the connection with an RST and no answer, as a crashing proxy would."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass
