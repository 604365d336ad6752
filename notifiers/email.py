"""Email notifier: one multipart (plain text + HTML) message per alert over SMTP, or a
digest of several alerts, threaded per incident in mail clients.

Example::

    notifiers:
      - name: desk
        type: email
        host: smtp.example.org
        port: 587                 # 465 with ssl: true (implicit TLS)
        starttls: true            # upgrade a plain connection; ignored when ssl is true
        username_env: SMTP_USER   # names of environment variables, never the secrets
        password_env: SMTP_PASSWORD
        from: "Ceasefire watch <alerts@example.org>"
        to: [desk@example.org]
        cc: [duty-officer@example.org]
        digest: 1h                # or a cron expression (UTC): "0 8 * * *"; omit to send at once
        timeout: 20s
        # message_id_domain: example.org   (default: the domain of `from`)
        # verify_tls: true; ca_file: /etc/ssl/private-ca.pem   (for a private CA)

Feed text only ever reaches the Subject and the body through notifiers.render (one
line, HTML-escaped); the envelope recipients come from this config alone. smtplib's
debug output is never enabled: it prints the password in base64.
"""

from __future__ import annotations

import email.policy
import hashlib
import ipaddress
import logging
import re
import smtplib
import ssl
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from notifiers import render
from notifiers.base import (Message, NotifierConfig, NotifierContext, NotifierError, PermanentError,
                            RetryableError, Sent)
from notifiers.digest import DigestSchedule, parse_digest
from pipeline.durations import parse_duration
from pipeline.logfmt import log_event

log = logging.getLogger("cfwatch.email")

# Dot-atom local part and a plain (ASCII) domain: enough to refuse broken or hostile
# values; quoted local parts and non-ASCII addresses (SMTPUTF8) are not supported.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
_ADDR_SPEC = re.compile(rf"{_LOCAL}@{_DOMAIN}")
_NAMED = re.compile(r'(?:"(?P<quoted>[^"\\]*)"|(?P<plain>[^<>"@,;:\\]*?))\s*<(?P<addr>[^<>]*)>')
_MSG_ID = re.compile(rf"<[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_DOMAIN}>")
_MASK = "[redacted]"


def parse_address(value: str) -> tuple[str, str]:
    """``(display name, addr-spec)`` from ``desk@x.org`` or ``Desk <desk@x.org>``; ValueError if broken."""
    if any(not ch.isprintable() for ch in value):
        raise ValueError("an address must not contain line breaks or control characters")
    text = value.strip()
    named = _NAMED.fullmatch(text)
    name, addr = ((named["quoted"] or named["plain"] or "").strip(), named["addr"].strip()) if named else ("", text)
    if not _ADDR_SPEC.fullmatch(addr):
        raise ValueError(f"'{value}' is not an email address such as desk@example.org or 'Desk <desk@example.org>'")
    return name, addr


def _address(value: str) -> str:
    parse_address(value)
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]


