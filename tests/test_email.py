"""The email notifier against a real SMTP server (aiosmtpd on 127.0.0.1).

What the server received is parsed with the ``email`` package, as a mail client would.
"""

from __future__ import annotations

import re

import base64
import email.policy
import inspect
import logging
import random
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BORDER_TEXT, BORDER_TITLE, item, read_jsonl, rss, open_store
from notifiers import REGISTRY, Message, NotifierContext, PermanentError, RetryableError, Sent, render
from notifiers.email import EmailConfig, EmailNotifier
from pipeline.app import App
from pipeline.cli import main
from pipeline.config import ConfigError, load_config, parse_config
from pipeline.cycle import run_once
from smtpserver import SmtpServer, make_ca, silent_server

USER, PASSWORD = "alerts-bot", "s3cret-Pa55word!"

# The local test server requires AUTH without TLS on purpose (it only listens on 127.0.0.1).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

ROOT_ID = re.compile(r"<cfwatch-incident-7\.[0-9a-f]{10}@example\.org>")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def smtp_auth() -> Iterator[SmtpServer]:
    server = SmtpServer(auth=(USER, PASSWORD))
    yield server
    server.close()


def record(incident: int = 7, alert: int = 7, event: str = "new", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "alert_id": alert, "incident_id": incident, "event": event, "reason": "first_notification",
        "categories": ["shelling", "ceasefire_violation"], "severity": "high",
        "title": "Azerbaijani forces shell Armenian border towns", "url": "https://news.example/a1",
        "published": "2026-01-01T08:00:00Z", "created_at": "2026-01-01T08:05:00Z",
        "places": [{"name": "Goris", "country": "AM"}, {"name": "Kapan", "country": "AM"}],
        "actors": ["Azerbaijan", "Armenia"], "casualties": {"killed": 3, "injured": None}, "treaties": [],
        "sources": [{"outlet": "News", "url": "https://news.example/a1", "title": "Border towns shelled"}],
        "matches": [{"rule": "shelling.artillery", "category": "shelling", "text": ["artillery"]}],
    }
    base.update(changes)
    return base


def notifier(server: SmtpServer | None = None, env: dict[str, str] | None = None, **config: Any) -> EmailNotifier:
    settings: dict[str, Any] = {"name": "desk", "type": "email", "host": "127.0.0.1",
                                "port": server.port if server else 25, "starttls": False, "timeout": 5,
                                "from": "Ceasefire watch <alerts@example.org>", "to": ["desk@example.org"]}
    settings.update(config)
    return EmailNotifier(EmailConfig.model_validate(settings), NotifierContext(env=env or {}))


def only_message(server: SmtpServer) -> EmailMessage:
    assert len(server.received) == 1, server.received
    return server.received[0].message()


def parts(msg: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content().replace("\r\n", "\n") for part in msg.iter_parts()}


# ---- the message --------------------------------------------------------------

def test_alert_is_multipart_alternative_with_rendered_subject_and_both_parts(smtp):
    rec = record()
    sent = notifier(smtp, cc=["Duty <duty@example.org>"]).send(Message(rec, delivery_id=1))
    msg = only_message(smtp)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == render.subject(rec)
    assert msg["From"] == "Ceasefire watch <alerts@example.org>"
    assert msg["To"] == "desk@example.org" and msg["Cc"] == "Duty <duty@example.org>"
    assert msg["Date"] and msg["Auto-Submitted"] == "auto-generated"
    body = parts(msg)
    assert body["text/plain"].rstrip("\n") == render.plain_text(rec)
    assert body["text/html"].rstrip("\n") == render.html_document([rec])
    assert smtp.received[0].mail_from == "alerts@example.org"
    assert sorted(smtp.received[0].rcpt_tos) == ["desk@example.org", "duty@example.org"]
    assert sent == Sent(ref=msg["Message-ID"]) and ROOT_ID.fullmatch(sent.ref)


