"""A lean httpx transport for feed fetches over http.client, with guarded keep-alive.

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
exceptions.

Keep-alive (on unless ``keep_alive=False``): a warm poll is mostly 304s, and many
feeds share a host (a site's section feeds, polled close together), so a connection
is handed back to a small pool once its response has been read to the end and reused
by the next request to the same (scheme, host as written, port); that saves the
connect and close (and, over TLS, the handshake): about a third of the CPU of a 304
fetch on the local benchmark (``python -m bench.fetch_cpu``). A reused connection
gets every guard a new one gets:

- before anything is written on it, ``connection.connect_tcp.complete`` is sent
  again with its stream, so the fetch now using it checks the peer address against
  *its own* policy and registers the socket with *its own* deadline watchdog;
- it is pooled only if the fetch that used it agrees (the ``keep_alive_release``
  request extension: pipeline.fetch refuses after an error or at the deadline, and
  drops the socket from its watchdog so its deadline cannot cut another fetch);
- a response not read to its end, or that says it will close (``Connection:
  close``, HTTP/1.0 without keep-alive, no length), or any error, closes it;
- it must look idle when taken (no byte and no EOF waiting: a poll with timeout 0),
  and not be older than ``idle_timeout`` since it was last used (below common
  server keep-alive timeouts);
- a forked child drops the idle connections it inherited (they are the parent's).

A pooled connection the server closes just as we reuse it (it is gone before any
byte of a response came back) is retried once on a fresh connection: GET is
idempotent; a fresh connection's failure, a timeout, a guard refusal or anything
after the fetch's deadline (the ``deadline`` request extension, which also bounds
the retry's connect) is never retried. With ``keep_alive=False`` every request says
``Connection: close`` and nothing is pooled (the transport owns that header).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from pipeline.connpool import Pool

_CHUNK = 65536
Trace = Callable[[str, dict[str, Any]], Any]
Release = Callable[[Any], bool]
Key = tuple[str, str, int]
# A dead pooled connection shows up as one of these while the request is written.
_STALE_ON_WRITE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


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


class _NoAnswer(Exception):
    """The connection ended before a single byte of a response came back.

    ``error`` is what http.client itself would have raised (RemoteDisconnected, or
    the reset): that is what a fresh connection reports; a reused one is retried.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _Stale(Exception):
    """A reused connection was found closed by the server: the request may go again."""


class _Response(http.client.HTTPResponse):
    """http.client's response, telling "nothing came back at all" from a reply that failed."""

    def begin(self) -> None:
        # peek() does the one read begin() would do first and keeps the bytes for it.
        try:
            first = self.fp.peek(1)
        except (ConnectionResetError, ConnectionAbortedError) as exc:
            raise _NoAnswer(exc) from exc
        if not first:
            raise _NoAnswer(http.client.RemoteDisconnected("Remote end closed connection without response"))
        super().begin()


