"""Forged and altered tokens never reach the rooms (services.md §8.3, §13)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forge(kit, claims, change):
    now = int(time.time())
    key, alg = kit.APP_KEY, "HS256"
    if change == "alg none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if change == "another algorithm":
        alg = "HS512"
    if change == "wrong secret":
        key = "another-key-of-at-least-thirty-two-bytes!!"
    if change == "expired":
        claims = {**claims, "iat": now - 7200, "exp": now - 10}
    if change == "not yet valid":
        claims = {**claims, "nbf": now + 600}
    if change == "issued in the future":
        claims = {**claims, "iat": now + 600}
    if change == "wrong audience":
        claims = {**claims, "aud": "another-service"}
    if change == "wrong issuer":
        claims = {**claims, "iss": "someone-else"}
    if change == "not delegated":
        claims = {**claims, "delegated": False}
    if change == "no expiry":
        claims = {k: v for k, v in claims.items() if k != "exp"}
    return jwt.encode(claims, key, algorithm=alg)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ("alg none", "Invalid token."),
        ("another algorithm", "Invalid token."),
        ("wrong secret", "Invalid token."),
        ("expired", "Token expired."),
        ("not yet valid", "Invalid token."),
        ("issued in the future", "Invalid token."),
        ("wrong audience", "Invalid token."),
        ("wrong issuer", "Invalid token."),
        ("not delegated", "Invalid token type."),
        ("no expiry", "Invalid token claims."),
    ],
)
# "another algorithm" signs HS512 with the application key (47 bytes): the forger's short key is the point.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_forged_tokens_are_401(kit, change, detail):
    meet = await kit.app()
    registered = await kit.register(meet)
    user = await meet.create_user()
    claims = kit.claims_of(await kit.token_for(meet, registered, user))
    # The untouched claims, re-signed, work: the refusal comes from the change alone.
    assert (
        await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(_forge(kit, claims, None)))
    ).status_code == 200
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(_forge(kit, claims, change)))
    assert response.status_code == 401
    assert response.json() == {"detail": detail}


async def test_edited_claims_break_the_signature(kit):
    meet = await kit.app()
    registered = await kit.register(meet, scopes=["rooms:list"])
    user = await meet.create_user()
    victim = await meet.create_user()
    await meet.create_room("victim's", accesses=[(victim, "owner")])
    token = await kit.token_for(meet, registered, user)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    for edit in ({"user_id": str(victim.id)}, {"scope": "rooms:list rooms:create rooms:retrieve"}):
        edited = f"{header}.{_b64({**claims, **edit})}.{signature}"
        response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(edited))
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}


async def test_a_scope_escalated_with_the_key_is_capped_by_the_application(kit):
    """Even a token signed with the real key cannot hold more than its application's scopes."""
    meet = await kit.app()
    registered = await kit.register(meet, scopes=["rooms:list"])
    user = await meet.create_user()
    claims = kit.claims_of(await kit.token_for(meet, registered, user))
    escalated = jwt.encode({**claims, "scope": "rooms:list rooms:create"}, kit.APP_KEY, algorithm="HS256")
    response = await meet.client.post(kit.ROOMS_URL, json={}, headers=kit.bearer(escalated))
    assert response.status_code == 403
    assert response.json() == {"detail": "Insufficient permissions. Required scope: rooms:create"}


async def test_an_addons_token_is_not_an_application_token_and_back(kit):
    """The two kinds share nothing: each key verifies its own tokens only."""
    meet = await kit.app(ADDONS_ENABLED="false")
    user = await meet.create_user()
    now = int(time.time())
    addons_like = {"iat": now, "exp": now + 60, "user_id": str(user.id), "iss": "lasuite-meet",
                   "aud": "addons", "scope": "rooms:list"}  # fmt: skip
    token = jwt.encode(addons_like, kit.ADDONS_KEY, algorithm="HS256")
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(token))
    assert response.status_code == 401  # add-ons off: nobody accepts it
