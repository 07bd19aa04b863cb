"""Logout: the session ends here at once; then the provider's end-session page or LOGOUT_REDIRECT_URL."""

from __future__ import annotations

import uuid

import httpx

from meet_core.state import valkey_client
from tests.identity.conftest import API, BYE, query_of


async def logged_in(meet, oidc_provider, browser_for) -> str:
    sub = f"logout-{uuid.uuid4().hex[:8]}"
    oidc_provider.set_user(sub, email=f"{sub}@example.com")
    response = await browser_for(meet).login(sub)
    assert response.status_code == 302
    assert (await meet.client.get(f"{API}/users/me")).status_code == 200
    return response.cookies["sessionid"]


async def test_logout_goes_through_the_provider(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    session_id = await logged_in(meet, oidc_provider, browser_for)

    response = await meet.client.get(f"{API}/logout", follow_redirects=False)  # the frontend's URL
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(f"{oidc_provider.url}/oauth2/end_session?")
    params = query_of(location)
    assert params["post_logout_redirect_uri"] == "http://testserver.local/api/v1.0/logout-callback/"
    assert params["client_id"] == "meet"
    assert params["id_token_hint"].count(".") == 2  # the ID token received at login
    # The session is over before the browser even reaches the provider.
    assert await valkey_client(meet.app).get(f"session:{session_id}") is None
    assert "sessionid" not in meet.client.cookies
    me = await meet.client.get(f"{API}/users/me")
    assert me.status_code == 401
    assert me.headers["www-authenticate"] == "Session"

    # The person confirms at the provider, which sends the browser to our logout callback.
    async with httpx.AsyncClient() as browser:
        confirm = await browser.post(
            f"{oidc_provider.url}/oauth2/end_session/confirm",
            data={"redirect_uri": params["post_logout_redirect_uri"]},
        )
    assert confirm.status_code == 302
    back = await meet.client.get(confirm.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    assert back.headers["location"] == BYE


async def test_logout_with_a_trailing_slash_and_post(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_OP_LOGOUT_ENDPOINT=""))
    await logged_in(meet, oidc_provider, browser_for)
    csrf = meet.client.cookies["csrftoken"]
    response = await meet.client.post(f"{API}/logout/", headers={"X-CSRFToken": csrf}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == BYE
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401


async def test_post_logout_needs_the_csrf_token(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    await logged_in(meet, oidc_provider, browser_for)
    missing = await meet.client.post(f"{API}/logout/", follow_redirects=False)
    assert missing.status_code == 403
    assert missing.json() == {"detail": "CSRF Failed: CSRF token missing."}
    wrong = await meet.client.post(f"{API}/logout/", headers={"X-CSRFToken": "nope"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "CSRF Failed: CSRF token incorrect."}
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 200
    form = await meet.client.post(
        f"{API}/logout/",
        data={"csrfmiddlewaretoken": meet.client.cookies["csrftoken"]},
        follow_redirects=False,
    )
    assert form.status_code == 302
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401


async def test_logout_without_provider_endpoint_goes_to_logout_redirect_url(
    meet_app, oidc_provider, browser_for
):
    meet = await meet_app(env=oidc_provider.env(OIDC_OP_LOGOUT_ENDPOINT=""))
    await logged_in(meet, oidc_provider, browser_for)
    response = await meet.client.get(f"{API}/logout/", follow_redirects=False)
    assert response.headers["location"] == BYE
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401


async def test_logout_without_stored_id_token_stays_local(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_STORE_ID_TOKEN="false"))
    await logged_in(meet, oidc_provider, browser_for)
    response = await meet.client.get(f"{API}/logout/", follow_redirects=False)
    assert response.headers["location"] == BYE
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401


async def test_anonymous_logout_just_redirects(meet_app, oidc_provider):
    meet = await meet_app(env=oidc_provider.env())
    response = await meet.client.get(f"{API}/logout", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == BYE
    response = await meet.client.post(f"{API}/logout", follow_redirects=False)
    assert response.status_code == 302


async def test_logout_get_can_be_disabled(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(ALLOW_LOGOUT_GET_METHOD="false"))
    await logged_in(meet, oidc_provider, browser_for)
    response = await meet.client.get(f"{API}/logout/", follow_redirects=False)
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 200


async def test_logout_callback_redirects(meet_app, oidc_provider):
    meet = await meet_app(env=oidc_provider.env())
    response = await meet.client.get(f"{API}/logout-callback/?state=whatever", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == BYE