class EmailConfig(NotifierConfig):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["email"] = "email"
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    ssl: bool = False  # implicit TLS from the first byte (port 465)
    starttls: bool = True  # upgrade a plain connection (port 587); ignored when ssl is true
    username_env: str | None = None
    password_env: str | None = None
    from_: EmailAddress = Field(alias="from")
    to: list[EmailAddress] = Field(min_length=1)
    cc: list[EmailAddress] = []
    digest: str | None = None
    timeout: float = Field(default=20.0, gt=0)
    message_id_domain: str | None = None
    verify_tls: bool = True
    ca_file: str | None = None

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", value):
            raise ValueError("must be a host name or IP address (no scheme, path or spaces)")
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None:
            parse_digest(value)  # its ValueError names the accepted forms
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return parse_duration(value).total_seconds()

    @field_validator("message_id_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(_DOMAIN, value):
            raise ValueError("must be a domain name such as example.org")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> EmailConfig:
        if bool(self.username_env) != bool(self.password_env):
            raise ValueError("username_env and password_env go together: set both or neither")
        # A password sent without TLS can be read on the wire; only a relay on this
        # machine is exempt (and the local test server).
        if self.username_env and not (self.ssl or self.starttls) and not _is_loopback(self.host):
            raise ValueError("a login needs ssl: true or starttls: true (except for a relay on localhost)")
        return self


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class EmailNotifier:
    Config = EmailConfig

    def __init__(self, config: EmailConfig, context: NotifierContext) -> None:
        self.name = config.name
        self.config = config
        self.digest: DigestSchedule | None = parse_digest(config.digest) if config.digest else None
        self._env = context.env
        self._base_dir = context.base_dir
        self._sender = parse_address(config.from_)
        self._to = [parse_address(a) for a in config.to]
        self._cc = [parse_address(a) for a in config.cc]
        self.domain = config.message_id_domain or self._sender[1].rpartition("@")[2]
        self._tls: ssl.SSLContext | None = None
        if not config.verify_tls:
            log_event(log, logging.WARNING, "email_tls_unverified", notifier=self.name, host=config.host)

    # ---- the two entry points the outbox calls ---------------------------------

    def send(self, message: Message) -> Sent:
        record = message.record
        msg = self._compose(render.subject(record), render.plain_text(record), render.html_document([record]))
        msg_id, parent = self._message_ids(message)
        msg["Message-ID"] = msg_id
        if parent:  # In-Reply-To + References is what clients thread on
            msg["In-Reply-To"] = parent
            msg["References"] = parent
        self._transmit(msg)
        return Sent(ref=msg_id)

    def send_batch(self, messages: list[Message]) -> Sent:
        records = [m.record for m in messages]
        msg = self._compose(render.digest_subject(records), render.digest_text(records),
                            render.html_document(records))
        ids = [m.delivery_id for m in messages]
        # Derived from the deliveries, so a retried digest keeps its Message-ID and a
        # client that got it twice can drop the copy.
        msg_id = f"<cfwatch-digest-{min(ids)}-{max(ids)}-{len(ids)}@{self.domain}>"
        msg["Message-ID"] = msg_id
        self._transmit(msg)
        return Sent(ref=msg_id)

    # ---- composing ---------------------------------------------------------------

    def _compose(self, subject: str, text: str, html: str) -> EmailMessage:
        """multipart/alternative, plain text first and HTML last (the preferred part)."""
        msg = EmailMessage(policy=email.policy.SMTP)
        # The email package (and _EncodedHeader) refuse CR/LF in a header value: a second
        # guard behind render.one_line, so a feed title can never add a header such as Bcc.
        plain = subject.isascii() and "=?" not in subject
        msg["Subject"] = subject if plain else _EncodedHeader("Subject", subject)
        msg["From"] = _header_address(self._sender)
        msg["To"] = [_header_address(a) for a in self._to]
        if self._cc:
            msg["Cc"] = [_header_address(a) for a in self._cc]
        msg["Date"] = formatdate(usegmt=True)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to us
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        return msg

    def _message_ids(self, message: Message) -> tuple[str, str | None]:
        """(own Message-ID, parent Message-ID or None) for one alert."""
        record = message.record
        incident, alert = _int(record.get("incident_id")), _int(record.get("alert_id"))
        if incident is None:  # not a stored incident (e.g. `cfwatch notify test`): unique, unthreaded
            return make_msgid("cfwatch", domain=self.domain), None
        # The tag (from the incident's first headline and time, which never change) keeps
        # ids unique when a fresh database numbers incidents from 1 again.
        tag = hashlib.sha256(f"{record.get('title')}\x1f{record.get('published')}".encode()).hexdigest()[:10]
        root = f"<cfwatch-incident-{incident}.{tag}@{self.domain}>"
        if record.get("event") == "new":
            return root, None
        number = alert if alert is not None else message.delivery_id
        own = f"<cfwatch-incident-{incident}.{tag}-alert-{number}@{self.domain}>"
        # thread_ref is what this notifier returned for the incident's first message;
        # prefer it (the domain may have changed since), but only if it is a clean id.
        parent = message.thread_ref if message.thread_ref and _MSG_ID.fullmatch(message.thread_ref) else root
        return own, parent

    # ---- sending -----------------------------------------------------------------

    def _transmit(self, msg: EmailMessage) -> None:
        login = self._credentials()  # before connecting: a missing variable is not an outage
        envelope = [addr for _, addr in self._to + self._cc]  # config only, never headers
        try:
            refused = self._session(msg, envelope, login)
        except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError and timeouts are OSErrors
            # ``from None``: the original may quote a server reply that echoes the login.
            raise self._scrub_error(smtp_error(exc, self._where(), self._secret_names())) from None
        if refused:
            # Some recipients took it; a retry would send the others a duplicate, so this
            # counts as sent and the refused addresses are logged for a human to fix.
            log_event(log, logging.WARNING, "email_recipients_refused", notifier=self.name,
                      refused=_describe_refused(refused), message_id=msg["Message-ID"])
        log_event(log, logging.INFO, "email_sent", notifier=self.name, message_id=msg["Message-ID"],
                  recipients=len(envelope) - len(refused))

    def _session(self, msg: EmailMessage, envelope: list[str],
                 login: tuple[str, str] | None) -> dict[str, tuple[int, bytes]]:
        """Connect, secure, log in, send; returns the recipients refused while others took it."""
        cfg = self.config
        smtp: smtplib.SMTP
        if cfg.ssl:
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=self._tls_context())
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        try:
            if not cfg.ssl and cfg.starttls:
                smtp.starttls(context=self._tls_context())  # SMTPNotSupportedError if not offered
            if login is not None:
                smtp.login(*login)
            return smtp.send_message(msg, from_addr=self._sender[1], to_addrs=envelope)
        finally:
            _quit_quietly(smtp)

    def _credentials(self) -> tuple[str, str] | None:
        names = self._secret_names()
        if not names:
            return None
        missing = [n for n in names if not self._env.get(n)]
        if missing:
            raise PermanentError(f"email notifier '{self.name}': environment variable "
                                 f"{' and '.join(missing)} is not set")
        return self._env[names[0]], self._env[names[1]]

    def _secret_names(self) -> list[str]:
        return [n for n in (self.config.username_env, self.config.password_env) if n]

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            cafile = self._ca_path()
            try:
                context = ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError) as exc:
                raise PermanentError(f"email notifier '{self.name}': cannot load ca_file {cafile}: "
                                     f"{getattr(exc, 'strerror', None) or exc}") from None
            if not self.config.verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls

    def _ca_path(self) -> str | None:
        if not self.config.ca_file:
            return None
        path = Path(self.config.ca_file).expanduser()
        return str(path if path.is_absolute() else self._base_dir / path)

    def _where(self) -> str:
        return f"email to {self.config.host}:{self.config.port}"

    def _scrub_error(self, error: NotifierError) -> NotifierError:
        """The same error with any credential value masked (a server may echo the login)."""
        secrets = [self._env.get(n, "") for n in self._secret_names()]
        text = str(error)
        for secret in sorted((s for s in secrets if s), key=len, reverse=True):
            text = text.replace(secret, _MASK)
        return type(error)(text, retry_after=error.retry_after)