class _Conn:
    """One connection: the socket, the http.client object writing on it, and its stream."""

    def __init__(self, key: Key, sock: socket.socket) -> None:
        self.key = key
        self.sock = sock
        self.stream = _Stream(sock)
        self.http = http.client.HTTPConnection(key[1], key[2])
        self.http.sock = sock
        self.http.auto_open = 0  # never let http.client connect by itself: only _open connects (and traces)
        self.http.response_class = _Response
        self.idle_since = 0.0

    def is_open(self) -> bool:
        return self.sock.fileno() != -1

    def looks_idle(self) -> bool:
        """Nothing to read on an idle keep-alive connection: readable means EOF, a reset or stray bytes."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return False
        try:
            poller = select.poll()  # not select(): it fails on descriptors above 1023
            poller.register(self.sock, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        self.http.close()
        self.sock.close()


class _Body(httpx.SyncByteStream):
    """The response body; closing it pools the connection or closes it."""

    def __init__(self, response: http.client.HTTPResponse, conn: _Conn,
                 done: Callable[[_Conn, bool], None]) -> None:
        self.response = response
        self.conn = conn
        self.done = done
        self.failed = False
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                with _mapped(httpx.ReadTimeout, httpx.ReadError):
                    chunk = self.response.read1(_CHUNK)
            except BaseException:
                self.failed = True
                raise
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        complete = not self.failed and _read_to_end(self.response)
        self.response.close()  # the response's file only: the socket is the connection's
        self.done(self.conn, complete)


def _read_to_end(response: http.client.HTTPResponse) -> bool:
    """True when nothing of this response is left on the connection and it may carry another.

    A 304, a HEAD answer or any Content-Length: 0 is complete unread; a body with a
    length is complete once all of it was read; a chunked one once its last chunk
    and trailer were (http.client then drops its file). ``will_close`` is http.client's
    reading of the headers: ``Connection: close``, HTTP/1.0 without keep-alive, or no
    length at all (the body ends when the server closes).
    """
    if response.will_close:
        return False
    if response.chunked:
        return response.isclosed()
    return response.length == 0


class _mapped:  # noqa: N801 - used as a context manager, named like one
    """Socket and http.client errors -> the httpx exceptions pipeline.fetch handles.

    ``stale``: on a reused connection, the errors that mean the server had closed it
    before our request (raised as _Stale, for one retry on a fresh connection).
    """

    def __init__(self, timeout: type[httpx.TimeoutException], error: type[httpx.TransportError],
                 stale: tuple[type[BaseException], ...] = ()) -> None:
        self.timeout, self.error, self.stale = timeout, error, stale

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, httpx.HTTPError):
            return False
        if self.stale and isinstance(exc, self.stale):
            raise _Stale(str(exc)) from exc
        if isinstance(exc, _NoAnswer):
            exc = exc.error
        if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
            raise self.timeout(str(exc) or "timed out") from exc
        if isinstance(exc, http.client.HTTPException):
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        if isinstance(exc, (OSError, ValueError)):  # ValueError: a closed file read
            raise self.error(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return False


class PlainTransport(httpx.BaseTransport):
    """GET (and HEAD) over http.client, reusing idle connections; see the module docstring."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, *, keep_alive: bool = True,
                 max_idle_per_host: int = 8, max_idle: int = 64, idle_timeout: float = 30.0) -> None:
        # Built once: the same verification httpx applies (certifi's CA bundle).
        self.ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self.keep_alive = keep_alive
        self.pool: Pool[_Conn] = Pool(max_idle_per_host, max_idle, idle_timeout)

    def close(self) -> None:
        self.pool.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {url.scheme!r}")
        # The ASCII (IDNA) form, as httpcore uses: Python's own IDNA 2003 codec would
        # spell some names differently from the Host header httpx wrote.
        key = (url.scheme, url.raw_host.decode("ascii"), url.port or (443 if url.scheme == "https" else 80))
        pooled = self.pool.take(key) if self.keep_alive else None
        if pooled is not None:
            try:
                return self._exchange(pooled, request, reused=True)
            except _Stale as exc:
                if _time_left(request) <= 0:  # the deadline shut it (or would cut the retry): no retry
                    raise httpx.ReadError(f"connection closed: {exc}"[:300]) from exc
        return self._exchange(self._open(key, request), request, reused=False)

    def _open(self, key: Key, request: httpx.Request) -> _Conn:
        timeouts = request.extensions.get("timeout") or {}
        trace: Trace | None = request.extensions.get("trace")
        connect = timeouts.get("connect")
        left = _time_left(request)
        if left != float("inf"):  # a retry comes late in the fetch: its connect must end by the deadline too
            connect = max(0.01, min(connect, left) if connect is not None else left)
        sock = self._connect(key[1], key[2], connect, trace)
        if key[0] == "https":
            try:
                sock = self._start_tls(sock, key[1], trace)
            except BaseException:
                sock.close()
                raise
        return _Conn(key, sock)

    def _exchange(self, conn: _Conn, request: httpx.Request, reused: bool) -> httpx.Response:
        """Write the request, read the response head; the body is read (and the connection
        released) through the returned response's stream."""
        trace: Trace | None = request.extensions.get("trace")
        try:
            if reused and trace is not None:
                # The same check and registration as a new connection, for *this* fetch,
                # before a byte of its request is written.
                trace("connection.connect_tcp.complete", {"return_value": conn.stream})
            conn.sock.settimeout((request.extensions.get("timeout") or {}).get("read"))
            with _mapped(httpx.WriteTimeout, httpx.WriteError, _STALE_ON_WRITE if reused else ()):
                self._write(conn.http, request)
            with _mapped(httpx.ReadTimeout, httpx.ReadError, (_NoAnswer,) if reused else ()):
                response = conn.http.getresponse()
        except BaseException:
            conn.close()
            raise
        release: Release | None = request.extensions.get("keep_alive_release")
        return httpx.Response(
            response.status, headers=response.getheaders(),
            stream=_Body(response, conn, lambda c, complete: self._done(c, complete, trace, release)),
            extensions={"http_version": b"HTTP/1.1" if response.version == 11 else b"HTTP/1.0",
                        "reason_phrase": response.reason.encode("latin-1", "replace"),
                        "network_stream": conn.stream})

    def _write(self, connection: http.client.HTTPConnection, request: httpx.Request) -> None:
        connection.putrequest(request.method, request.url.raw_path.decode("ascii"),
                              skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.raw:
            if name.lower() != b"connection":  # ours to say: whether this connection is kept
                connection.putheader(name.decode("latin-1"), value.decode("latin-1"))
        if not self.keep_alive:
            connection.putheader("Connection", "close")
        connection.endheaders()

    def _done(self, conn: _Conn, complete: bool, trace: Trace | None, release: Release | None) -> None:
        """The body is closed: pool the connection if it can carry another request, else close it."""
        if self.keep_alive and complete and conn.is_open() and _released(conn, trace, release):
            self.pool.give(conn)
        else:
            conn.close()

    def _connect(self, host: str, port: int, timeout: float | None, trace: Trace | None) -> socket.socket:
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

    def _start_tls(self, sock: socket.socket, host: str, trace: Trace | None) -> socket.socket:
        with _mapped(httpx.ConnectTimeout, httpx.ConnectError):
            tls = self.ssl_context.wrap_socket(sock, server_hostname=host)
        if trace is not None:
            trace("connection.start_tls.complete", {"return_value": _Stream(tls)})
        return tls


def _released(conn: _Conn, trace: Trace | None, release: Release | None) -> bool:
    """Whether the fetch that used the connection lets it go to another fetch.

    A request with a trace hook but no release hook is refused: whatever the hook did
    with the socket (registered it with a deadline that may still fire) is not undone.
    """
    if release is None:
        return trace is None
    return bool(release(conn.stream))


def _time_left(request: httpx.Request) -> float:
    """Seconds to the fetch's total deadline (the ``deadline`` extension, monotonic), or inf."""
    deadline = request.extensions.get("deadline")
    return float("inf") if deadline is None else deadline - time.monotonic()
