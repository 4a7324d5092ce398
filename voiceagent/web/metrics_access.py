"""Who may read ``/metrics``: a live API bearer token (any role), or a direct connection
from loopback or from an address in ``VOICEAGENT_METRICS_ALLOW``.

Counts over time are not patient data, but they still say when the clinic was busy and
when calls went to a person, so the internet does not get them.

Addresses: only the direct peer counts (uvicorn runs without its proxy-header rewrite). A
proxy on this host makes every request look like loopback, so a request that names a
forwarded client at all came through a proxy and is never let in by address, only by
token. Forwarding headers can only take access away, never grant it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from voiceagent.web.sessions import check_token
from voiceagent.web.state import WebState

Network = IPv4Network | IPv6Network
LOOPBACK: tuple[Network, ...] = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def peer_allowed(
    peer: str | None, headers: Mapping[str, str], allowed: Iterable[Network] = ()
) -> bool:
    """A direct connection from loopback or an allowed network (never a proxied one)."""
    if peer is None or any(name in headers for name in FORWARDING_HEADERS):
        return False
    try:
        address = ip_address(peer)
    except ValueError:  # not an IP address (a Unix socket, a test client's name)
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 on a dual-stack socket
    return any(address in network for network in (*LOOPBACK, *allowed))


def may_read_metrics(
    web: WebState, peer: str | None, headers: Mapping[str, str], bearer: str | None
) -> bool:
    """A presented token decides alone (a wrong one is refused even from loopback, like the
    API); without one, the address does."""
    if bearer is not None:
        return check_token(web.db, bearer, now=web.now()) is not None
    return peer_allowed(peer, headers, web.settings.metrics_allow)