def smtp_error(exc: BaseException, where: str, secret_names: list[str]) -> NotifierError:
    """Map an smtplib/socket failure to Retryable (may pass later) or Permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _by_codes([c for c, _ in exc.recipients.values()],
                         f"{where}: all recipients refused: {_describe_refused(exc.recipients)}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentError(f"{where}: login refused ({exc.smtp_code} {_reply(exc.smtp_error)}); "
                              f"check the credentials in {' / '.join(secret_names)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentError(f"{where}: {exc} (set starttls: false only for a trusted relay)")
    if isinstance(exc, smtplib.SMTPResponseException):
        step = _STEPS.get(type(exc), "server replied")
        return _by_codes([exc.smtp_code], f"{where}: {step} {exc.smtp_code} {_reply(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return RetryableError(f"{where}: server closed the connection: {exc}")
    if isinstance(exc, smtplib.SMTPException):  # e.g. "No suitable authentication method found."
        return PermanentError(f"{where}: {exc}")
    return _network_error(exc, where)


def _network_error(exc: BaseException, where: str) -> NotifierError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return RetryableError(f"{where}: TLS certificate not trusted: {exc.verify_message} "
                              "(for a private CA set ca_file)")
    if isinstance(exc, ssl.SSLError):
        return RetryableError(f"{where}: TLS failed: {exc.reason or exc}")
    if isinstance(exc, TimeoutError):
        return RetryableError(f"{where}: timed out")
    if isinstance(exc, OSError):
        return RetryableError(f"{where}: {type(exc).__name__}: {exc.strerror or exc}")
    return RetryableError(f"{where}: {type(exc).__name__}")


_STEPS: dict[type, str] = {
    smtplib.SMTPSenderRefused: "sender refused (MAIL FROM)",
    smtplib.SMTPDataError: "message refused (DATA)",
    smtplib.SMTPConnectError: "connection refused by server greeting",
    smtplib.SMTPHeloError: "EHLO refused",
}


def _by_codes(codes: list[int], text: str) -> NotifierError:
    """5xx is final; 4xx (or no code, a broken exchange) may pass on a later try.

    With a mix of 4xx and 5xx a retry can still reach the 4xx recipients, so it retries.
    """
    if codes and all(500 <= c < 600 for c in codes):
        return PermanentError(text)
    return RetryableError(text)


def _describe_refused(refused: dict[str, tuple[int, bytes]]) -> str:
    return ", ".join(f"{addr} ({code} {_reply(reply)})" for addr, (code, reply) in sorted(refused.items()))


def _reply(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return render.one_line(text, 200)


class _EncodedHeader(str):
    """A non-ASCII header encoded with the legacy ``email.header.Header`` folder.

    Python 3.11's default folder drops the space between two encoded words when a
    fold falls on it ("Qubadlı, Laçın" arrives as "Qubadlı,Laçın" in about a quarter
    of mixed-script subjects); the legacy encoder keeps spaces inside the words. Text
    with "=?" is always encoded, so a title cannot smuggle its own encoded words in.
    """

    name: str

    def __new__(cls, name: str, value: str) -> _EncodedHeader:
        if "\r" in value or "\n" in value:  # the policy's own CR/LF check is skipped for us
            raise ValueError("Header values may not contain linefeed or carriage return characters")
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy: email.policy.Policy) -> str:
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"


def _header_address(pair: tuple[str, str]) -> Address:
    return Address(display_name=pair[0], addr_spec=pair[1])


def _int(value: Any) -> int | None:
    """A database id (>= 1) that is safe inside a Message-ID; records are JSON and may lie."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    """Say goodbye but never fail a delivery over it: the message was already accepted."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
