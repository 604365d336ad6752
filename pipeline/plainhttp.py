"""A lean httpx transport for feed fetches: one GET per connection, over http.client.

pipeline.fetch sends requests straight to an httpx transport. httpx's own
(httpcore + h11, a pool with locks and a trace object per step) spent about twice
the CPU of a plain ``http.client`` exchange on a conditional GET answered 304, and a
warm poll cycle is a thousand of those. This transport does the exchange with the
standard library: a socket it connects itself, TLS from the same SSL context httpx
would build, ``http.client`` to write the request and parse the response
(status line, header count and line limits, chunked bodies), and the body
handed back as a stream, so pipeline.fetch caps and decodes it as before.

What the fetcher relies on is kept: the httpcore trace events
``connection.connect_tcp.complete`` and ``connection.start_tls.complete`` are sent
with the new stream *before* the request is written (pipeline.fetch checks the
address actually connected there, and registers the socket with its deadline
watchdog), ``network_stream`` is in the response extensions, the ``timeout``
extension sets connect and read timeouts, and errors are raised as httpx
exceptions. There is no pool: nothing is reused (keep-alive is off on purpose), and
the number of fetches at once is bounded by the polling threads.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx

_CHUNK = 65536


class _Stream:
    """What trace hooks and ``network_stream`` callers see of the connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> Any:
        if info == "socket":
            return self.sock
        if info == "server_addr":
            try:
                return self.sock.getpeername()
            except OSError:
                return None
        if info == "ssl_object" and isinstance(self.sock, ssl.SSLSocket):
            return self.sock
        return None

    def close(self) -> None:
        self.sock.close()


class _Body(httpx.SyncByteStream):
    def __init__(self, response: http.client.HTTPResponse, connection: http.client.HTTPConnection) -> None:
        self.response = response
        self.connection = connection

    def __iter__(self) -> Iterator[bytes]:
        while True:
            with _mapped(httpx.ReadTimeout, httpx.ReadError):
                chunk = self.response.read1(_CHUNK)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self.response.close()
        self.connection.close()


class _mapped:  # noqa: N801 - used as a context manager, named like one
    """Socket and http.client errors -> the httpx exceptions pipeline.fetch handles."""

    def __init__(self, timeout: type[httpx.TimeoutException], error: type[httpx.TransportError]) -> None:
        self.timeout, self.error = timeout, error

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, httpx.HTTPError):
            return False
        if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
            raise self.timeout(str(exc) or "timed out") from exc
        if isinstance(exc, http.client.HTTPException):
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        if isinstance(exc, (OSError, ValueError)):  # ValueError: a closed file read
            raise self.error(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return False


class PlainTransport(httpx.BaseTransport):
    """GET (and HEAD) over a fresh connection per request; see the module docstring."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        # Built once: the same verification httpx applies (certifi's CA bundle).
        self.ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}")
        timeouts = request.extensions.get("timeout") or {}
        trace: Callable[[str, dict[str, Any]], Any] | None = request.extensions.get("trace")
        port = url.port or (443 if url.scheme == "https" else 80)
        # The ASCII (IDNA) form, as httpcore uses: Python's own IDNA 2003 codec would
        # spell some names differently from the Host header httpx wrote.
        host = url.raw_host.decode("ascii")
        sock = self._connect(host, port, timeouts.get("connect"), trace)
        try:
            if url.scheme == "https":
                sock = self._start_tls(sock, host, trace)
            sock.settimeout(timeouts.get("read"))
            connection = http.client.HTTPConnection(host, port)
            connection.sock = sock
            with _mapped(httpx.WriteTimeout, httpx.WriteError):
                connection.putrequest(request.method, url.raw_path.decode("ascii"),
                                      skip_host=True, skip_accept_encoding=True)
                for name, value in request.headers.raw:
                    connection.putheader(name.decode("latin-1"), value.decode("latin-1"))
                connection.endheaders()
            with _mapped(httpx.ReadTimeout, httpx.ReadError):
                response = connection.getresponse()
        except BaseException:
            sock.close()
            raise
        return httpx.Response(
            response.status, headers=response.getheaders(), stream=_Body(response, connection),
            extensions={"http_version": b"HTTP/1.1" if response.version == 11 else b"HTTP/1.0",
                        "reason_phrase": response.reason.encode("latin-1", "replace"),
                        "network_stream": _Stream(sock)})

    def _connect(self, host: str, port: int, timeout: float | None,
                 trace: Callable[[str, dict[str, Any]], Any] | None) -> socket.socket:
        with _mapped(httpx.ConnectTimeout, httpx.ConnectError):
            sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if trace is not None:
                trace("connection.connect_tcp.complete", {"return_value": _Stream(sock)})
        except BaseException:
            sock.close()
            raise
        return sock

    def _start_tls(self, sock: socket.socket, host: str,
                   trace: Callable[[str, dict[str, Any]], Any] | None) -> socket.socket:
        with _mapped(httpx.ConnectTimeout, httpx.ConnectError):
            tls = self.ssl_context.wrap_socket(sock, server_hostname=host)
        if trace is not None:
            trace("connection.start_tls.complete", {"return_value": _Stream(tls)})
        return tls