def test_message_id_is_stable_per_incident_and_updates_thread_under_it(smtp):
    email_ = notifier(smtp)
    first = email_.send(Message(record(), delivery_id=1))
    again = email_.send(Message(record(), delivery_id=1))  # a retried first alert
    update = email_.send(Message(record(alert=9, event="update"), delivery_id=2, thread_ref=first.ref))
    lost_ref = email_.send(Message(record(alert=10, event="escalation"), delivery_id=3))
    assert first.ref == again.ref and ROOT_ID.fullmatch(first.ref)
    assert update.ref == first.ref.replace("@", "-alert-9@")
    assert lost_ref.ref == first.ref.replace("@", "-alert-10@")
    received = [r.message() for r in smtp.received]
    assert [m["Message-ID"] for m in received] == [first.ref, again.ref, update.ref, lost_ref.ref]
    assert received[0]["In-Reply-To"] is None and received[0]["References"] is None
    for reply in received[2:]:  # with or without the outbox's thread_ref, the root is the same
        assert reply["In-Reply-To"] == reply["References"] == first.ref


def test_a_hostile_thread_ref_is_not_copied_into_headers(smtp):
    hostile = "<x@example.org>\r\nBcc: victim@example.org"
    notifier(smtp).send(Message(record(event="update"), delivery_id=2, thread_ref=hostile))
    msg = only_message(smtp)
    assert ROOT_ID.fullmatch(msg["In-Reply-To"])
    assert smtp.received[0].rcpt_tos == ["desk@example.org"]


def test_a_record_without_an_incident_gets_a_unique_unthreaded_id(smtp):
    email_ = notifier(smtp)
    refs = {email_.send(Message(record(incident=0, alert=0), delivery_id=0)).ref for _ in range(2)}
    assert len(refs) == 2 and all(r and r.endswith("@example.org>") for r in refs)


def test_non_ascii_and_long_titles_survive_encoding_and_folding(smtp):
    rec = record(places=[], title="Обстрел Гориса и Капана; Qubadlı, Laçın — " * 6)
    notifier(smtp).send(Message(rec, delivery_id=1))
    msg = only_message(smtp)
    assert msg["Subject"] == render.subject(rec) and len(msg["Subject"]) > 78
    assert "Обстрел Гориса" in parts(msg)["text/plain"]


def test_mixed_script_subjects_keep_every_space(smtp):
    # Python's default header folder loses the space between two encoded words.
    rng = random.Random(7)
    words = ["Обстрел", "Гориса", "и", "Капана;", "Qubadlı,", "Laçın", "—", "Ջերմուկ", "shelling", "town,"]
    records = [record(places=[], title=" ".join(rng.choice(words) for _ in range(rng.randint(5, 40))))
               for _ in range(25)]
    email_ = notifier(smtp)
    for n, rec in enumerate(records):
        email_.send(Message(rec, delivery_id=n))
    assert [r.message()["Subject"] for r in smtp.received] == [render.subject(r) for r in records]
    assert all(r.content.isascii() for r in smtp.received)


def test_encoded_words_in_a_title_are_not_decoded_by_clients(smtp):
    rec = record(places=[], title="=?utf-8?b?QmNjOiB2aWN0aW1AZXhhbXBsZS5vcmc=?= report")
    notifier(smtp).send(Message(rec, delivery_id=1))
    assert only_message(smtp)["Subject"] == render.subject(rec)


def test_message_id_domain_can_be_set(smtp):
    sent = notifier(smtp, message_id_domain="alerts.example.net").send(Message(record(), delivery_id=1))
    assert re.fullmatch(r"<cfwatch-incident-7\.[0-9a-f]{10}@alerts\.example\.net>", sent.ref)


def test_message_ids_differ_when_a_new_database_reuses_incident_numbers(smtp):
    email_ = notifier(smtp)
    before = email_.send(Message(record(), delivery_id=1))
    after_reset = email_.send(Message(record(title="Another incident, numbered 7 again"), delivery_id=1))
    assert before.ref != after_reset.ref


# ---- hostile feed text -----------------------------------------------------------

