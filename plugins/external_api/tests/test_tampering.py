"""Forged and altered tokens never reach the rooms (services.md §8.3, §13)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from meet_core.api import User
from meet_core.testing.factories import session_maker


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


@pytest.mark.parametrize(
    "broken",
    [
        lambda token: token[:-10],  # truncated signature
        lambda token: token.rsplit(".", 1)[0],  # signature dropped
        lambda token: token + "x",  # signature extended
        lambda token: "a.b.c",  # garbled segments
        lambda token: token.split(".")[0] + ".!!!." + token.split(".")[2],  # payload not base64
        lambda token: "e30.e30.",  # {} as header and payload, no signature
    ],
    ids=["truncated", "two segments", "extended", "garbled", "not base64", "empty header"],
)
async def test_broken_tokens_are_401(kit, broken):
    meet = await kit.app()
    registered = await kit.register(meet)
    token = await kit.token_for(meet, registered, await meet.create_user())
    assert (await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(token))).status_code == 200
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(broken(token)))
    assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."})


async def test_every_claim_edited_after_signing_breaks_the_signature(kit):
    """Beyond user and scope: the application, the delegation, the expiry, the audience."""
    meet = await kit.app()
    registered = await kit.register(meet)
    other = await kit.register(meet)
    token = await kit.token_for(meet, registered, await meet.create_user())
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    edits = [
        {"client_id": other.client_id},
        {"delegated": False},
        {"exp": claims["exp"] + 10 * 365 * 86400},
        {"aud": "addons"},
        {"iss": "lasuite-meet"},
    ]
    for edit in edits:
        edited = f"{header}.{_b64({**claims, **edit})}.{signature}"
        response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(edited))
        assert (response.status_code, response.json()) == (401, {"detail": "Invalid token."}), edit


@pytest.mark.parametrize(
    ("user_id", "detail"),
    [
        ("deleted", "User not found."),
        ("not-a-uuid", "Invalid token claims."),
        (12, "Invalid token claims."),
    ],
)
async def test_a_signed_token_for_no_user_is_401(kit, user_id, detail):
    """Signed with the real key (a leaked key, or a user deleted since): still no one to act for."""
    meet = await kit.app()
    registered = await kit.register(meet)
    user = await meet.create_user()
    claims = kit.claims_of(await kit.token_for(meet, registered, user))
    if user_id == "deleted":
        async with session_maker(meet.app)() as session:
            await session.delete(await session.get(User, user.id))
            await session.commit()
        forged = jwt.encode(claims, kit.APP_KEY, algorithm="HS256")
    else:
        forged = jwt.encode({**claims, "user_id": user_id}, kit.APP_KEY, algorithm="HS256")
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(forged))
    assert (response.status_code, response.json()) == (401, {"detail": detail})


def _addons_claims(user_id: str) -> dict:
    now = int(time.time())
    return {"iat": now, "exp": now + 60, "user_id": user_id, "iss": "lasuite-meet", "aud": "addons",
            "scope": "rooms:list"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (None, None),
        ("alg none", "Invalid token."),
        ("wrong secret", "Invalid token."),
        ("the application key", "Invalid token."),
        ("edited user", "Invalid token."),
        ("edited scope", "Invalid token."),
        ("expired", "Token expired."),
        ("wrong issuer", "Invalid token."),
        ("no expiry", "Invalid token claims."),
        ("inactive user", "User account is disabled."),
    ],
)
async def test_forged_addons_tokens_are_401(kit, change, detail):
    """The add-ons tokens, the chain's second step, get the same set as the application's."""
    meet = await kit.app()
    user = await meet.create_user()
    victim = await meet.create_user()
    claims = _addons_claims(str(user.id))
    key = kit.ADDONS_KEY
    if change == "expired":
        claims.update(iat=claims["iat"] - 7200, exp=claims["iat"] - 10)
    if change == "wrong issuer":
        claims["iss"] = "someone-else"
    if change == "no expiry":
        del claims["exp"]
    if change == "wrong secret":
        key = "another-key-of-at-least-thirty-two-bytes!!"
    if change == "the application key":
        key = kit.APP_KEY
    if change == "inactive user":
        await kit.set_active(meet, User, user.id, False)
    token = jwt.encode(claims, key, algorithm="HS256")
    header, payload, signature = token.split(".")
    if change == "alg none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    if change == "edited user":
        token = f"{header}.{_b64({**claims, 'user_id': str(victim.id)})}.{signature}"
    if change == "edited scope":
        token = f"{header}.{_b64({**claims, 'scope': 'rooms:list rooms:create'})}.{signature}"
    response = await meet.client.get(kit.ROOMS_URL, headers=kit.bearer(token))
    if change is None:  # the untouched token works: the refusals come from the changes alone
        assert response.status_code == 200, response.text
        return
    assert (response.status_code, response.json()) == (401, {"detail": detail})
