"""Who the client is and which host it asked for, trusting forwarded headers only from our proxies.

``TRUSTED_PROXIES`` (addresses or CIDR networks) names the reverse proxies in front of the
server. Only a request whose socket peer is one of them may say, in ``X-Forwarded-For``,
whom it forwards (the right-most address that is not a trusted proxy is the client), and in
``X-Forwarded-Host``, which host was asked for. Unset: the peer is the client and the
``Host`` header the host, so rotating ``X-Forwarded-For`` gets past no per-address throttle.

``ALLOWED_HOSTS`` (``DJANGO_ALLOWED_HOSTS``) is enforced as Django does: any other host is a
400 ``{"detail": "Invalid host header."}``; ``*`` allows all, ``.example.com`` the domain and
its subdomains. Unset (or empty), every host is allowed. Both settings are parsed once, when
the application is built; the per-request cost is a header scan and a set or dict look-up.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from typing import Any

from meet_core.http.raw import send_small_response
from meet_core.settings.core import parse_networks

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Paths answered whatever the host: load balancers and orchestrators probe them by address.
HOST_EXEMPT_PATHS = frozenset({"/__heartbeat__", "/__lbheartbeat__", "/__version__"})
INVALID_HOST = {"detail": "Invalid host header."}
NULL_IN_URL = {"detail": "Null characters are not allowed."}

# Django's ``host_validation_re``: a name or a bracketed IPv6 literal, then an optional port.
_HOST = re.compile(r"^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$")
_CACHE_SIZE = 4096


class TrustedProxies:
    """The configured reverse proxies; answers "is this peer one of them?" from a small cache."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.networks = parse_networks(entries)
        self._known: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        known = self._known.get(address)
        if known is None:
            try:
                ip = ipaddress.ip_address(address.strip().strip("[]"))
            except ValueError:
                known = False
            else:
                known = any(ip in network for network in self.networks)
            if len(self._known) >= _CACHE_SIZE:
                self._known.clear()
            self._known[address] = known
        return known

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: the peer, or what a trusted peer says in ``X-Forwarded-For``."""
        if not forwarded_for or not self.networks or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",")]
        for hop in reversed(hops):
            if hop and not self.trusts(hop):
                return hop
        return hops[0] or peer  # every hop is one of our proxies


def split_domain(host: str) -> str:
    """Django's ``split_domain_port``, domain only: lower case, no port, no trailing dot."""
    host = host.lower()
    if not _HOST.match(host):
        return ""
    if host.endswith("]"):
        return host
    domain = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return domain[:-1] if domain.endswith(".") else domain


class AllowedHosts:
    """``ALLOWED_HOSTS`` as Django matches it; None or empty allows every host."""

    def __init__(self, patterns: Iterable[str] | None) -> None:
        cleaned = [p.strip().lower() for p in patterns or () if p.strip()]
        self.allow_all = not cleaned or "*" in cleaned
        self.exact = frozenset(p for p in cleaned if not p.startswith("."))
        self.suffixes = tuple(p for p in cleaned if p.startswith("."))

    def allows(self, host: str) -> bool:
        if self.allow_all:
            return True
        domain = split_domain(host)
        if not domain:
            return False
        if domain in self.exact:
            return True
        return any(domain.endswith(suffix) or domain == suffix[1:] for suffix in self.suffixes)


class HostGuard:
    """ASGI wrapper of the application: checks the host and URL before routing.

    A trusted proxy's ``X-Forwarded-Host`` replaces ``Host`` (so absolute URLs, the OIDC
    ``redirect_uri`` and invitation links, name the host the client asked for); a host that
    ``ALLOWED_HOSTS`` does not list is a 400; a URL holding U+0000 (``%00``) is a 400, since
    PostgreSQL refuses it in any text it is compared with.
    """

    def __init__(self, app: Any, allowed: AllowedHosts, proxies: TrustedProxies) -> None:
        self.app = app
        self.allowed = allowed
        self.proxies = proxies

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            await _reject(send, NULL_IN_URL)
            return
        if self.allowed.allow_all and not self.proxies:  # the embedded defaults: nothing to read
            await self.app(scope, receive, send)
            return
        host: str | None = None
        forwarded_host: str | None = None
        for key, value in scope["headers"]:
            if key == b"host" and host is None:
                host = value.decode("latin-1")
            elif key == b"x-forwarded-host" and forwarded_host is None:
                forwarded_host = value.decode("latin-1")
        if forwarded_host and self.proxies:
            client = scope.get("client")
            if client and self.proxies.trusts(client[0]):
                host = forwarded_host.split(",")[0].strip()
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"]
                scope["headers"].append((b"host", host.encode("latin-1")))
        if (
            not self.allowed.allow_all
            and scope["path"] not in HOST_EXEMPT_PATHS
            and not self.allowed.allows(host or "")
        ):
            await _reject(send, INVALID_HOST)
            return
        await self.app(scope, receive, send)


async def _reject(send: Any, body: dict[str, str]) -> None:
    await send_small_response(send, 400, json.dumps(body).encode(), b"application/json")
