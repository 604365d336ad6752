"""Fault suite, destinations: redirects into the local network, metadata, file://, loops.

No test here can reach beyond 127.0.0.0/8, even with the guard broken: every
"target" is a 127.0.0.x listener whose class the injected classifier decides
(127.0.0.2 is seen as public, 127.0.0.3 as private, 127.0.0.4 as link-local), names
go through an injected resolver, and the client's transport is a safety net that
refuses (and records) any connection to a host that is not a 127.x literal.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest

import hostileserver as hs
from pipeline import netguard
from pipeline.fetch import FetchRequest, HttpFetcher
from pipeline.netguard import Guard

pytestmark = pytest.mark.faults
SEEN_AS = {"127.0.0.2": netguard.PUBLIC, "127.0.0.3": netguard.PRIVATE, "127.0.0.4": netguard.LINK_LOCAL}
NAMES = {"localhost": ["127.0.0.1", "::1"], "feeds.public.test": ["127.0.0.2"], "metadata.test": ["169.254.169.254"]}


def seen_as(ip: netguard.IPAddress) -> str:
    return SEEN_AS.get(str(ip)) or netguard.classify(ip)


def fake_resolver(host: str, port: int) -> list[str]:
    return NAMES.get(host, [])


class SafetyNet(httpx.BaseTransport):
    """Lets only 127.x literals through; anything else is recorded and refused."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        self.escaped: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            ok = ipaddress.ip_address(host).version == 4 and ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            self.escaped.append(str(request.url))
            raise httpx.ConnectError("safety net: test tried to leave 127.0.0.0/8")
        return self.inner.handle_request(request)


@pytest.fixture
def net() -> SafetyNet:
    return SafetyNet()


def make(net: SafetyNet, guard: Guard | None = None) -> HttpFetcher:
    return HttpFetcher.create(connect_timeout=1, read_timeout=2, total_timeout=5, transport=net,
                              guard=guard or Guard(classifier=seen_as, resolver=fake_resolver))


@pytest.fixture
def servers() -> Iterator[dict[str, hs.HostileServer]]:
    made = {name: hs.HostileServer(host) for name, host in
            (("public", "127.0.0.2"), ("loopback", "127.0.0.1"), ("private", "127.0.0.3"), ("linklocal", "127.0.0.4"))}
    for server in made.values():
        server.routes["/target"] = hs.answer(b"<rss version='2.0'><channel><title>internal</title></channel></rss>")
    yield made
    for server in made.values():
        server.close()


def _redirect_from(server: hs.HostileServer, location: str) -> str:
    server.routes["/feed"] = hs.redirect(location)
    return server.url("/feed")


@pytest.mark.parametrize("target", ["loopback", "localhost", "[::1]", "[::ffff:127.0.0.1]", "10.0.0.1", "private",
                                    "169.254.169.254", "linklocal", "metadata.test"])
def test_a_public_feed_cannot_redirect_into_the_local_network(net, servers, target):
    port = servers["loopback"].port
    location = {"loopback": servers["loopback"].url("/target"), "private": servers["private"].url("/target"),
                "linklocal": servers["linklocal"].url("/target"), "localhost": f"http://localhost:{port}/target",
                }.get(target, f"http://{target}:{port}/target")
    result = make(net).fetch(FetchRequest(_redirect_from(servers["public"], location)))
    assert result.outcome == "error" and "destination not allowed" in (result.error or ""), result
    assert all(s.hits("/target") == 0 for s in servers.values())
    assert net.escaped == []


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "LINKLOCAL", "file:///etc/passwd",
                                      "gopher://127.0.0.1:70/"])
def test_no_feed_may_reach_link_local_or_other_schemes_even_when_private_is_allowed(net, servers, location):
    location = servers["linklocal"].url("/target") if location == "LINKLOCAL" else location
    url = _redirect_from(servers["loopback"], location)
    result = make(net).fetch(FetchRequest(url, allow_private=True))
    assert result.outcome == "error" and "destination not allowed" in (result.error or ""), result
    assert servers["linklocal"].hits("/target") == 0 and net.escaped == []


def test_allowed_destinations_still_work(net, servers):
    fetcher = make(net)
    own_class = fetcher.fetch(FetchRequest(_redirect_from(servers["loopback"], servers["loopback"].url("/target"))))
    assert own_class.outcome == "ok"  # the configured URL is itself loopback
    public = fetcher.fetch(FetchRequest(_redirect_from(servers["public"], servers["public"].url("/target"))))
    assert public.outcome == "ok"
    opted_in = fetcher.fetch(FetchRequest(_redirect_from(servers["public"], servers["private"].url("/target")),
                                          allow_private=True))
    assert opted_in.outcome == "ok" and servers["private"].hits("/target") == 1


def test_a_configured_url_in_a_closed_class_is_refused_before_connecting(net, servers):
    fetcher = make(net)
    by_name = fetcher.fetch(FetchRequest("http://metadata.test/latest/"))
    assert "destination not allowed" in (by_name.error or "") and net.escaped == []
    link_local = fetcher.fetch(FetchRequest(servers["linklocal"].url("/target"), allow_private=True))
    assert "destination not allowed" in (link_local.error or "") and servers["linklocal"].hits() == 0


def test_the_address_actually_connected_is_checked_before_the_request(net, servers):
    """A resolver that lies (DNS rebinding) passes the first check; the connect-time one holds."""

    class LyingGuard(Guard):
        def check_host(self, host: str, port: int, policy: netguard.Policy) -> None:
            return None

    fetcher = make(net, LyingGuard(classifier=seen_as, resolver=fake_resolver))
    result = fetcher.fetch(FetchRequest(_redirect_from(servers["public"], servers["private"].url("/target"))))
    assert "destination not allowed" in (result.error or "") and servers["private"].hits() == 0


def test_a_redirect_loop_is_cut_at_the_limit(net, servers):
    servers["public"].routes["/loop"] = hs.redirect("/loop")
    result = make(net).fetch(FetchRequest(servers["public"].url("/loop")))
    assert result.outcome == "error" and "too many redirects" in (result.error or "")
    assert servers["public"].hits("/loop") == 6  # the first request and 5 hops


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("10.0.0.1", "private"),
    ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("100.64.0.1", "cgnat"), ("169.254.169.254", "link_local"),
    ("fe80::1", "link_local"), ("fd00:ec2::254", "private"), ("0.0.0.0", "reserved"), ("240.0.0.1", "reserved"),
    ("224.0.0.1", "reserved"), ("64:ff9b::a00:1", "private"), ("8.8.8.8", "public"), ("2606:4700::1111", "public"),
])
def test_address_classes(address, kind):
    assert netguard.classify(ipaddress.ip_address(address)) == kind
