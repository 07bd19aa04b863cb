"""The add-ons session exchange, end to end (api.md §2.13, services.md §8.6)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import jwt

from meet_core.api import User

SESSIONS = "/api/v1.0/addons/sessions"


async def _init(addon):
    response = await addon.post(f"{SESSIONS}/init/")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"transit_token", "csrf_token"}
    set_cookie = response.headers["set-cookie"]
    sid = set_cookie.split(";")[0].split("=", 1)[1]
    flags = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=none", "max-age=3600", "path=/"} <= flags
    return sid, body


async def _poll(addon, sid, csrf):
    # The cookie is Secure: the test client (plain http) would not send it back by itself.
    return await addon.get(f"{SESSIONS}/poll/", headers={"Cookie": f"addonsSid={sid}", "X-CSRFToken": csrf})


async def _exchange(meet, client, transit):
    return await client.post(f"{SESSIONS}/exchange/", json={"transit_token": transit})


async def test_the_whole_flow(kit):
    meet = await kit.app()
    user = await meet.create_user()
    await meet.login(user)
    async with meet.new_client() as addon:
        sid, init = await _init(addon)
        assert (
            init["csrf_token"] == hmac.new(kit.CSRF_SECRET.encode(), sid.encode(), hashlib.sha256).hexdigest()
        )
        pending = await _poll(addon, sid, init["csrf_token"])
        assert pending.status_code == 202
        assert pending.json() == {"state": "pending"}

        exchanged = await _exchange(meet, meet.client, init["transit_token"])
        assert exchanged.status_code == 200, exchanged.text
        assert exchanged.json() == {"status": "ok"}

        done = await _poll(addon, sid, init["csrf_token"])
        assert done.status_code == 200
        body = done.json()
        assert {k: v for k, v in body.items() if k != "access_token"} == {
            "state": "authenticated",
            "token_type": "Bearer",
            "expires_in": 7200,
            "scope": "rooms:create",
        }
        assert "max-age=0" in done.headers["set-cookie"].lower()
        # Read once.
        assert (await _poll(addon, sid, init["csrf_token"])).status_code == 404

    claims = jwt.decode(body["access_token"], kit.ADDONS_KEY, algorithms=["HS256"], audience="addons")
    assert claims["user_id"] == str(user.id)
    assert claims["iss"] == "lasuite-meet"
    assert claims["exp"] - claims["iat"] == 7200

    # The add-on creates a meeting with it; its scope allows nothing else.
    auth = kit.bearer(body["access_token"])
    meet.logout()
    created = await meet.client.post(kit.ROOMS_URL, json={}, headers=auth)
    assert created.status_code == 201, created.text
    listed = await meet.client.get(kit.ROOMS_URL, headers=auth)
    assert listed.status_code == 403
    assert listed.json() == {"detail": "Insufficient permissions. Required scope: rooms:list"}

    await kit.set_active(meet, User, user.id, False)
    response = await meet.client.post(kit.ROOMS_URL, json={}, headers=auth)
    assert response.status_code == 401
    assert response.json() == {"detail": "User account is disabled."}


async def test_a_reused_transit_token_evicts_the_session(kit):
    meet = await kit.app()
    await meet.login(await meet.create_user())
    async with meet.new_client() as addon:
        sid, init = await _init(addon)
        assert (await _exchange(meet, meet.client, init["transit_token"])).status_code == 200
        again = await _exchange(meet, meet.client, init["transit_token"])
        assert again.status_code == 400
        assert again.json() == {"detail": "Invalid or expired transit token."}
        gone = await _poll(addon, sid, init["csrf_token"])
        assert gone.status_code == 404
        assert gone.json() == {"detail": "Session not found."}


async def test_expired_transit_and_session(kit):
    meet = await kit.app(ADDONS_TRANSIT_TOKEN_TTL="1", ADDONS_SESSION_TTL="3")
    await meet.login(await meet.create_user())
    async with meet.new_client() as addon:
        sid, init = await _init_ttl(addon)
        await asyncio.sleep(1.2)
        late = await _exchange(meet, meet.client, init["transit_token"])
        assert late.status_code == 400
        assert late.json() == {"detail": "Invalid or expired transit token."}
        assert (await _poll(addon, sid, init["csrf_token"])).status_code == 202
        await asyncio.sleep(2)
        assert (await _poll(addon, sid, init["csrf_token"])).status_code == 404


async def _init_ttl(addon):
    response = await addon.post(f"{SESSIONS}/init/")
    assert response.status_code == 201
    return response.headers["set-cookie"].split(";")[0].split("=", 1)[1], response.json()


async def test_poll_refusals(kit):
    meet = await kit.app()
    async with meet.new_client() as addon:
        sid, init = await _init(addon)
        no_cookie = await addon.get(f"{SESSIONS}/poll/", headers={"X-CSRFToken": init["csrf_token"]})
        assert (no_cookie.status_code, no_cookie.json()) == (401, {"detail": "Missing credentials."})
        no_csrf = await addon.get(f"{SESSIONS}/poll/", headers={"Cookie": f"addonsSid={sid}"})
        assert (no_csrf.status_code, no_csrf.json()) == (400, {"detail": "Missing CSRF token."})
        wrong = await _poll(addon, sid, "0" * 64)
        assert wrong.status_code == 400
        # Another session's id with its own valid CSRF token: no such session.
        other = "x" * 80
        forged_csrf = hmac.new(kit.CSRF_SECRET.encode(), other.encode(), hashlib.sha256).hexdigest()
        assert (await _poll(addon, other, forged_csrf)).status_code == 404


async def test_exchange_refusals(kit):
    meet = await kit.app()
    anonymous = await meet.client.post(f"{SESSIONS}/exchange/", json={"transit_token": "x"})
    assert anonymous.status_code == 401
    await meet.login(await meet.create_user())
    for body in ({}, {"transit_token": ""}, {"transit_token": 3}):
        response = await meet.client.post(f"{SESSIONS}/exchange/", json=body)
        assert (response.status_code, response.json()) == (400, {"detail": "Missing transit_token."})
    unknown = await _exchange(meet, meet.client, "unknown")
    assert (unknown.status_code, unknown.json()) == (400, {"detail": "Invalid or expired transit token."})
    # CSRF applies to the logged-in caller.
    meet.client.headers.pop("X-CSRFToken", None)
    response = await meet.client.post(f"{SESSIONS}/exchange/", json={"transit_token": "x"})
    assert response.status_code == 403


async def test_addons_disabled_is_404(kit):
    meet = await kit.app(ADDONS_ENABLED="false")
    assert (await meet.client.post(f"{SESSIONS}/init/")).status_code == 404
    assert (await meet.client.get(f"{SESSIONS}/poll/")).status_code == 404
    # Session authentication first, then the flag.
    assert (await meet.client.post(f"{SESSIONS}/exchange/", json={})).status_code == 401


async def test_an_expired_addons_token(kit):
    meet = await kit.app()
    user = await meet.create_user()
    now = int(time.time())
    claims = {"iat": now - 100, "exp": now - 1, "user_id": str(user.id), "iss": "lasuite-meet",
              "aud": "addons", "scope": "rooms:create"}  # fmt: skip
    token = jwt.encode(claims, kit.ADDONS_KEY, algorithm="HS256")
    response = await meet.client.post(kit.ROOMS_URL, json={}, headers=kit.bearer(token))
    assert (response.status_code, response.json()) == (401, {"detail": "Token expired."})
