"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd's threaded Controller.

It stores every accepted envelope (MAIL FROM, RCPT TO, the raw bytes) and can be
scripted to answer 4xx/5xx to MAIL, RCPT (all or some addresses) or DATA, to require
AUTH (without TLS, since the test talks to 127.0.0.1), and to offer STARTTLS or
implicit TLS with a given certificate. ``stop()`` / ``start()`` keep the same port,
for "the server is down, then back" tests.
"""

from __future__ import annotations

import contextlib
import email.policy
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session, SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self) -> EmailMessage:
        """The message as a mail client would see it (headers unfolded, parts decoded)."""
        parsed = BytesParser(policy=email.policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Script:
    """Replies to give instead of accepting; None accepts."""

    mail: str | None = None
    rcpt: str | None = None
    data: str | None = None
    refuse: dict[str, str] = field(default_factory=dict)  # per recipient address


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:  # noqa: N802 (aiosmtpd hook names)
        if self.server.script.mail:
            return self.server.script.mail
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:  # noqa: N802
        script = self.server.script
        reply = script.rcpt or script.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.server.script.data:
            return self.server.script.data
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode("utf-8")
        with self.server.lock:
            self.server.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, *, auth: tuple[str, str] | None = None, starttls: ssl.SSLContext | None = None,
                 implicit_tls: ssl.SSLContext | None = None) -> None:
        self.port = free_port()
        self.auth = auth
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.script = Script()
        self.received: list[Received] = []
        self.logins: list[tuple[str, bool]] = []  # (login, accepted)
        self.lock = threading.Lock()
        self._controller: Controller | None = None
        self.start()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def start(self) -> None:
        kwargs: dict[str, Any] = {"server_hostname": "smtp.test", "ready_timeout": 5.0}
        if self.auth:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=False)
        if self.starttls:
            kwargs.update(tls_context=self.starttls, require_starttls=True)
        if self.implicit_tls:
            kwargs.update(ssl_context=self.implicit_tls)
        with warnings.catch_warnings():
            # "AUTH without TLS" is the point of the plain local test server.
            warnings.simplefilter("ignore", UserWarning)
            controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
            controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    close = stop

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.auth is None:
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (login, password) == self.auth
        self.logins.append((login, ok))
        # handled=False makes aiosmtpd answer 535 itself; with its default (True) it
        # answers nothing and the client waits for its timeout.
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections but never says a word (no SMTP greeting)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@dataclass
class PrivateCA:
    """A private CA and a server certificate for 127.0.0.1 made with the openssl CLI."""

    ca_file: Path
    server_context: ssl.SSLContext


def make_ca(directory: Path) -> PrivateCA:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=cfwatch test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
        "-out", "server.csr")
    (directory / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="ascii")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return PrivateCA(directory / "ca.pem", context)
