"""TRUSTED_PROXIES and ALLOWED_HOSTS (issue #19, items 3 and 5).

Forwarded headers count only from a configured proxy: rotating ``X-Forwarded-For`` from
anyone else does not get past a per-address throttle. ``ALLOWED_HOSTS`` is enforced as
Django does; ``X-Forwarded-Host`` counts only from a trusted proxy.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx

CALLBACK = "/api/v1.0/rooms/creation-callback/"
CONFIG = "/api/v1.0/config/"
INVALID_HOST = {"detail": "Invalid host header."}


async def _callback(client: httpx.AsyncClient, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = await client.post(CALLBACK, json={"callback_id": "x"}, headers=headers)
    return response.status_code


async def test_rotating_forwarded_for_from_an_untrusted_peer_is_throttled(meet_app) -> None:
    meet = await meet_app(env={"CREATION_CALLBACK_THROTTLE_RATES": "3/minute"})
    async with meet.new_client("198.51.100.7") as attacker, meet.new_client("198.51.100.8") as other:
        statuses = [await _callback(attacker, f"203.0.113.{i}") for i in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        assert await _callback(other) == 200  # the peer address is the key


async def test_a_trusted_proxy_forwards_its_clients_addresses(meet_app) -> None:
    meet = await meet_app(
        env={"CREATION_CALLBACK_THROTTLE_RATES": "2/minute", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"}
    )
    async with meet.new_client("10.1.2.3") as proxy, meet.new_client("192.0.2.1") as edge:
        # Each forwarded client has its own window.
        assert [await _callback(proxy, "203.0.113.1") for _ in range(3)] == [200, 200, 429]
        assert await _callback(proxy, "203.0.113.2") == 200
        # The right-most address that is not one of our proxies is the client: what the
        # client wrote itself (on the left) cannot choose its window.
        assert await _callback(edge, "1.1.1.1, 203.0.113.1, 10.9.9.9") == 429
        assert await _callback(edge, "203.0.113.1, 203.0.113.3") == 200
        # No header: the proxy itself is the client.
        assert [await _callback(proxy) for _ in range(3)] == [200, 200, 429]


async def test_allowed_hosts_as_django_matches_them(meet_app) -> None:
    meet = await meet_app(env={"DJANGO_ALLOWED_HOSTS": "meet.example.com,.example.org"})
    client = meet.client
    for host in (
        "meet.example.com",
        "MEET.example.com:8443",
        "meet.example.com.",
        "example.org",
        "a.b.example.org",
    ):
        assert (await client.get(CONFIG, headers={"Host": host})).status_code == 200, host
    for host in ("evil.example", "example.com", "meet.example.com.evil", "badexample.org", "a b", "[::1"):
        response = await client.get(CONFIG, headers={"Host": host})
        assert (response.status_code, response.json()) == (400, INVALID_HOST), host
    # Unrouted paths too; load balancer probes are answered whatever their host.
    assert (await client.get("/api/v1.0/nowhere/", headers={"Host": "evil.example"})).status_code == 400
    assert (await client.get("/__lbheartbeat__", headers={"Host": "10.0.0.5:8000"})).status_code == 200


async def test_allowed_hosts_defaults_and_wildcard(meet_app) -> None:
    for env in ({}, {"ALLOWED_HOSTS": "*"}, {"ALLOWED_HOSTS": ""}, {"ALLOWED_HOSTS": "meet.example.com,*"}):
        meet = await meet_app(env=env)
        assert (await meet.client.get(CONFIG, headers={"Host": "anything.example"})).status_code == 200, env


async def test_forwarded_host_counts_only_from_a_trusted_proxy(meet_app) -> None:
    meet = await meet_app(
        env={
            "ALLOWED_HOSTS": "meet.example.com",
            "TRUSTED_PROXIES": "10.0.0.1",
            "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://idp.example/auth",
        }
    )
    async with meet.new_client("10.0.0.1") as proxy, meet.new_client("203.0.113.9") as direct:
        forwarded = {"Host": "backend:8000", "X-Forwarded-Host": "meet.example.com"}
        assert (await proxy.get(CONFIG, headers=forwarded)).status_code == 200
        response = await direct.get(CONFIG, headers=forwarded)
        assert (response.status_code, response.json()) == (400, INVALID_HOST)
        sneaky = {"Host": "meet.example.com", "X-Forwarded-Host": "evil.example"}
        assert (await direct.get(CONFIG, headers=sneaky)).status_code == 200  # ignored
        assert (await proxy.get(CONFIG, headers=sneaky)).status_code == 400
        # Absolute URLs name the forwarded host: the OIDC redirect_uri of a login.
        login = await proxy.get("/api/v1.0/authenticate/", headers=forwarded)
        assert login.status_code == 302
        redirect_uri = dict(parse_qsl(urlsplit(login.headers["location"]).query))["redirect_uri"]
        assert redirect_uri == "http://meet.example.com/api/v1.0/callback/"