@pytest.mark.faults  # in the fault table of the reliability issue
def test_crlf_bcc_in_title_gives_one_line_subject_and_no_extra_recipient(smtp):
    rec = record(title="Shelling near Goris\r\nBcc: victim@example.org\r\n\r\nfake body", places=[],
                 sources=[{"outlet": "X\r\nCc: victim2@example.org", "url": "https://x.example/", "title": "t"}])
    notifier(smtp).send(Message(rec, delivery_id=1))
    received = smtp.received[0]
    assert received.rcpt_tos == ["desk@example.org"]
    msg = received.message()
    assert msg["Subject"] == render.subject(rec)
    assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"]
    assert "Bcc: victim@example.org" in msg["Subject"]  # shown as text, inert
    assert msg["Bcc"] is None and msg["Cc"] is None
    header_block = received.content.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith((b"bcc:", b"cc:")) for line in header_block.split(b"\r\n"))


def test_the_email_package_refuses_crlf_in_a_header_as_a_second_guard():
    msg = EmailMessage(policy=email.policy.SMTP)
    with pytest.raises(ValueError):
        msg["Subject"] = "Alert\r\nBcc: victim@example.org"
    with pytest.raises(ValueError):  # the notifier's own encoder for non-ASCII subjects too
        notifier()._compose("Обстрел\r\nBcc: victim@example.org", "text", "<p>html</p>")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


@pytest.mark.faults  # in the fault table of the reliability issue
def test_markup_from_the_feed_is_escaped_in_the_html_part(smtp):
    rec = record(title='<script>alert(1)</script><img src=x onerror="alert(2)">',
                 url="javascript:alert(3)", places=[{"name": "<svg onload=alert(4)>", "country": "AM"}],
                 sources=[{"outlet": "<b>Evil</b>", "url": "javascript:alert(5)", "title": "<svg/onload=x>"},
                          {"outlet": "Ok", "url": 'https://ok.example/"onmouseover="x', "title": "fine"}])
    notifier(smtp).send(Message(rec, delivery_id=1))
    html = parts(only_message(smtp))["text/html"]
    parser = _Tags()
    parser.feed(html)
    names = {tag for tag, _ in parser.tags}
    assert not names & {"script", "img", "svg", "b"}, names
    attributes = {key for _, attrs in parser.tags for key in attrs}
    assert not any(key.startswith("on") for key in attributes), attributes
    hrefs = [attrs["href"] or "" for tag, attrs in parser.tags if tag == "a"]
    assert hrefs and all(h.startswith("https://") for h in hrefs), hrefs
    assert "&lt;script&gt;" in html and "javascript:" not in "".join(hrefs)


# ---- failures -------------------------------------------------------------------

@pytest.mark.parametrize("step, reply, error", [
    ("rcpt", "451 4.3.0 mailbox busy, try later", RetryableError),
    ("rcpt", "550 5.1.1 no such user", PermanentError),
    ("data", "451 4.3.0 local error", RetryableError),
    ("data", "554 5.6.0 message rejected", PermanentError),
    ("mail", "421 4.7.0 too busy", RetryableError),
    ("mail", "553 5.7.1 sender not allowed", PermanentError),
])
@pytest.mark.faults  # in the fault table of the reliability issue
def test_smtp_replies_map_to_retryable_or_permanent(smtp, step, reply, error):
    setattr(smtp.script, step, reply)
    with pytest.raises(error) as caught:
        notifier(smtp).send(Message(record(), delivery_id=1))
    assert type(caught.value) is error
    assert reply.split()[0] in str(caught.value)
    if step == "rcpt":
        assert "desk@example.org" in str(caught.value)  # which recipients
    assert smtp.received == []


def test_partial_refusal_counts_as_sent_and_logs_the_refused_address(smtp, caplog):
    smtp.script.refuse["gone@example.org"] = "550 5.1.1 no such user"
    caplog.set_level(logging.INFO, logger="cfwatch.email")
    sent = notifier(smtp, to=["desk@example.org", "gone@example.org"]).send(Message(record(), delivery_id=1))
    assert sent.ref and smtp.received[0].rcpt_tos == ["desk@example.org"]
    warning = next(r for r in caplog.records if r.getMessage() == "email_recipients_refused")
    assert "gone@example.org (550" in warning.cfwatch_fields["refused"]


