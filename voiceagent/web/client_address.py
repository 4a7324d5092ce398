"""Which address a request came from, behind reverse proxies we were told to trust.

Behind a proxy (nginx on the host, docker-compose's bridge) every request arrives from the
proxy, so keying the sign-in throttle on the peer would put all clients in one bucket.
``X-Forwarded-For`` is believed only when the peer is a configured trusted proxy
(``VOICEAGENT_TRUSTED_PROXIES``); anyone else could write any address into it. The header
is read right to left: each trusted proxy appended the address it saw, so the first hop
that is not a trusted proxy is the client. Entries left of it were written by the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from fastapi import Request

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address
MAX_LENGTH = 64  # what the audit log's record id holds; a longer "address" is not one


def parse_ip(text: str) -> Address | None:
    """An address from a peer or a header hop (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``)."""
    value = text.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # IPv4 with a port; bare IPv6 has two colons or more
        value = value.split(":", 1)[0]
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    return address


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    def trusts(self, host: str | None) -> bool:
        address = parse_ip(host) if host else None
        return address is not None and any(address in net for net in self.networks)

    def client(self, peer: str | None, forwarded_for: Sequence[str] = ()) -> str:
        """The client's address, given the direct peer and every X-Forwarded-For value."""
        if not peer:
            return "unknown"
        if not self.trusts(peer):
            return _normal(peer)
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return _normal(hop)
        # Every hop is a proxy of ours (or there is no header): the farthest one we know.
        return _normal(hops[0]) if hops else _normal(peer)


def _normal(host: str) -> str:
    address = parse_ip(host)
    return str(address) if address is not None else host.strip()[:MAX_LENGTH]


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    """The client of ``request``; ``trusted`` is ``Settings.trusted_proxies``."""
    peer = request.client.host if request.client else None
    proxies = TrustedProxies(tuple(trusted))
    return proxies.client(peer, request.headers.getlist("x-forwarded-for"))
