"""Which addresses a feed fetch may reach (pure classification, injectable lookups).

A feed, or a redirect it sends us on, must not turn the daemon into a proxy into the
network it runs in: loopback, private, CGNAT and reserved addresses are refused
unless the configured feed URL itself names such an address (an IP literal or
``localhost``) or the feed says ``allow_private: true``; link-local addresses
(169.254.0.0/16, fe80::/10: cloud metadata lives there) are refused always.

The classifier and the resolver are parameters so tests can serve every "target"
from a 127.0.0.x listener and decide how each is seen, without ever connecting
outside 127.0.0.0/8.

Parsing an address with ``ipaddress`` and classifying it costs tens of microseconds,
and one fetch checks the same few addresses four or five times (the policy, each
hop, the connected peer); both are pure, so they are remembered (bounded LRU
caches). What a *name* resolves to is never remembered: that is looked up anew on
every check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Classifier = Callable[[IPAddress], str]
Resolver = Callable[[str, int], list[str]]

PUBLIC, LOOPBACK, PRIVATE, CGNAT, RESERVED, LINK_LOCAL = (
    "public", "loopback", "private", "cgnat", "reserved", "link_local")
# Classes that ``allow_private`` (or a configured URL in the class) can open up.
OPENABLE = frozenset({LOOPBACK, PRIVATE, CGNAT, RESERVED})

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE_NETS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _unwrap(ip: IPAddress) -> IPAddress:
    """IPv4 hidden in IPv6 (::ffff:127.0.0.1, 64:ff9b::a00:1) is judged as that IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def classify(ip: IPAddress) -> str:
    """The class of one address; anything not globally routable is at least ``reserved``."""
    ip = _unwrap(ip)
    if ip.is_link_local:
        return LINK_LOCAL
    if ip.is_loopback:
        return LOOPBACK
    if ip in _CGNAT:
        return CGNAT
    if any(ip in net for net in _PRIVATE_NETS if net.version == ip.version):
        return PRIVATE
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return RESERVED
    return PUBLIC


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a name (both families)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@lru_cache(maxsize=4096)
def literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _kind(classifier: Classifier, address: str) -> str:
    ip = literal_ip(address)
    return classifier(ip) if ip is not None else RESERVED


class DestinationNotAllowed(Exception):
    """A fetch (or a redirect) would reach an address this feed may not reach."""


@dataclass(frozen=True)
class Policy:
    """The address classes one feed may reach."""

    allowed: frozenset[str]

    def permits(self, kind: str) -> bool:
        return kind != LINK_LOCAL and kind in self.allowed


@dataclass(frozen=True)
class Guard:
    classifier: Classifier = classify
    resolver: Resolver = system_resolver

    def policy(self, feed_url_host: str | None, allow_private: bool = False) -> Policy:
        """Public always; the configured URL's own class when it is a literal or localhost."""
        allowed = {PUBLIC}
        if allow_private:
            allowed |= OPENABLE
        elif feed_url_host:
            allowed |= {k for k in self._literal_classes(feed_url_host) if k in OPENABLE}
        return Policy(frozenset(allowed))

    def _literal_classes(self, host: str) -> set[str]:
        ip = literal_ip(host)
        if ip is not None:
            return {self.classifier(ip)}
        if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
            return {LOOPBACK}
        return set()  # a name's class is whatever it resolves to now: not a promise

    def check_ip(self, address: str, policy: Policy) -> None:
        kind = _kind(self.classifier, address)
        if not policy.permits(kind):
            raise DestinationNotAllowed(f"destination not allowed: {address} is {kind.replace('_', '-')}")

    def check_host(self, host: str, port: int, policy: Policy) -> None:
        """Before a request: every address the host resolves to must be allowed."""
        addresses = [host.strip("[]")] if literal_ip(host) is not None else self._resolve(host, port)
        for address in addresses:
            self.check_ip(address, policy)

    def _resolve(self, host: str, port: int) -> Iterable[str]:
        try:
            found = self.resolver(host, port)
        except OSError:
            return []  # the connection attempt will fail and say so; nothing to guard
        return found
