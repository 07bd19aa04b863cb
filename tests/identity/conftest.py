"""A real OpenID provider on loopback (``oidc-provider-mock``) and a browser walking the login.

The test client plays the browser: it follows every redirect by hand, so each hop (our
``authenticate/``, the provider's authorization page, our ``callback/``) can be checked.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from meet_core.testing.harness import MeetTestApp

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from oidc_provider_mock import run_server_in_thread

API = "/api/v1.0"
HOME = "http://testserver.local/home"
FAILURE = "http://testserver.local/login-failed"
BYE = "http://testserver.local/bye"


@dataclass
class Provider:
    """The running provider: its URL, the users it knows, the settings pointing at it."""

    url: str

    def set_user(self, sub: str, **claims: Any) -> None:
        """Register (or replace) a user and the claims the provider hands out for it."""
        response = httpx.put(f"{self.url}/users/{sub}", json=claims)
        assert response.status_code == 204, response.text

    def env(self, **overrides: str) -> dict[str, str]:
        values = {
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.url}/oauth2/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.url}/oauth2/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.url}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.url}/jwks",
            "OIDC_OP_LOGOUT_ENDPOINT": f"{self.url}/oauth2/end_session",
            "OIDC_RP_CLIENT_ID": "meet",
            "OIDC_RP_CLIENT_SECRET": "meet-client-secret-for-tests",  # >= 112 bits: HS256 keys
            "OIDC_RP_SCOPES": "openid email profile",
            "LOGIN_REDIRECT_URL": HOME,
            "LOGIN_REDIRECT_URL_FAILURE": FAILURE,
            "LOGOUT_REDIRECT_URL": BYE,
        }
        values.update(overrides)
        return values


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    with run_server_in_thread() as server:
        yield Provider(f"http://localhost:{server.server_port}")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@dataclass
class Browser:
    """One browser (the test client and its cookies) logging in against ``provider``."""

    meet: MeetTestApp
    provider: Provider
    client: httpx.AsyncClient

    async def start(self, **params: str) -> httpx.Response:
        """``GET authenticate/``: the answer is a 302 to the provider's authorization page."""
        response = await self.client.get(f"{API}/authenticate/", params=params, follow_redirects=False)
        assert response.status_code == 302, response.text
        assert response.headers["location"].startswith(f"{self.provider.url}/oauth2/authorize?")
        return response

    async def authorize(self, authorization_url: str, sub: str | None, *, deny: bool = False) -> str:
        """The person at the provider: log in as ``sub`` (or deny; ``None`` = just visit,
        as a silent login does). Returns the URL the provider sends the browser back to."""
        async with httpx.AsyncClient() as browser:
            if sub is None:
                response = await browser.get(authorization_url)
            else:
                form = {"action": "deny"} if deny else {"sub": sub}
                response = await browser.post(authorization_url, data=form)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.split("://", 1)[1].startswith("testserver.local/api/v1.0/callback/?"), location
        return location

    async def finish(self, callback_url: str) -> httpx.Response:
        """``GET callback/?code=&state=`` on our app."""
        return await self.client.get(callback_url, follow_redirects=False)

    async def login(self, sub: str, **params: str) -> httpx.Response:
        """The whole login; returns our callback's answer (a 302)."""
        start = await self.start(**params)
        callback_url = await self.authorize(start.headers["location"], sub)
        return await self.finish(callback_url)


@pytest.fixture
def browser_for(oidc_provider: Provider) -> Any:
    """``browser_for(meet, client=None)`` -> a :class:`Browser` on ``meet``'s client."""

    def make(meet: MeetTestApp, client: httpx.AsyncClient | None = None) -> Browser:
        return Browser(meet, oidc_provider, client or meet.client)

    return make


class JwksServer:
    """A JWKS endpoint on loopback serving the key sets it is given, counting the fetches."""

    def __init__(self) -> None:
        self.key_sets: list[dict] = []
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                index = min(server.fetches, len(server.key_sets)) - 1
                body = json.dumps(server.key_sets[index]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server