def test_login_with_credentials_from_the_environment(smtp_auth):
    env = {"SMTP_USER": USER, "SMTP_PASSWORD": PASSWORD}
    notifier(smtp_auth, env=env, username_env="SMTP_USER", password_env="SMTP_PASSWORD").send(
        Message(record(), delivery_id=1))
    assert smtp_auth.logins == [(USER, True)] and len(smtp_auth.received) == 1


def test_auth_failure_is_permanent_and_no_secret_reaches_errors_or_logs(smtp_auth, caplog):
    caplog.set_level(logging.DEBUG)
    env = {"SMTP_USER": USER, "SMTP_PASSWORD": PASSWORD + "-wrong"}
    with pytest.raises(PermanentError) as caught:
        notifier(smtp_auth, env=env, username_env="SMTP_USER", password_env="SMTP_PASSWORD").send(
            Message(record(), delivery_id=1))
    text = str(caught.value)
    assert "535" in text and "SMTP_PASSWORD" in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    # aiosmtpd (mail.log) is the test's server; it may log what it received, our side may not.
    ours = "\n".join(f"{r.getMessage()} {getattr(r, 'cfwatch_fields', '')}" for r in caplog.records
                     if not r.name.startswith("mail.log"))
    for secret in secret_forms():
        assert secret not in text and secret not in ours


def secret_forms() -> list[str]:
    """The credentials as they could leak: plain, and base64 as AUTH PLAIN / LOGIN send them."""
    plain_blob = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    return [PASSWORD, USER, base64.b64encode(PASSWORD.encode()).decode(), plain_blob]


def test_smtplib_debug_output_is_never_enabled():
    # smtplib's debug output prints the AUTH exchange, i.e. the password in base64.
    import notifiers.email as module

    assert "set_debuglevel" not in inspect.getsource(module) and "debuglevel" not in inspect.getsource(module)


def test_missing_credential_variable_is_named_not_guessed(smtp_auth):
    with pytest.raises(PermanentError, match="SMTP_PASSWORD is not set"):
        notifier(smtp_auth, env={"SMTP_USER": USER}, username_env="SMTP_USER",
                 password_env="SMTP_PASSWORD").send(Message(record(), delivery_id=1))
    assert smtp_auth.logins == []


@pytest.mark.faults  # in the fault table of the reliability issue
def test_connection_refused_and_silence_are_retryable(smtp):
    port = smtp.port
    smtp.stop()
    with pytest.raises(RetryableError, match="refused"):
        notifier(port=port).send(Message(record(), delivery_id=1))
    with silent_server() as quiet, pytest.raises(RetryableError, match="timed out"):
        notifier(port=quiet, timeout=0.3).send(Message(record(), delivery_id=1))


def test_starttls_required_but_not_offered_is_permanent(smtp):
    with pytest.raises(PermanentError, match="STARTTLS"):
        notifier(smtp, starttls=True).send(Message(record(), delivery_id=1))
    assert smtp.received == []


# ---- TLS with a private CA -----------------------------------------------------------

