"""The client's address behind a reverse proxy, for the audit trail's "from where".

Behind a load balancer every request comes from the proxy; the audit trail must name the staff member's own
address. `X-Forwarded-For` is believed only when the connection comes from a proxy listed in
HOTLINE_TRUSTED_PROXIES (addresses or networks), and only as far as it was written by trusted proxies: the list is
read from the right, skipping trusted hops, and the first other address is the client. Anything a client writes
itself to the left of that cannot be used to pose as another address. Without trusted proxies the header is
ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

from gateway.keys import TRUSTED_PROXIES
from gateway.middlewares import Handler

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Networks from "10.0.0.0/8", "192.0.2.7" or "::1"; ValueError names the bad entry."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as err:
            raise ValueError(f"not an address or network: {value!r}") from err
    return tuple(networks)


def _trusted(address: str | None, proxies: tuple[Network, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str | None:
    """The client's address: the peer itself unless it is a trusted proxy, else the nearest untrusted hop."""
    if not proxies or not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage in the chain: keep the last address we could vouch for
        address = hop
        if not _trusted(hop, proxies):
            break
    return address


@web.middleware
async def client_address_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    proxies = request.app[TRUSTED_PROXIES]
    if proxies and "X-Forwarded-For" in request.headers:
        remote = client_address(request.remote, request.headers.getall("X-Forwarded-For"), proxies)
        if remote is not None and remote != request.remote:
            request = request.clone(remote=remote)
    return await handler(request)
