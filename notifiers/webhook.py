"""Webhook notifier: the alert record as a JSON POST, optionally HMAC-signed.

Receivers can check ``X-Cfwatch-Signature: sha256=HEX``, an HMAC-SHA256 with the shared
secret over ``TIMESTAMP.BODY`` (``X-Cfwatch-Timestamp``), and drop repeats by
``X-Cfwatch-Delivery``: a crash between send and mark can repeat a delivery once, with
the same id.

Example::

    notifiers:
      - name: hook
        type: webhook
        url: "https://ops.example.org/cfwatch"   # or url_env: HOOK_URL when the URL is itself a secret
        secret_env: HOOK_SECRET                  # optional: sign the body
        timeout: 10
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Literal

import httpx
from pydantic import Field, model_validator

from notifiers.base import Message, NotifierConfig, NotifierContext, PermanentError, RetryableError, Sent

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class WebhookConfig(NotifierConfig):
    type: Literal["webhook"] = "webhook"
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    timeout: float = Field(default=10.0, gt=0)
    headers: dict[str, str] = {}

    @model_validator(mode="after")
    def _one_url(self) -> WebhookConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        if self.url is not None and not self.url.lower().startswith(("http://", "https://")):
            raise ValueError("url must be an http:// or https:// URL")
        return self


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookNotifier:
    Config = WebhookConfig

    def __init__(self, config: WebhookConfig, context: NotifierContext,
                 client: httpx.Client | None = None) -> None:
        self.name = config.name
        self.config = config
        self.env = context.env
        self.client = client or httpx.Client(timeout=config.timeout, follow_redirects=False, trust_env=False)

    def _url(self) -> str:
        if self.config.url is not None:
            return self.config.url
        url = self.env.get(self.config.url_env or "")
        if not url:
            raise PermanentError(f"environment variable {self.config.url_env} is not set")
        return url

    def _headers(self, message: Message, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        headers = {**self.config.headers, "Content-Type": "application/json",
                   "X-Cfwatch-Delivery": str(message.delivery_id), "X-Cfwatch-Timestamp": timestamp}
        if self.config.secret_env:
            secret = self.env.get(self.config.secret_env)
            if not secret:
                raise PermanentError(f"environment variable {self.config.secret_env} is not set")
            headers["X-Cfwatch-Signature"] = sign(secret, timestamp, body)
        return headers

    def send(self, message: Message) -> Sent:
        body = json.dumps(message.record, ensure_ascii=False, sort_keys=True).encode("utf-8")
        url = self._url()
        try:
            response = self.client.post(url, content=body, headers=self._headers(message, body))
        except httpx.TimeoutException:
            raise RetryableError(f"webhook {self.name}: timed out") from None
        except httpx.HTTPError as exc:
            # The exception text can carry the URL, which may be a secret: name only the kind.
            raise RetryableError(f"webhook {self.name}: {type(exc).__name__}") from None
        return self._result(response)

    def _result(self, response: httpx.Response) -> Sent:
        status = response.status_code
        if 200 <= status < 300:
            return Sent(ref=response.headers.get("x-request-id"))
        retry_after = response.headers.get("retry-after")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        message = f"webhook {self.name}: HTTP {status}"
        if status in RETRYABLE_STATUS or status >= 500:
            raise RetryableError(message, retry_after=wait)
        raise PermanentError(message)
