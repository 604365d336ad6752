"""Slack notifier: one Block Kit message per alert, updates threaded under the first.

Example::

    notifiers:
      - name: ops
        type: slack
        channel: "#ceasefire"            # or a channel id such as C0123456789
        token_env: SLACK_BOT_TOKEN       # the variable holding the bot token (xoxb-...)
        # webhook_url_env: SLACK_WEBHOOK_URL   # instead of token_env: an incoming webhook
        base_url: null                   # default https://slack.com/api/ (proxies, tests)
        timeout: 10                      # seconds per request
        burst: 10                        # more than this due at once -> one summary message
        interval: 1.0                    # seconds between messages
        history_lookback: 200            # recent messages searched when reconciling

Why it is built this way:

- slack-sdk clients are built with ``retry_handlers=[]``: the default handler retries
  a connection reset, which doubled a message the server had accepted. The outbox
  does the retrying, with backoff and Retry-After.
- Every message carries metadata (``cfwatch_alert``: alert, incident and delivery
  id), so ``find_sent`` can tell from ``conversations.history`` whether a message a
  crash or a timeout left in doubt is already in the channel.
- ``conversations.history`` needs a channel id. A configured id is used as is; a
  name is resolved once with ``conversations.list`` (public and private channels,
  paginated) and cached, and the id in each ``chat.postMessage`` answer refreshes it.
- Secrets (the token, the webhook URL) never reach error messages or logs: errors are
  built here from Slack's error code, and the sdk logs through a redacting logger.
"""

from __future__ import annotations

import http.client
import logging
import re
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal
from urllib.error import URLError
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from notifiers.base import (Message, NotifierConfig, NotifierContext, NotifierError, Pacing, PermanentError,
                            RetryableError, Sent)
from notifiers.render import slack_blocks, slack_summary_blocks, slack_text

EVENT_TYPE = "cfwatch_alert"
SUMMARY_EVENT_TYPE = "cfwatch_summary"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}\Z")
_ERROR_CODE = re.compile(r"[a-z0-9_.]{1,64}\Z")  # anything else is a body we will not echo
_SCOPES = re.compile(r"[a-z:._,]{1,200}\Z")  # Slack's "needed" scopes, e.g. "channels:history"
_RETRYABLE_CODES = frozenset({"ratelimited", "rate_limited", "service_unavailable", "fatal_error",
                              "internal_error", "request_timeout"})
_WEBHOOK_PERMANENT = frozenset({"invalid_token", "channel_not_found", "no_service", "channel_is_archived",
                                "action_prohibited", "invalid_payload", "no_active_hooks", "no_text",
                                "posting_to_general_channel_denied", "too_many_attachments"})
_HINTS = {
    "not_in_channel": "invite the app to the channel (/invite @app)",
    "channel_not_found": "check the channel name or id, and that the app can see it",
    "missing_scope": "add the scope to the app and reinstall it",
    "invalid_auth": "check the token", "not_authed": "check the token", "token_revoked": "issue a new token",
}
# urlopen raises these for refused connections, resets, timeouts and broken replies.
_NETWORK_ERRORS = (URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError)
_CAUGHT = (SlackClientError, *_NETWORK_ERRORS)
_MAX_LIST_PAGES = 50