@pytest.fixture(scope="module")
def private_ca(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_with_a_private_ca_and_login(private_ca, mode):
    tls = {"starttls": private_ca.server_context} if mode == "starttls" else {
        "implicit_tls": private_ca.server_context}
    server = SmtpServer(auth=(USER, PASSWORD), **tls)
    try:
        settings = {"starttls": mode == "starttls", "ssl": mode == "ssl", "username_env": "U", "password_env": "P"}
        env = {"U": USER, "P": PASSWORD}
        with pytest.raises(RetryableError, match="certificate not trusted"):
            notifier(server, env=env, **settings).send(Message(record(), delivery_id=1))
        notifier(server, env=env, ca_file=str(private_ca.ca_file), **settings).send(Message(record(), delivery_id=1))
        assert len(server.received) == 1 and server.logins == [(USER, True)]
    finally:
        server.close()


# ---- digest -----------------------------------------------------------------------------

def test_send_batch_sends_three_records_as_one_digest(smtp):
    records = [record(incident=n, alert=n, severity=s) for n, s in ((1, "low"), (2, "critical"), (3, "medium"))]
    email_ = notifier(smtp, digest="1h")
    assert email_.digest is not None and email_.digest.period == timedelta(hours=1)
    sent = email_.send_batch([Message(r, delivery_id=10 + i) for i, r in enumerate(records)])
    msg = only_message(smtp)
    assert msg["Subject"] == render.digest_subject(records) == "[cfwatch][CRITICAL] Digest: 3 alerts"
    body = parts(msg)
    assert body["text/plain"].rstrip("\n") == render.digest_text(records)
    assert body["text/html"].rstrip("\n") == render.html_document(records)
    assert sent.ref == msg["Message-ID"] == "<cfwatch-digest-10-12-3@example.org>"


# ---- configuration ----------------------------------------------------------------------

def parse(entry: dict[str, Any], tmp_path: Path):
    base = {"name": "desk", "type": "email", "host": "smtp.example.org", "from": "alerts@example.org",
            "to": ["desk@example.org"]}
    base.update(entry)
    text = yaml.safe_dump({"notifiers": [{k: v for k, v in base.items() if v is not None}]}, sort_keys=False)
    return parse_config(text, "config.yaml", tmp_path)


@pytest.mark.parametrize("entry, path, message", [
    ({"digest": "every hour"}, ("notifiers", 0, "digest"), "not a duration"),
    ({"digest": "0 25 * * *"}, ("notifiers", 0, "digest"), "bad cron expression"),
    ({"to": ["desk@example.org\r\nBcc: victim@example.org"]}, ("notifiers", 0, "to", 0), "line breaks"),
    ({"to": ["ok@example.org", "not an address"]}, ("notifiers", 0, "to", 1), "not an email address"),
    ({"to": None}, ("notifiers", 0, "to"), "required key is missing"),
    ({"to": []}, ("notifiers", 0, "to"), "at least 1"),
    ({"from": "alerts@example.org\nBcc: x@example.org"}, ("notifiers", 0, "from"), "line breaks"),
    ({"cc": ["a@b@c"]}, ("notifiers", 0, "cc", 0), "not an email address"),
    ({"host": "smtp://smtp.example.org"}, ("notifiers", 0, "host"), "host name"),
    ({"username_env": "SMTP_USER"}, ("notifiers", 0), "set both or neither"),
    ({"username_env": "U", "password_env": "P", "starttls": False}, ("notifiers", 0), "needs ssl"),
])
def test_config_errors_name_the_key(tmp_path, entry, path, message):
    with pytest.raises(ConfigError) as caught:
        parse(entry, tmp_path)
    assert caught.value.path == path and message in caught.value.message, (caught.value.path, caught.value.message)


def test_config_defaults_and_forms(tmp_path):
    config = parse({"digest": "0 8 * * *", "timeout": "30s", "cc": ['"Desk, Ops" <ops@example.org>']}, tmp_path)
    email_config = config.notifiers[0]
    assert isinstance(email_config, EmailConfig) and REGISTRY["email"] is EmailNotifier
    defaults = (email_config.port, email_config.ssl, email_config.starttls, email_config.verify_tls)
    assert defaults == (587, False, True, True)
    assert email_config.timeout == 30.0 and email_config.from_ == "alerts@example.org"
    built = EmailNotifier(email_config, NotifierContext())
    assert built.domain == "example.org" and built.digest is not None and built.digest.cron is not None
    plain_local = parse({"host": "127.0.0.1", "starttls": False, "username_env": "U", "password_env": "P"}, tmp_path)
    assert plain_local.notifiers[0].username_env == "U"  # login without TLS only to a local relay


# ---- through the real pipeline -------------------------------------------------------------

def email_entry(server: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {"name": "desk", "type": "email", "host": "127.0.0.1", "port": server.port, "starttls": False,
            "timeout": 2, "from": "alerts@example.org", "to": ["desk@example.org"], **extra}


def deliveries(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    with open_store(tmp_path) as db:
        return db.execute("select notifier, status, last_error from deliveries where notifier = 'desk'").fetchall()


def test_poll_once_sends_exactly_one_email(smtp, feed_server, write_config, tmp_path):
    url = feed_server.set("/news.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/a1")]))
    config = write_config([{"name": "news", "url": url}], notifiers=[
        {"name": "archive", "type": "jsonl", "path": "alerts.jsonl"}, email_entry(smtp)])
    assert main(["--config", str(config), "poll", "--once"]) == 0
    msg = only_message(smtp)
    [alert] = read_jsonl(tmp_path / "alerts.jsonl")
    assert msg["Subject"] == render.subject(alert)
    assert msg["Message-ID"].startswith(f"<cfwatch-incident-{alert['incident_id']}.")
    assert deliveries(tmp_path) == [("desk", "sent", None)]
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert len(smtp.received) == 1  # nothing new, nothing sent again


