"""Back-channel logout: a logout token signed by the provider ends the matching sessions."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.identity.conftest import API, HOME

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_KEY = RSAKey.generate_key(2048, parameters={"kid": "logout-key", "alg": "RS256"})


@pytest.fixture
async def meet(meet_app, oidc_provider, jwks_server):
    """An app trusting the provider's key and the key the tests sign logout tokens with."""
    async with httpx.AsyncClient() as client:
        provider_keys = (await client.get(f"{oidc_provider.url}/jwks")).json()
    ours = KeySet([LOGOUT_KEY]).as_dict(private=False)
    jwks_server.key_sets = [{"keys": provider_keys["keys"] + ours["keys"]}]
    return await meet_app(env=oidc_provider.env(OIDC_OP_JWKS_ENDPOINT=jwks_server.url))


def logout_token(key=LOGOUT_KEY, **claims) -> str:
    values = {
        "iss": "provider",
        "aud": "meet",
        "iat": int(time.time()),
        "jti": uuid.uuid4().hex,
        "events": {EVENT: {}},
    }
    values.update(claims)
    values = {k: v for k, v in values.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, values, key)


async def log_in(meet, oidc_provider, browser_for, client, sub, **claims) -> None:
    oidc_provider.set_user(sub, email=f"{sub}@example.com", **claims)
    assert (await browser_for(meet, client).login(sub)).headers["location"] == HOME
    assert (await client.get(f"{API}/users/me")).status_code == 200


async def post_token(meet, token: str | None) -> httpx.Response:
    data = {} if token is None else {"logout_token": token}
    async with meet.new_client() as provider:
        return await provider.post(f"{API}/backchannel-logout/", data=data)


async def test_logout_by_sub_ends_every_session_of_the_user(meet, oidc_provider, browser_for):
    sub, other_sub = f"bc-{uuid.uuid4().hex[:8]}", f"bc-{uuid.uuid4().hex[:8]}"
    async with meet.new_client() as laptop, meet.new_client() as phone, meet.new_client() as other:
        await log_in(meet, oidc_provider, browser_for, laptop, sub)
        await log_in(meet, oidc_provider, browser_for, phone, sub)
        await log_in(meet, oidc_provider, browser_for, other, other_sub)
        response = await post_token(meet, logout_token(sub=sub))
        assert response.status_code == 204
        assert (await laptop.get(f"{API}/users/me")).status_code == 401
        assert (await phone.get(f"{API}/users/me")).status_code == 401
        assert (await other.get(f"{API}/users/me")).status_code == 200


async def test_logout_by_sid_ends_that_login_only(meet, oidc_provider, browser_for):
    sub = f"bc-{uuid.uuid4().hex[:8]}"
    async with meet.new_client() as laptop, meet.new_client() as phone:
        await log_in(meet, oidc_provider, browser_for, laptop, sub, sid="sid-laptop")
        await log_in(meet, oidc_provider, browser_for, phone, sub, sid="sid-phone")
        response = await post_token(meet, logout_token(sid="sid-laptop", sub=sub))
        assert response.status_code == 204
        assert (await laptop.get(f"{API}/users/me")).status_code == 401
        assert (await phone.get(f"{API}/users/me")).status_code == 200


async def test_unknown_user_or_session_is_fine(meet):
    assert (await post_token(meet, logout_token(sub="nobody"))).status_code == 204
    assert (await post_token(meet, logout_token(sid="no-such-sid"))).status_code == 204


@pytest.mark.parametrize(
    ("token", "description"),
    [
        (None, "Missing logout_token."),
        ("not-a-jwt", "Invalid logout token."),
        (
            logout_token(key=RSAKey.generate_key(2048, parameters={"kid": "logout-key"}), sub="x"),
            "Invalid logout token.",
        ),
        (logout_token(sub="x", aud="another-client"), "Invalid logout token."),
        (logout_token(sub="x", events=None), "Invalid logout token."),
        (logout_token(sub="x", events={"other": {}}), "Invalid logout token."),
        (logout_token(sub="x", nonce="n"), "Invalid logout token."),
        (logout_token(), "Invalid logout token."),  # neither sub nor sid
    ],
)
async def test_invalid_logout_tokens_are_400(meet, token, description):
    response = await post_token(meet, token)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


async def test_a_logout_token_works_once(meet):
    token = logout_token(sub="someone")
    assert (await post_token(meet, token)).status_code == 204
    replay = await post_token(meet, token)
    assert replay.status_code == 400
    assert replay.json() == {"error": "invalid_request", "error_description": "Logout token already used."}


async def test_json_body_is_400(meet):
    async with meet.new_client() as provider:
        response = await provider.post(f"{API}/backchannel-logout/", json={"logout_token": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