class SlackConfig(NotifierConfig):
    type: Literal["slack"] = "slack"
    channel: str | None = None
    token_env: str | None = None  # defaults to SLACK_BOT_TOKEN unless webhook_url_env is set
    webhook_url_env: str | None = None
    base_url: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=300)
    burst: int = Field(default=10, ge=1)
    interval: float = Field(default=1.0, ge=0)
    history_lookback: int = Field(default=200, ge=1, le=999)  # Slack's per-request maximum

    @field_validator("token_env", "webhook_url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        # Also catches a token pasted here; the message does not repeat the value.
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("must be the NAME of an environment variable (letters, digits, _), not the secret")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value is not None and not _is_http_url(value):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> SlackConfig:
        if self.token_env and self.webhook_url_env:
            raise ValueError("set either token_env or webhook_url_env, not both")
        if not self.webhook_url_env:
            self.token_env = self.token_env or "SLACK_BOT_TOKEN"
            if not (self.channel or "").strip("# "):
                raise ValueError('channel is required with a bot token (e.g. "#ceasefire" or C0123456789)')
        return self

    @property
    def secret_env(self) -> str:
        return self.webhook_url_env or self.token_env or "SLACK_BOT_TOKEN"


class SlackNotifier:
    Config = SlackConfig

    def __init__(self, config: SlackConfig, context: NotifierContext) -> None:
        self.name = config.name
        self.config = config
        self.pacing = Pacing(interval=config.interval, burst=config.burst)
        self._webhook_mode = config.webhook_url_env is not None
        self._secret = (context.env.get(config.secret_env) or "").strip() or None
        self._logger = _sdk_logger(config.name, self._secret)
        self._client: WebClient | None = None
        self._hook: WebhookClient | None = None
        channel = (config.channel or "").strip()
        self._channel = channel if _CHANNEL_ID.match(channel) else "#" + channel.lstrip("#")
        self._channel_id = channel if _CHANNEL_ID.match(channel) else None
        # Deliveries whose last attempt failed in a way that may still have posted them
        # (timeout, reset, 5xx): looked up in the channel before they are sent again.
        self._uncertain: set[int] = set()

    def check(self) -> list[str]:
        """Problems check-config can report without calling Slack."""
        var = self.config.secret_env
        if not self._secret:
            return [f"{self.name}: environment variable {var} is not set"]
        if self._webhook_mode and not _is_http_url(self._secret):
            return [f"{self.name}: {var} does not hold an http(s) webhook URL"]
        if not self._webhook_mode and not self._secret.startswith("xox"):
            return [f"{self.name}: {var} does not look like a Slack token (xoxb-...)"]
        return []

    # ---- sending ------------------------------------------------------------------

    def send(self, message: Message) -> Sent:
        record = message.record
        if self._webhook_mode:
            return self._send_webhook(slack_text(record), slack_blocks(record))
        known = self._recheck([message.delivery_id], _posted_as(message), _thread_args(message).get("thread_ts"))
        if known is not None:
            return known
        args: dict[str, Any] = {"channel": self._channel_id or self._channel, "text": slack_text(record),
                                "blocks": slack_blocks(record), "metadata": _alert_metadata(message)}
        return self._post(args | _thread_args(message), [message.delivery_id])

    def send_batch(self, messages: Sequence[Message]) -> Sent:
        """One summary standing in for a burst (never threaded: it spans incidents)."""
        records = [m.record for m in messages]
        text, blocks = f"{len(records)} more incidents", slack_summary_blocks(records)
        if self._webhook_mode:
            return self._send_webhook(text, blocks)
        ids = [m.delivery_id for m in messages]
        known = self._recheck(ids, lambda meta: _summary_covers(meta, ids), None)
        if known is not None:
            return known
        metadata = {"event_type": SUMMARY_EVENT_TYPE, "event_payload": {
            "delivery_ids": ",".join(map(str, ids)), "alert_ids": ",".join(str(r.get("alert_id")) for r in records)}}
        return self._post({"channel": self._channel_id or self._channel, "text": text, "blocks": blocks,
                           "metadata": metadata}, ids)

    def _post(self, args: dict[str, Any], ids: list[int]) -> Sent:
        client = self._web()
        try:
            response = client.chat_postMessage(**args, unfurl_links=False, unfurl_media=False)
        except _CAUGHT as exc:
            if _maybe_delivered(exc):
                self._uncertain.update(ids)
            raise _translate(exc, "chat.postMessage") from None
        self._uncertain.difference_update(ids)
        if isinstance(response.get("channel"), str) and _CHANNEL_ID.match(response["channel"]):
            self._channel_id = response["channel"]
        ts = response.get("ts")
        return Sent(ref=str(ts) if ts else None)

    def _recheck(self, ids: list[int], matches: Callable[[Any], bool], thread_ts: str | None) -> Sent | None:
        """Before resending what may have got through, look for it (a failed look: send)."""
        if not self._uncertain.intersection(ids):
            return None
        try:
            ts = self._find(matches, thread_ts)
        except NotifierError:
            return None
        if ts is None:
            return None
        self._uncertain.difference_update(ids)
        return Sent(ref=ts)

    # ---- reconciliation -------------------------------------------------------------

    def find_sent(self, message: Message) -> Sent | None:
        """The message already in the channel for this delivery, or None (webhooks cannot look)."""
        if self._webhook_mode:
            return None
        thread = _thread_args(message).get("thread_ts")
        ts = self._find(_posted_as(message), thread)
        return Sent(ref=ts) if ts else None

    def _find(self, matches: Callable[[Any], bool], thread_ts: str | None) -> str | None:
        """ts of the first recent message (in the thread, if given) whose metadata matches."""
        client = self._web()
        channel = self._resolve_channel()
        args = {"channel": channel, "limit": self.config.history_lookback, "include_all_metadata": True}
        if thread_ts:  # thread replies are not in conversations.history
            response = self._call("conversations.replies", lambda: client.conversations_replies(ts=thread_ts, **args))
        else:
            response = self._call("conversations.history", lambda: client.conversations_history(**args))
        for item in response.get("messages") or []:
            if isinstance(item, dict) and matches(item.get("metadata")):
                return str(item.get("ts"))
        return None

    def _resolve_channel(self) -> str:
        if self._channel_id:
            return self._channel_id
        client, wanted, cursor = self._web(), self._channel.lstrip("#"), None
        for _ in range(_MAX_LIST_PAGES):
            response = self._call("conversations.list", lambda: client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor))
            for channel in response.get("channels") or []:
                if isinstance(channel, dict) and channel.get("name") == wanted and channel.get("id"):
                    self._channel_id = str(channel["id"])
                    return self._channel_id
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise PermanentError(f"slack channel {self._channel} not found by conversations.list "
                             "(configure its id, or grant channels:read / groups:read)")

    def _call(self, method: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        try:
            return call()
        except _CAUGHT as exc:
            raise _translate(exc, method) from None

    # ---- clients --------------------------------------------------------------------

    def _require_secret(self) -> str:
        if not self._secret:
            what = "incoming webhook URL" if self._webhook_mode else "bot token"
            raise PermanentError(f"slack notifier {self.name}: environment variable {self.config.secret_env} "
                                 f"is not set (it should hold the {what})")
        return self._secret

    def _web(self) -> WebClient:
        if self._client is None:
            base = self.config.base_url or WebClient.BASE_URL
            # retry_handlers=[]: no automatic retry of any kind (see the module docstring).
            client = WebClient(token=self._require_secret(), base_url=base, retry_handlers=[],
                               timeout=self.config.timeout, logger=self._logger)  # type: ignore[arg-type]
            _honour_no_proxy(client, base)
            self._client = client
        return self._client

    def _send_webhook(self, text: str, blocks: list[dict[str, Any]]) -> Sent:
        """Post through the incoming webhook: no threads, no ts, so ``ref`` is None."""
        if self._hook is None:
            url = self._require_secret()
            if not _is_http_url(url):
                raise PermanentError(f"slack notifier {self.name}: {self.config.secret_env} is not an http(s) URL")
            self._hook = WebhookClient(url, timeout=self.config.timeout, retry_handlers=[],  # type: ignore[arg-type]
                                       logger=self._logger)
            _honour_no_proxy(self._hook, url)
        try:
            response = self._hook.send(text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        except _CAUGHT as exc:
            raise _translate(exc, "incoming webhook") from None
        error = _webhook_error(response.status_code, response.body, response.headers)
        if error is not None:
            raise error
        return Sent(ref=None)


# ---- pure helpers -------------------------------------------------------------------

def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _thread_args(message: Message) -> dict[str, Any]:
    """Updates and escalations go under the incident's first message; escalations show in the channel too."""
    event = message.record.get("event")
    if event == "new" or not message.thread_ref:
        return {}
    return {"thread_ts": message.thread_ref} | ({"reply_broadcast": True} if event == "escalation" else {})


def _alert_metadata(message: Message) -> dict[str, Any]:
    record = message.record
    payload = {"alert_id": record.get("alert_id"), "incident_id": record.get("incident_id"),
               "delivery_id": message.delivery_id}
    return {"event_type": EVENT_TYPE, "event_payload": {k: v for k, v in payload.items() if v is not None}}


def _payload(meta: Any, event_type: str) -> dict[str, Any] | None:
    if not isinstance(meta, dict) or meta.get("event_type") != event_type:
        return None
    payload = meta.get("event_payload")
    return payload if isinstance(payload, dict) else None


def _is_delivery(meta: Any, message: Message) -> bool:
    payload = _payload(meta, EVENT_TYPE)
    return payload is not None and str(payload.get("delivery_id")) == str(message.delivery_id) \
        and str(payload.get("alert_id")) == str(message.record.get("alert_id"))


def _posted_as(message: Message) -> Callable[[Any], bool]:
    """Matches metadata of a message that carried this delivery, alone or in a summary."""
    return lambda meta: _is_delivery(meta, message) or _summary_covers(meta, [message.delivery_id])


def _summary_covers(meta: Any, ids: Sequence[int]) -> bool:
    payload = _payload(meta, SUMMARY_EVENT_TYPE)
    return payload is not None and {str(i) for i in ids} <= set(str(payload.get("delivery_ids") or "").split(","))


def _maybe_delivered(exc: BaseException) -> bool:
    """Whether Slack may have posted despite the error: not for refusals, auth errors or 429."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 0) or 0
        return status >= 500 or exc.response.get("error") in ("internal_error", "fatal_error", "request_timeout")
    if isinstance(exc, URLError):
        return False  # urllib wraps only failures to connect or to send the request: nothing was posted
    return isinstance(exc, _NETWORK_ERRORS)


def _translate(exc: BaseException, method: str) -> NotifierError:
    """A NotifierError built from codes and type names only (exception texts may hold secrets)."""
    if isinstance(exc, SlackApiError):
        return _api_error(exc.response, method)
    if isinstance(exc, SlackClientError):
        return PermanentError(f"slack {method} failed: {type(exc).__name__} (check base_url and the client setup)")
    reason = exc.reason if isinstance(exc, URLError) and isinstance(exc.reason, BaseException) else exc
    return RetryableError(f"slack {method} failed: network error ({type(reason).__name__})")


def _api_error(response: SlackResponse, method: str) -> NotifierError:
    status = int(getattr(response, "status_code", 0) or 0)
    data = response.data if isinstance(response.data, dict) else {}
    raw = data.get("error")
    code = raw if isinstance(raw, str) and _ERROR_CODE.match(raw) else None
    needed = data.get("needed")
    hint = _HINTS.get(code or "", "")
    if code == "missing_scope" and isinstance(needed, str) and _SCOPES.match(needed):
        hint = f"add {needed} to the app and reinstall it"
    text = (f"slack {method} failed: {code or 'unexpected response'}" + (f" (HTTP {status})" if status != 200 else "")
            + (f"; {hint}" if hint else ""))
    if status == 429 or code in ("ratelimited", "rate_limited"):
        return RetryableError(text, retry_after=_retry_after(response.headers))
    if status >= 500 or code in _RETRYABLE_CODES:
        return RetryableError(text)
    if code is None and 200 <= status < 300:  # a garbled body (a proxy page): may pass later
        return RetryableError(text)
    return PermanentError(text)


def _webhook_error(status: int, body: Any, headers: Mapping[str, Any]) -> NotifierError | None:
    """WebhookClient returns 4xx/5xx (429 too) without raising: map them here."""
    if 200 <= status < 300:
        return None
    text_body = body.strip() if isinstance(body, str) else ""
    code = text_body if _ERROR_CODE.match(text_body) else None
    text = f"slack incoming webhook failed: {code or 'unexpected response'} (HTTP {status})"
    if status == 429:
        return RetryableError(text, retry_after=_retry_after(headers))
    if code in _WEBHOOK_PERMANENT:
        return PermanentError(text)
    if status >= 500:
        return RetryableError(text)
    return PermanentError(text)


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    for key, value in (headers or {}).items():
        if str(key).lower() == "retry-after":
            value = value[0] if isinstance(value, (list, tuple)) and value else value
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def _honour_no_proxy(client: WebClient | WebhookClient, url: str) -> None:
    """slack-sdk takes HTTPS_PROXY from the environment but ignores NO_PROXY; urllib would not."""
    if client.proxy and urllib.request.proxy_bypass(urlsplit(url).hostname or ""):
        client.proxy = None


class _Redact(logging.Filter):
    """Replaces the secret in slack-sdk's log lines (it logs request URLs and bodies at DEBUG)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        if any(secret in text for secret in self.secrets):
            for secret in self.secrets:
                text = text.replace(secret, "[redacted]")
            record.msg, record.args = text, None
        return True


def _sdk_logger(name: str, secret: str | None) -> logging.Logger:
    """A logger per notifier for slack-sdk, with a filter that redacts its secret."""
    logger = logging.getLogger(f"cfwatch.slack.sdk.{name}")
    for old in [f for f in logger.filters if isinstance(f, _Redact)]:
        logger.removeFilter(old)  # a notifier rebuilt under the same name: keep one filter
    secrets = [secret] if secret else []
    if secret and _is_http_url(secret):  # a webhook URL: its path is the secret part
        secrets.append(urlsplit(secret).path)
    logger.addFilter(_Redact(secrets))
    return logger
