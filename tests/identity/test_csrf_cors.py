"""CSRF on session-authenticated unsafe requests, and CORS with credentials for the frontend."""

from __future__ import annotations

import uuid

import pytest

from tests.identity.conftest import API

FRONTEND = "http://localhost:3000"


async def real_login(meet, oidc_provider, browser_for):
    sub = f"csrf-{uuid.uuid4().hex[:8]}"
    oidc_provider.set_user(sub, email=f"{sub}@example.com")
    assert (await browser_for(meet).login(sub)).status_code == 302
    me = await meet.client.get(f"{API}/users/me")
    assert me.status_code == 200
    return me.json()["id"]


async def test_csrf_missing_wrong_and_right(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    user_id = await real_login(meet, oidc_provider, browser_for)
    url = f"{API}/users/{user_id}/"
    body = {"timezone": "Europe/Paris", "language": "fr-fr"}

    missing = await meet.client.put(url, json=body)
    assert missing.status_code == 403
    assert missing.json() == {"detail": "CSRF Failed: CSRF token missing."}
    wrong = await meet.client.put(url, json=body, headers={"X-CSRFToken": "wrong"})
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "CSRF Failed: CSRF token incorrect."}
    assert (await meet.client.get(f"{API}/users/me")).json()["timezone"] == "UTC"

    # The frontend copies the JS-readable csrftoken cookie into the header.
    right = await meet.client.put(url, json=body, headers={"X-CSRFToken": meet.client.cookies["csrftoken"]})
    assert right.status_code == 200
    assert right.json()["timezone"] == "Europe/Paris"


async def test_csrf_cookie_missing(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    user_id = await real_login(meet, oidc_provider, browser_for)
    token = meet.client.cookies["csrftoken"]
    meet.client.cookies.delete("csrftoken")
    response = await meet.client.patch(f"{API}/users/{user_id}/", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF Failed: CSRF cookie not set."}


async def test_anonymous_unsafe_requests_are_not_csrf_checked(meet_app):
    meet = await meet_app()
    response = await meet.client.put(f"{API}/users/{uuid.uuid4()}/", json={})
    assert response.status_code == 401  # not a CSRF 403


async def test_csrf_token_rotates_at_each_login(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env())
    await real_login(meet, oidc_provider, browser_for)
    first = meet.client.cookies["csrftoken"]
    await real_login(meet, oidc_provider, browser_for)
    assert meet.client.cookies["csrftoken"] != first


PREFLIGHT = {
    "Origin": FRONTEND,
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "content-type,x-csrftoken",
}


@pytest.mark.parametrize(
    "env",
    [
        {"CORS_ALLOWED_ORIGINS": "http://localhost:3000,https://meet.example"},
        {"CORS_ALLOWED_ORIGIN_REGEXES": r"^http://localhost:\d+$"},
        {"CORS_ALLOW_ALL_ORIGINS": "true"},
    ],
)
async def test_cors_preflight_for_an_allowed_origin(meet_app, env):
    meet = await meet_app(env=env)
    response = await meet.client.options(f"{API}/users/{uuid.uuid4()}/", headers=PREFLIGHT)
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == FRONTEND  # never "*" with credentials
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed_headers = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-csrftoken", "authorization"} <= allowed_headers
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods


async def test_cors_preflight_for_another_origin_is_refused(meet_app):
    meet = await meet_app(env={"CORS_ALLOWED_ORIGINS": "https://meet.example"})
    response = await meet.client.options(f"{API}/users/me/", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 400


async def test_cors_on_answers_and_redirects(meet_app, oidc_provider):
    meet = await meet_app(env={**oidc_provider.env(), "CORS_ALLOWED_ORIGINS": FRONTEND})
    me = await meet.client.get(f"{API}/users/me", headers={"Origin": FRONTEND})
    assert me.status_code == 401
    assert me.headers["access-control-allow-origin"] == FRONTEND
    assert me.headers["access-control-allow-credentials"] == "true"
    redirect = await meet.client.get(
        f"{API}/authenticate/", headers={"Origin": FRONTEND}, follow_redirects=False
    )
    assert redirect.status_code == 302
    assert redirect.headers["access-control-allow-origin"] == FRONTEND
    assert redirect.headers["access-control-allow-credentials"] == "true"
    other = await meet.client.get(f"{API}/users/me", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_no_cors_headers_without_configuration(meet_app):
    meet = await meet_app()
    response = await meet.client.get(f"{API}/users/me", headers={"Origin": FRONTEND})
    assert "access-control-allow-origin" not in response.headers
