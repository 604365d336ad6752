"""The webhook notifier against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from receiver import Receiver
from notifiers import Message, NotifierContext, PermanentError, RetryableError
from notifiers.webhook import WebhookConfig, WebhookNotifier, sign


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


RECORD = {"alert_id": 3, "incident_id": 2, "event": "new", "title": "Shelling <!channel>", "categories": ["shelling"]}


def _notifier(env_url: str, **extra) -> WebhookNotifier:
    env = {"HOOK_SECRET": "k3y", "HOOK_URL": env_url}
    return WebhookNotifier(WebhookConfig(name="hook", type="webhook", **extra), NotifierContext(env=env))


def test_posts_the_record_signed_with_a_delivery_id(receiver):
    _notifier(receiver.url, url=receiver.url, secret_env="HOOK_SECRET").send(Message(RECORD, delivery_id=17))
    ((headers, body),) = receiver.posts
    assert json.loads(body) == RECORD
    assert headers["x-cfwatch-delivery"] == "17"
    assert headers["x-cfwatch-signature"] == sign("k3y", headers["x-cfwatch-timestamp"], body)


@pytest.mark.parametrize("status, headers, error, retry_after", [
    (429, {"Retry-After": "7"}, RetryableError, 7.0),
    (503, {}, RetryableError, None),
    (404, {}, PermanentError, None),
    (401, {}, PermanentError, None),
])
def test_status_codes_map_to_retryable_or_permanent(receiver, status, headers, error, retry_after):
    receiver.statuses.append((status, headers))
    with pytest.raises(error) as caught:
        _notifier(receiver.url, url_env="HOOK_URL").send(Message(RECORD, delivery_id=1))
    assert type(caught.value) is error and caught.value.retry_after == retry_after
    assert "s3cr3tpath" not in str(caught.value)  # the URL from url_env is a secret


def test_unreachable_is_retryable_and_does_not_leak_the_url():
    notifier = _notifier("http://127.0.0.1:9/hook/s3cr3tpath", url_env="HOOK_URL")
    with pytest.raises(RetryableError) as caught:
        notifier.send(Message(RECORD, delivery_id=1))
    assert "s3cr3tpath" not in str(caught.value)


def test_config_needs_exactly_one_url():
    with pytest.raises(ValueError):
        WebhookConfig(name="h", type="webhook")
    with pytest.raises(ValueError):
        WebhookConfig(name="h", type="webhook", url="ftp://x")
