"""The provider's JWKS is fetched once per application and again when a key id is unknown."""

from __future__ import annotations

import uuid

import httpx
from joserfc.jwk import KeySet, RSAKey

from tests.identity.conftest import HOME


def other_key_set() -> dict:
    key = RSAKey.generate_key(2048, parameters={"kid": "old-key", "use": "sig", "alg": "RS256"})
    return KeySet([key]).as_dict(private=False)


async def test_jwks_cached_and_refreshed_on_unknown_key_id(meet_app, oidc_provider, browser_for, jwks_server):
    async with httpx.AsyncClient() as client:
        provider_keys = (await client.get(f"{oidc_provider.url}/jwks")).json()
    # The provider "rotated" its keys: what we fetch first only has the old key.
    jwks_server.key_sets = [other_key_set(), provider_keys]
    meet = await meet_app(env=oidc_provider.env(OIDC_OP_JWKS_ENDPOINT=jwks_server.url))

    for _ in range(3):
        sub = f"jwks-{uuid.uuid4().hex[:8]}"
        oidc_provider.set_user(sub, email=f"{sub}@example.com")
        async with meet.new_client() as client:
            response = await browser_for(meet, client).login(sub)
        assert response.headers["location"] == HOME
    # One fetch at the first login, one more for the unknown key id, then the cache.
    assert jwks_server.fetches == 2


async def test_token_signed_by_a_key_missing_from_the_jwks_is_refused(
    meet_app, oidc_provider, browser_for, jwks_server
):
    jwks_server.key_sets = [other_key_set()]
    meet = await meet_app(env=oidc_provider.env(OIDC_OP_JWKS_ENDPOINT=jwks_server.url))
    sub = f"jwks-{uuid.uuid4().hex[:8]}"
    oidc_provider.set_user(sub, email=f"{sub}@example.com")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == "http://testserver.local/login-failed"
    assert jwks_server.fetches == 2  # the cached set, then one new fetch that did not help