def test_server_down_leaves_delivery_pending_then_delivers_once(smtp, feed_server, write_config, tmp_path):
    url = feed_server.set("/news.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/a1")]))
    feeds = [{"name": "news", "url": url}]
    smtp.stop()
    config = write_config(feeds, notifiers=[email_entry(smtp)], delivery={"backoff": "1s", "drain_timeout": 0})
    assert main(["--config", str(config), "poll", "--once"]) == 0
    [(_, status, error)] = deliveries(tmp_path)
    assert status == "pending" and "127.0.0.1" in error and "refused" in error.lower()
    smtp.start()
    write_config(feeds, notifiers=[email_entry(smtp)], delivery={"backoff": "1s", "drain_timeout": 5})
    assert main(["--config", str(config), "poll", "--once"]) == 0
    assert deliveries(tmp_path) == [("desk", "sent", None)]
    assert len(smtp.received) == 1


def test_wrong_password_through_the_pipeline_fails_without_leaking_it(smtp_auth, feed_server, write_config,
                                                                      tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SMTP_USER", USER)
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD[::-1])
    url = feed_server.set("/news.xml", rss([item(BORDER_TITLE, BORDER_TEXT, "https://news.example/a1")]))
    config = write_config([{"name": "news", "url": url}], notifiers=[
        email_entry(smtp_auth, username_env="SMTP_USER", password_env="SMTP_PASSWORD")])
    assert main(["--config", str(config), "--log-level", "DEBUG", "poll", "--once"]) == 0
    [(_, status, error)] = deliveries(tmp_path)
    assert status == "failed" and "535" in error  # permanent: not retried
    logs = capsys.readouterr().err
    assert "delivery_failed" in logs
    wrong = [PASSWORD[::-1], base64.b64encode(PASSWORD[::-1].encode()).decode(),
             base64.b64encode(f"\0{USER}\0{PASSWORD[::-1]}".encode()).decode()]
    for secret in wrong + [USER]:
        assert secret not in error and secret not in logs


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(minute=10, second=0, microsecond=0)

    def __call__(self) -> datetime:
        return self.now


# Three reports about unrelated places, so they are three incidents, not one.
DIGEST_REPORTS = [
    (BORDER_TITLE, BORDER_TEXT),
    ("Mortar fire hits Donetsk suburb despite truce, two civilians killed",
     "Shells struck a residential street in the Donetsk suburb of Horlivka overnight, killing two civilians, "
     "local officials said, accusing the other side of violating the ceasefire."),
    ("Clashes erupt on Kashmir line of control, army says ceasefire violated",
     "Troops exchanged small-arms fire along the Line of Control near Poonch, the army said, calling it an "
     "unprovoked violation of the ceasefire agreement."),
]


def test_digest_collects_alerts_until_the_period_ends(smtp, feed_server, write_config):
    items = [item(title, text, f"https://news.example/{n}") for n, (title, text) in enumerate(DIGEST_REPORTS)]
    url = feed_server.set("/news.xml", rss(items))
    config = load_config(write_config([{"name": "news", "url": url}], notifiers=[email_entry(smtp, digest="1h")]))
    clock = FakeClock()
    app = App.build(config, clock=clock)
    try:
        first = run_once(app)
        assert first.alerts == 3 and smtp.received == [] and first.still_pending == first.alerts
        clock.now += timedelta(hours=1)
        second = run_once(app)
    finally:
        app.close()
    msg = only_message(smtp)
    sent = second.delivery.sent
    assert sent >= first.alerts and second.still_pending == 0
    assert msg["Subject"].endswith(f"Digest: {sent} alerts")
    text = parts(msg)["text/plain"]
    assert all(title in text for title, _ in DIGEST_REPORTS)
