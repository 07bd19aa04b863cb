"""Several real ``meet serve`` processes behind the round-robin proxy, sharing one database and
one Valkey, as several hosts behind a load balancer (docs/scale-out.md).

The database is PostgreSQL when the suite runs with ``MEET_TEST_DATABASE_URL`` (a database of
this module's own), else a SQLite file; the first server migrates it. Everyone logs in for
real, at the OpenID provider of tests/identity.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.proxy import BACKEND_HEADER, RoundRobinProxy
from meet_core.testing.server import ServerProcess
from tests.identity.conftest import API, Provider, oidc_provider  # noqa: F401 (the fixture)

PROXY_ADDRESS = "127.0.0.2"  # the proxy's address as the servers see it (TRUSTED_PROXIES)


@dataclass
class Cluster:
    """The servers, the proxy in front of them, and their shared environment."""

    servers: list[ServerProcess]
    proxy: RoundRobinProxy
    env: dict[str, str]
    provider: Provider

    def client(self, local_address: str | None = None) -> httpx.AsyncClient:
        """A browser talking to the proxy (from ``local_address``, another 127/8 address, to be
        another client for the per-address throttles)."""
        transport = httpx.AsyncHTTPTransport(local_address=local_address) if local_address else None
        return httpx.AsyncClient(base_url=self.proxy.url, transport=transport, timeout=20)

    async def login(self, browser: httpx.AsyncClient) -> str:
        """A real OIDC login through the proxy (``authenticate/`` and ``callback/`` land on two
        different processes); the browser then holds the session and sends its CSRF token."""
        sub = f"scaleout-{uuid.uuid4().hex[:8]}"
        self.provider.set_user(sub, email=f"{sub}@example.com", given_name="Scale", family_name="Out")
        start = await browser.get(f"{API}/authenticate/")
        assert start.status_code == 302, start.text
        async with httpx.AsyncClient() as person:
            authorized = await person.post(start.headers["location"], data={"sub": sub})
        assert authorized.status_code == 302, authorized.text
        callback = await browser.get(authorized.headers["location"])
        assert callback.status_code == 302, callback.text
        assert backend(callback) != backend(start)
        browser.headers["X-CSRFToken"] = browser.cookies["csrftoken"]
        return browser.cookies["sessionid"]


def backend(response: httpx.Response) -> int:
    """Which server (its index) answered, as the proxy says."""
    return int(response.headers[BACKEND_HEADER])


def start_cluster(
    count: int, env: dict[str, str], directory: Path, provider: Provider, livekit: FakeLiveKit
) -> Iterator[Cluster]:
    """Start ``count`` servers on ``env`` (DATABASE_URL, REDIS_URL and more) and the proxy."""
    full_env = {
        "LIVEKIT_API_URL": livekit.url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "MEET_DATA_DIR": str(directory),
        "MEET_ENV_FILE": os.devnull,
        "MEET_PLUGINS": "lobby,telephony",
        "TRUSTED_PROXIES": PROXY_ADDRESS,
        "ROOM_CACHE_TTL": "0",
        **provider.env(),
        **env,
    }
    logs = [directory / f"server-{index}.log" for index in range(count)]
    servers = [ServerProcess(full_env, migrate=index == 0, log_path=logs[index]) for index in range(count)]
    proxy = RoundRobinProxy([server.url for server in servers], source_address=PROXY_ADDRESS)
    cluster = Cluster(servers, proxy, full_env, provider)
    try:
        # Together: a server queries the database only when asked, after the first one migrated it.
        # A generous start-up bound: the processes import everything at once on a loaded machine.
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(lambda server: server.start(timeout=180), servers))
        proxy.start()
        yield cluster
    finally:
        proxy.stop()
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(lambda server: server.stop(), servers))
