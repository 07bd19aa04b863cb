"""Which ``returnTo`` URLs a login may send the browser back to (no open redirect).

Accepted: relative URLs on this server, and absolute http(s) URLs whose host (with its port)
is this server's own ``Host`` or one of ``OIDC_REDIRECT_ALLOWED_HOSTS``. An allowed host
given without a port matches any port of that host (``localhost`` allows the frontend's dev
server on ``localhost:3000``). Anything else is ignored and the login goes to
``LOGIN_REDIRECT_URL`` instead.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from meet_core.state import core_settings


def _host_of(entry: str) -> str:
    """An allowed-hosts entry (``host``, ``host:port`` or a URL) as a lowercase netloc."""
    entry = entry.strip().lower()
    if "://" in entry:
        entry = urlsplit(entry).netloc
    return entry.rstrip("/")


def _has_allowed_host_and_scheme(url: str, allowed: set[str], require_https: bool) -> bool:
    if url.startswith("///") or any(ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if not parts.netloc and parts.scheme:  # "javascript:...", "http:evil.example"
        return False
    if url and unicodedata.category(url[0])[0] == "C":
        return False
    scheme = parts.scheme.lower() or ("http" if parts.netloc else "")
    if scheme and scheme not in (("https",) if require_https else ("http", "https")):
        return False
    if not parts.netloc:
        return True
    if parts.username is not None or parts.password is not None:
        return False
    netloc = parts.netloc.lower()
    return netloc in allowed or (hostname or "") in allowed


def safe_return_url(request: Request[Any, Any, Any], url: str | None) -> str | None:
    """``url`` when it is a safe place to send the browser after login, else None."""
    if not url:
        return None
    url = url.strip()
    core = core_settings(request)
    own = (request.headers.get("host") or request.url.netloc).lower()
    allowed = {own, *(_host_of(h) for h in core.oidc_redirect_allowed_hosts if h.strip())}
    # Browsers read a backslash as a slash: "/\\evil.example" must not slip through.
    if not all(
        _has_allowed_host_and_scheme(candidate, allowed, core.oidc_redirect_require_https)
        for candidate in (url, url.replace("\\", "/"))
    ):
        return None
    return url
