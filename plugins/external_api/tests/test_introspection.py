"""The rooms chain's third step: OIDC token introspection (RFC 7662) against a real loopback server."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from meet_core.api import User
from meet_core.testing.factories import session_maker

RS_ID = "meet-rs"
RS_SECRET = "introspection-client-secret"
GOOD = {"active": True, "scope": "openid LaSuite_Meet rooms:list rooms:create", "client_id": "calendar"}


@dataclass
class Provider:
    """An introspection endpoint: ``verdicts`` by token, every request it got in ``seen``."""

    url: str
    verdicts: dict[str, Any] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "OIDC_OP_INTROSPECTION_ENDPOINT": self.url,
            "OIDC_RS_CLIENT_ID": RS_ID,
            "OIDC_RS_CLIENT_SECRET": RS_SECRET,
            **extra,
        }


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            form = {key: values[0] for key, values in parse_qs(body).items()}
            state.seen.append(
                {"path": self.path, "authorization": self.headers.get("Authorization"), "form": form}
            )
            answer = json.dumps(state.verdicts.get(form.get("token", ""), {"active": False})).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/introspect/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def _user_of(meet: Any, sub: str) -> User | None:
    async with session_maker(meet.app)() as session:
        return (await session.execute(select(User).where(User.sub == sub))).scalar_one_or_none()


async def test_active_token_creates_the_user_and_acts_for_it(kit, provider):
    meet = await kit.app(**provider.env())
    provider.verdicts["opaque-1"] = {**GOOD, "sub": "sub-new"}
    auth = kit.bearer("opaque-1")

    created = await meet.client.post(kit.ROOMS_URL, json={}, headers=auth)
    assert created.status_code == 201, created.text
    listed = await meet.client.get(kit.ROOMS_URL, headers=auth)
    assert listed.status_code == 200, listed.text
    assert listed.json()["results"] == [created.json()]
    # No rooms:retrieve in the token's scopes.
    detail = await meet.client.get(f"{kit.ROOMS_URL}{created.json()['id']}/", headers=auth)
    assert detail.status_code == 403
    assert detail.json() == {"detail": "Insufficient permissions. Required scope: rooms:retrieve"}

    user = await _user_of(meet, "sub-new")
    assert user is not None and user.email is None and user.is_active
    basic = "Basic " + base64.b64encode(f"{RS_ID}:{RS_SECRET}".encode()).decode()
    assert provider.seen[0] == {"path": "/introspect/", "authorization": basic, "form": {"token": "opaque-1"}}
    assert len(provider.seen) == 3


async def test_the_earlier_steps_still_come_first(kit, provider):
    meet = await kit.app(**provider.env())
    registered = await kit.register(meet)
    user = await meet.create_user()
    listed = await meet.client.get(
        kit.ROOMS_URL, headers=kit.bearer(await kit.token_for(meet, registered, user))
    )
    assert listed.status_code == 200
    assert provider.seen == []


@pytest.mark.parametrize(
    "verdict",
    [
        {**GOOD, "active": False},
        {**GOOD, "active": "true"},
        {**GOOD, "scope": "openid rooms:list"},
        {**GOOD, "scope": None},
        {key: value for key, value in GOOD.items() if key != "client_id"},
        {**GOOD, "client_id": ""},
    ],
    ids=["inactive", "active-not-boolean", "no-rs-scope", "no-scope", "no-audience", "empty-audience"],
)
async def test_a_token_the_provider_does_not_vouch_for_is_400(kit, provider, verdict):
    meet = await kit.app(**provider.env())
    provider.verdicts["opaque"] = {**verdict, "sub": "sub-x"}
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque"))
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"detail"}
    assert await _user_of(meet, "sub-x") is None


async def test_audience_claim_and_scopes_are_configurable(kit, provider):
    meet = await kit.app(
        **provider.env(
            OIDC_RS_AUDIENCE_CLAIM="aud", OIDC_RS_SCOPES="other,lasuite_meet", OIDC_RS_SCOPES_PREFIX="meet"
        )
    )
    await meet.create_user(sub="sub-known")
    provider.verdicts["opaque"] = {
        "active": True,
        "scope": ["other", "MEET:rooms:list"],
        "aud": "x",
        "sub": "sub-known",
    }
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque"))
    assert response.status_code == 200, response.text
    provider.verdicts["no-aud"] = {**GOOD, "sub": "sub-known"}
    assert (await meet.client.get(kit.ROOMS_URL, headers=kit.bearer("no-aud"))).status_code == 400


async def test_a_base64_encoded_bearer_is_decoded(kit, provider):
    meet = await kit.app(**provider.env())
    await meet.create_user(sub="sub-b64")
    provider.verdicts["opaque value/2"] = {**GOOD, "sub": "sub-b64"}
    encoded = base64.b64encode(b"opaque value/2").decode()
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(encoded))
    assert response.status_code == 200, response.text
    assert provider.seen[-1]["form"] == {"token": "opaque value/2"}


async def test_unknown_user_without_creation_is_401(kit, provider):
    meet = await kit.app(**provider.env(OIDC_CREATE_USER="false"))
    provider.verdicts["opaque"] = {**GOOD, "sub": "sub-unknown"}
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque"))
    assert response.status_code == 401
    assert response.json() == {"detail": "User not found."}
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await _user_of(meet, "sub-unknown") is None

    known = await meet.create_user(sub="sub-known")
    provider.verdicts["opaque-2"] = {**GOOD, "sub": "sub-known"}
    assert (await meet.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque-2"))).status_code == 200
    await kit.set_active(meet, User, known.id, False)
    disabled = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque-2"))
    assert disabled.status_code == 401
    assert disabled.json() == {"detail": "User account is disabled."}


async def test_provider_down_or_failing_is_a_clear_5xx(kit, provider):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = await kit.app(**provider.env(OIDC_OP_INTROSPECTION_ENDPOINT=f"http://127.0.0.1:{closed_port}/x"))
    response = await down.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque"))
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The identity provider could not be reached to introspect the token."
    }

    failing = await kit.app(**provider.env())
    provider.status = 500
    response = await failing.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque"))
    assert response.status_code == 502
    assert response.json() == {"detail": "The identity provider gave an invalid introspection answer."}


async def test_without_the_endpoint_an_unknown_token_is_401(kit, provider):
    meet = await kit.app()
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer("opaque"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert provider.seen == []
