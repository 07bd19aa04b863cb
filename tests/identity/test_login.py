"""OIDC login through the whole browser flow against a real provider on loopback."""

from __future__ import annotations

import uuid

import httpx
import msgspec
from sqlalchemy import select

from meet_core.state import valkey_client
from meet_core.testing.factories import session_maker
from meet_core.users.models import User
from tests.identity.conftest import API, FAILURE, HOME, query_of


async def all_users(meet) -> list[User]:
    async with session_maker(meet.app)() as session:
        return list((await session.execute(select(User).order_by(User.created_at))).scalars())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_first_login_creates_the_user(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("alice")
    oidc_provider.set_user(sub, email="alice@example.com", given_name="Alice", usual_name="Smith")
    browser = browser_for(meet)

    start = await browser.start(returnTo="http://testserver.local/abc-defg-hij")
    params = query_of(start.headers["location"])
    assert params["response_type"] == "code"
    assert params["client_id"] == "meet"
    assert params["scope"] == "openid email profile"
    assert params["redirect_uri"] == "http://testserver.local/api/v1.0/callback/"
    assert params["state"] and params["nonce"]
    assert "prompt" not in params and "code_challenge" not in params
    pre_login_session = start.cookies["sessionid"]

    response = await browser.finish(await browser.authorize(start.headers["location"], sub))
    assert response.status_code == 302
    assert response.headers["location"] == "http://testserver.local/abc-defg-hij"
    assert response.cookies["sessionid"] != pre_login_session
    assert response.cookies["csrftoken"]

    me = await meet.client.get(f"{API}/users/me")
    assert me.status_code == 200
    users = await all_users(meet)
    assert len(users) == 1
    assert me.json() == {
        "id": str(users[0].id),
        "email": "alice@example.com",
        "full_name": "Alice Smith",
        "short_name": "Alice",
        "timezone": "UTC",
        "language": "en-us",
        "default_room_access_level": None,
        "default_room_configuration": {},
    }
    assert users[0].sub == sub


async def test_login_sets_session_and_csrf_cookies(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(SESSION_COOKIE_AGE="3600"))
    sub = unique("cookie")
    oidc_provider.set_user(sub, email="cookie@example.com")
    browser = browser_for(meet)
    start = await browser.start()
    pre_login = start.cookies["sessionid"]
    response = await browser.finish(await browser.authorize(start.headers["location"], sub))

    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "httponly" in cookies["sessionid"]
    assert "samesite=lax" in cookies["sessionid"]
    assert "max-age=3600" in cookies["sessionid"]
    assert "path=/" in cookies["sessionid"]
    assert "secure" not in cookies["sessionid"]
    assert "httponly" not in cookies["csrftoken"]  # the frontend's JavaScript reads it
    # The pre-login session is gone: the id rotated at login.
    assert await valkey_client(meet.app).get(f"session:{pre_login}") is None
    assert await valkey_client(meet.app).ttl(f"session:{response.cookies['sessionid']}") > 3500
    # Without a ``returnTo`` the login ends on LOGIN_REDIRECT_URL.
    assert response.headers["location"] == HOME


async def test_secure_session_cookie_when_configured(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(SESSION_COOKIE_SECURE="true", CSRF_COOKIE_SECURE="true"))
    sub = unique("secure")
    oidc_provider.set_user(sub, email="secure@example.com")
    transport = httpx.ASGITransport(app=meet.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as https:
        browser = browser_for(meet, https)
        start = await browser.start()
        assert (
            query_of(start.headers["location"])["redirect_uri"]
            == "https://testserver.local/api/v1.0/callback/"
        )
        response = await browser.finish(await browser.authorize(start.headers["location"], sub))
        assert (await https.get(f"{API}/users/me/")).status_code == 200
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "secure" in cookies["sessionid"]
    assert "secure" in cookies["csrftoken"]


async def test_second_login_finds_the_user_and_updates_claims(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("bob")
    oidc_provider.set_user(sub, email="bob@example.com", given_name="Bob")
    first = await browser_for(meet).login(sub)
    assert first.headers["location"] == HOME
    (user,) = await all_users(meet)

    oidc_provider.set_user(sub, email="robert@example.com", given_name="Robert", usual_name="Martin")
    async with meet.new_client() as other:
        second = await browser_for(meet, other).login(sub)
        assert second.headers["location"] == HOME
        me = await other.get(f"{API}/users/me/")
    assert me.status_code == 200
    assert me.json()["id"] == str(user.id)
    (updated,) = await all_users(meet)
    assert (updated.id, updated.email, updated.full_name, updated.short_name) == (
        user.id,
        "robert@example.com",
        "Robert Martin",
        "Robert",
    )


async def test_empty_claims_do_not_erase_stored_values(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("keep")
    await meet.create_user(sub=sub, email="keep@example.com", full_name="Kept Name", short_name="Kept")
    oidc_provider.set_user(sub, email="", given_name="")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == HOME
    (user,) = await all_users(meet)
    assert (user.email, user.full_name, user.short_name) == ("keep@example.com", "Kept Name", "Kept")


async def test_email_fallback_gives_a_provisional_user_its_sub(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION="true"))
    invited = await meet.create_user(sub=None, email="Carol@Example.com", full_name=None, short_name=None)
    sub = unique("carol")
    oidc_provider.set_user(sub, email="  carol@example.COM ", given_name="Carol")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == HOME
    (user,) = await all_users(meet)
    assert user.id == invited.id
    assert user.sub == sub
    assert user.email == "carol@example.COM"
    assert user.short_name == "Carol"


async def test_email_fallback_keeps_an_immutable_sub(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION="true"))
    existing = await meet.create_user(sub="old-sub", email="dave@example.com")
    sub = unique("dave")
    oidc_provider.set_user(sub, email="dave@example.com")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == HOME
    (user,) = await all_users(meet)
    assert (user.id, user.sub) == (existing.id, "old-sub")


async def test_email_fallback_overwrites_a_mutable_sub(meet_app, oidc_provider, browser_for):
    meet = await meet_app(
        env=oidc_provider.env(
            OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION="true", OIDC_USER_SUB_FIELD_IMMUTABLE="false"
        )
    )
    existing = await meet.create_user(sub="old-sub", email="erin@example.com")
    sub = unique("erin")
    oidc_provider.set_user(sub, email="erin@example.com")
    await browser_for(meet).login(sub)
    (user,) = await all_users(meet)
    assert (user.id, user.sub) == (existing.id, sub)


async def test_without_email_fallback_a_new_user_is_created(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    await meet.create_user(sub=None, email="frank@example.com")
    sub = unique("frank")
    oidc_provider.set_user(sub, email="frank@example.com")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == HOME
    users = await all_users(meet)
    assert len(users) == 2
    assert users[1].sub == sub


async def test_several_users_with_the_email_refuse_the_login(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION="true"))
    await meet.create_user(sub="s1", email="gina@example.com")
    await meet.create_user(sub="s2", email="GINA@example.com")
    sub = unique("gina")
    oidc_provider.set_user(sub, email="gina@example.com")
    response = await browser_for(meet).login(sub)
    assert response.status_code == 302
    assert response.headers["location"] == FAILURE
    assert "csrftoken" not in response.cookies
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401
    assert len(await all_users(meet)) == 2


async def test_inactive_user_is_refused(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("henry")
    await meet.create_user(sub=sub, email="henry@example.com", is_active=False)
    oidc_provider.set_user(sub, email="henry@example.com")
    response = await browser_for(meet).login(sub, returnTo="http://testserver.local/room")
    assert response.headers["location"] == FAILURE
    assert "csrftoken" not in response.cookies
    me = await meet.client.get(f"{API}/users/me/")
    assert me.status_code == 401


async def test_unknown_user_refused_when_user_creation_is_off(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_CREATE_USER="false"))
    sub = unique("ivy")
    oidc_provider.set_user(sub, email="ivy@example.com")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == FAILURE
    assert await all_users(meet) == []
    # A known user still logs in.
    known = unique("known")
    await meet.create_user(sub=known, email="known@example.com")
    oidc_provider.set_user(known, email="known@example.com")
    response = await browser_for(meet).login(known)
    assert response.headers["location"] == HOME


async def test_missing_essential_claim_refuses_the_login(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_USERINFO_ESSENTIAL_CLAIMS="email,given_name"))
    sub = unique("jack")
    oidc_provider.set_user(sub, email="jack@example.com")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == FAILURE
    assert await all_users(meet) == []


async def test_tampered_state_is_refused(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("kim")
    oidc_provider.set_user(sub, email="kim@example.com")
    browser = browser_for(meet)
    start = await browser.start()
    callback_url = await browser.authorize(start.headers["location"], sub)
    state = query_of(callback_url)["state"]

    first = "y" if state[0] == "x" else "x"  # always another state (it may start with "x")
    tampered = await browser.finish(callback_url.replace(state, first + state[1:]))
    assert tampered.headers["location"] == FAILURE
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401
    no_state = await browser.finish(callback_url.replace(f"state={state}", "state="))
    assert no_state.headers["location"] == FAILURE
    # The genuine answer still works: a wrong state does not burn the right one.
    genuine = await browser.finish(callback_url)
    assert genuine.headers["location"] == HOME


async def test_callback_from_another_browser_is_refused(meet_app, oidc_provider, browser_for):
    """The state lives in the session of the browser that started the login (login CSRF)."""
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("lea")
    oidc_provider.set_user(sub, email="lea@example.com")
    browser = browser_for(meet)
    start = await browser.start()
    callback_url = await browser.authorize(start.headers["location"], sub)
    async with meet.new_client() as victim:
        response = await victim.get(callback_url, follow_redirects=False)
        assert response.headers["location"] == FAILURE
        assert (await victim.get(f"{API}/users/me/")).status_code == 401


async def test_replayed_callback_is_refused(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("max")
    oidc_provider.set_user(sub, email="max@example.com")
    browser = browser_for(meet)
    start = await browser.start()
    callback_url = await browser.authorize(start.headers["location"], sub)
    assert (await browser.finish(callback_url)).headers["location"] == HOME
    session = meet.client.cookies["sessionid"]

    replay = await browser.finish(callback_url)
    assert replay.headers["location"] == FAILURE
    assert "sessionid" not in replay.cookies
    # The replay neither logs the browser out nor in again.
    assert meet.client.cookies["sessionid"] == session
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 200


async def test_replayed_code_with_a_fresh_state_is_refused(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("nina")
    oidc_provider.set_user(sub, email="nina@example.com")
    browser = browser_for(meet)
    first = await browser.start()
    callback_url = await browser.authorize(first.headers["location"], sub)
    assert (await browser.finish(callback_url)).headers["location"] == HOME
    code = query_of(callback_url)["code"]

    async with meet.new_client() as attacker:
        other = browser_for(meet, attacker)
        fresh = await other.start()
        state = query_of(fresh.headers["location"])["state"]
        response = await other.finish(f"{API}/callback/?code={code}&state={state}")
        assert response.headers["location"] == FAILURE  # the provider refuses a used code
        assert (await attacker.get(f"{API}/users/me/")).status_code == 401


async def test_wrong_nonce_is_refused(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("olga")
    oidc_provider.set_user(sub, email="olga@example.com")
    browser = browser_for(meet)
    start = await browser.start()
    state = query_of(start.headers["location"])["state"]
    # Test set-up: the nonce remembered for this login is not the one the provider will sign.
    valkey = valkey_client(meet.app)
    key = f"session:{start.cookies['sessionid']}"
    session = msgspec.json.decode(await valkey.get(key))
    session["data"]["oidc_states"][state]["nonce"] = "another-nonce"
    await valkey.set(key, msgspec.json.encode(session), ex=600)

    response = await browser.finish(await browser.authorize(start.headers["location"], sub))
    assert response.headers["location"] == FAILURE
    assert await all_users(meet) == []


async def test_id_token_with_an_unexpected_algorithm_is_refused(meet_app, oidc_provider, browser_for):
    """The provider signs RS256; a client expecting HS256 must not accept it."""
    meet = await meet_app(env=oidc_provider.env(OIDC_RP_SIGN_ALGO="HS256"))
    sub = unique("paul")
    oidc_provider.set_user(sub, email="paul@example.com")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == FAILURE


async def test_code_issued_to_another_client_is_refused(meet_app, oidc_provider, browser_for):
    """A code obtained for another client id cannot be exchanged by ours."""
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("quinn")
    oidc_provider.set_user(sub, email="quinn@example.com")
    browser = browser_for(meet)
    start = await browser.start()
    url = start.headers["location"].replace("client_id=meet", "client_id=someone-else")
    callback_url = await browser.authorize(url, sub)
    response = await browser.finish(callback_url)
    assert response.headers["location"] == FAILURE


async def test_unreachable_provider_gives_the_failure_page(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_OP_TOKEN_ENDPOINT="http://127.0.0.1:9/token"))
    sub = unique("rita")
    oidc_provider.set_user(sub, email="rita@example.com")
    response = await browser_for(meet).login(sub)
    assert response.status_code == 302
    assert response.headers["location"] == FAILURE


async def test_pkce_challenge_is_sent(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_USE_PKCE="true"))
    sub = unique("sam")
    oidc_provider.set_user(sub, email="sam@example.com")
    browser = browser_for(meet)
    start = await browser.start()
    params = query_of(start.headers["location"])
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    response = await browser.finish(await browser.authorize(start.headers["location"], sub))
    assert response.headers["location"] == HOME


async def test_nonce_can_be_turned_off_and_extra_params_added(meet_app, oidc_provider, browser_for):
    meet = await meet_app(
        env=oidc_provider.env(
            OIDC_USE_NONCE="false", OIDC_AUTH_REQUEST_EXTRA_PARAMS='{"acr_values": "eidas1"}'
        )
    )
    sub = unique("tom")
    oidc_provider.set_user(sub, email="tom@example.com")
    browser = browser_for(meet)
    start = await browser.start(login_hint="tom@example.com")
    params = query_of(start.headers["location"])
    assert "nonce" not in params
    assert params["acr_values"] == "eidas1"
    assert params["login_hint"] == "tom@example.com"
    response = await browser.finish(await browser.authorize(start.headers["location"], sub))
    assert response.headers["location"] == HOME


async def test_denied_at_the_provider_goes_to_the_failure_url(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    browser = browser_for(meet)
    start = await browser.start(returnTo="/room")
    callback_url = await browser.authorize(start.headers["location"], "anyone", deny=True)
    assert query_of(callback_url)["error"] == "access_denied"
    response = await browser.finish(callback_url)
    assert response.headers["location"] == FAILURE


async def test_silent_login_failure_goes_back_to_return_to(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    browser = browser_for(meet)
    start = await browser.start(silent="true", returnTo="http://testserver.local/abc-defg-hij")
    assert query_of(start.headers["location"])["prompt"] == "none"
    callback_url = await browser.authorize(start.headers["location"], None)
    assert query_of(callback_url)["error"] == "login_required"
    response = await browser.finish(callback_url)
    assert response.status_code == 302
    assert response.headers["location"] == "http://testserver.local/abc-defg-hij"
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401


async def test_silent_login_failure_without_return_to_goes_to_success_url(
    meet_app, oidc_provider, browser_for
):
    meet = await meet_app(env=oidc_provider.env())
    browser = browser_for(meet)
    start = await browser.start(silent="true")
    response = await browser.finish(await browser.authorize(start.headers["location"], None))
    assert response.headers["location"] == HOME


async def test_silent_login_with_an_unknown_state_is_a_failure(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    response = await meet.client.get(
        f"{API}/callback/?error=login_required&state=unknown", follow_redirects=False
    )
    assert response.headers["location"] == FAILURE


async def test_claims_from_the_id_token_without_userinfo_endpoint(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_OP_USER_ENDPOINT=""))
    sub = unique("uma")
    oidc_provider.set_user(sub, email="uma@example.com", given_name="Uma")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == HOME
    (user,) = await all_users(meet)
    assert (user.sub, user.email, user.short_name) == (sub, "uma@example.com", "Uma")


async def test_userinfo_expected_as_jwt_but_json_is_refused(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_OP_USER_ENDPOINT_FORMAT="JWT"))
    sub = unique("vic")
    oidc_provider.set_user(sub, email="vic@example.com")
    response = await browser_for(meet).login(sub)
    assert response.headers["location"] == FAILURE


async def test_login_without_oidc_configuration(meet_app):
    meet = await meet_app(env={"LOGIN_REDIRECT_URL_FAILURE": "/failed"})
    response = await meet.client.get(f"{API}/authenticate/", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/failed"
    silent = await meet.client.get(
        f"{API}/authenticate/?silent=true&returnTo=/abc-defg-hij", follow_redirects=False
    )
    assert silent.headers["location"] == "/abc-defg-hij"
    callback = await meet.client.get(f"{API}/callback/?code=x&state=y", follow_redirects=False)
    assert callback.headers["location"] == "/failed"


async def test_several_logins_in_parallel_tabs(meet_app, oidc_provider, browser_for):
    """Two tabs start a login in the same browser: both states stay valid."""
    meet = await meet_app(env=oidc_provider.env())
    sub = unique("walt")
    oidc_provider.set_user(sub, email="walt@example.com")
    browser = browser_for(meet)
    tab1 = await browser.start(returnTo="/one")
    tab2 = await browser.start(returnTo="/two")
    first = await browser.finish(await browser.authorize(tab1.headers["location"], sub))
    assert first.headers["location"] == "/one"
    session = meet.client.cookies["sessionid"]
    # The pending state of the other tab survived the rotation of the session id.
    second = await browser.finish(await browser.authorize(tab2.headers["location"], sub))
    assert second.headers["location"] == "/two"
    assert meet.client.cookies["sessionid"] != session
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 200
    (user,) = await all_users(meet)
    assert user.sub == sub
