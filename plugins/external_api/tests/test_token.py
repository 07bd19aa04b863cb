"""``POST /external-api/v1.0/application/token/`` (services.md §8.2)."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from meet_core.api import User
from meet_core.testing.factories import session_maker
from meet_external_api.models import Application


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_a_token_for_the_delegated_user(kit, form):
    meet = await kit.app()
    registered = await kit.register(meet, domains=["example.com"])
    user = await meet.create_user(email="Alice@Example.com")

    before = int(time.time())
    response = await kit.request_token(meet, registered, "alice@EXAMPLE.com", form=form)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == " ".join(kit.ALL_SCOPES)
    claims = kit.claims_of(body["access_token"])
    assert claims["user_id"] == str(user.id)
    assert claims["client_id"] == registered.client_id
    assert claims["delegated"] is True
    assert claims["iss"] == "lasuite-meet"
    assert claims["aud"] == "meet-external-api"
    assert claims["scope"] == " ".join(kit.ALL_SCOPES)
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 3600


async def test_a_form_secret_with_reserved_characters(kit):
    meet = await kit.app()
    registered = await kit.register(meet)
    registered.secret = "p&ss=w+rd%20 é"
    async with session_maker(meet.app)() as session:
        from meet_external_api.applications import hash_secret

        row = await session.get(Application, registered.application.id)
        row.client_secret = hash_secret(registered.secret)
        await session.commit()
    user = await meet.create_user()
    assert (await kit.request_token(meet, registered, user.email, form=True)).status_code == 200
    assert (await kit.request_token(meet, registered, user.email)).status_code == 200


async def test_without_scopes_the_answer_has_no_scope(kit):
    meet = await kit.app()
    registered = await kit.register(meet, scopes=[])
    user = await meet.create_user()
    response = await kit.request_token(meet, registered, user.email)
    assert response.status_code == 200
    assert "scope" not in response.json()
    assert "scope" not in kit.claims_of(response.json()["access_token"])


async def test_settings_shape_the_token(kit):
    meet = await kit.app(
        APPLICATION_JWT_ISSUER="https://meet.example.org",
        APPLICATION_JWT_AUDIENCE="calendar-api",
        APPLICATION_JWT_EXPIRATION_SECONDS="600",
    )
    registered = await kit.register(meet)
    user = await meet.create_user()
    body = (await kit.request_token(meet, registered, user.email)).json()
    assert body["expires_in"] == 600
    claims = kit.claims_of(body["access_token"], audience="calendar-api")
    assert claims["iss"] == "https://meet.example.org"
    assert claims["exp"] - claims["iat"] == 600


async def test_unknown_client_and_wrong_secret_answer_the_same(kit):
    meet = await kit.app()
    registered = await kit.register(meet)
    user = await meet.create_user()
    unknown = await kit.request_token(meet, registered, user.email, client_id="nobody")
    wrong = await kit.request_token(meet, registered, user.email, client_secret=registered.secret + "x")
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid credentials"}
    assert unknown.headers.get("www-authenticate") == wrong.headers.get("www-authenticate")


async def test_an_inactive_application_is_told_only_with_the_right_secret(kit):
    meet = await kit.app()
    registered = await kit.register(meet, active=False)
    user = await meet.create_user()
    response = await kit.request_token(meet, registered, user.email)
    assert response.status_code == 401
    assert response.json() == {"detail": "Application is inactive"}
    wrong = await kit.request_token(meet, registered, user.email, client_secret="wrong")
    assert wrong.json() == {"detail": "Invalid credentials"}


@pytest.mark.parametrize("scope", ["not-an-email", "a@", "@example.com", "a b@example.com"])
async def test_scope_must_be_an_email(kit, scope):
    meet = await kit.app()
    registered = await kit.register(meet)
    response = await kit.request_token(meet, registered, scope)
    assert response.status_code == 400
    assert response.json() == {"error": "Scope should be a valid email address."}


@pytest.mark.parametrize("email", ["bob@other.org", "bob@sub.example.com", "bob@example.com.evil.org"])
async def test_a_domain_not_allowed_is_403(kit, email):
    meet = await kit.app()
    registered = await kit.register(meet, domains=["example.com", "EXAMPLE.net"])
    await meet.create_user(email=email)
    response = await kit.request_token(meet, registered, email)
    assert response.status_code == 403
    assert response.json() == {"error": "This application is not authorized for this email domain."}
    user = await meet.create_user(email="bob@Example.NET")
    assert (await kit.request_token(meet, registered, user.email)).status_code == 200


async def test_an_unknown_user_is_404_without_creation(kit):
    # Any one of the three settings missing keeps creation off.
    for env in (
        {},
        {"APPLICATION_ALLOW_USER_CREATION": "true", "OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION": "true"},
        {"APPLICATION_ALLOW_USER_CREATION": "true", "OIDC_USER_SUB_FIELD_IMMUTABLE": "false"},
        {"OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION": "true", "OIDC_USER_SUB_FIELD_IMMUTABLE": "false"},
    ):
        meet = await kit.app(**env)
        registered = await kit.register(meet)
        response = await kit.request_token(meet, registered, f"new-{uuid.uuid4().hex[:6]}@example.com")
        assert response.status_code == 404, env
        assert response.json() == {"detail": "User not found."}


async def test_an_unknown_user_is_created_provisional_when_allowed(kit):
    meet = await kit.app(
        APPLICATION_ALLOW_USER_CREATION="true",
        OIDC_FALLBACK_TO_EMAIL_FOR_IDENTIFICATION="true",
        OIDC_USER_SUB_FIELD_IMMUTABLE="false",
    )
    registered = await kit.register(meet)
    response = await kit.request_token(meet, registered, "Newcomer@Example.com")
    assert response.status_code == 200, response.text
    async with session_maker(meet.app)() as session:
        users = list(
            (
                await session.execute(select(User).where(func.lower(User.email) == "newcomer@example.com"))
            ).scalars()
        )
    assert len(users) == 1
    assert users[0].sub is None
    assert users[0].email == "Newcomer@Example.com"
    assert kit.claims_of(response.json()["access_token"])["user_id"] == str(users[0].id)
    # Asked again, the same user.
    again = await kit.request_token(meet, registered, "newcomer@example.com")
    assert kit.claims_of(again.json()["access_token"])["user_id"] == str(users[0].id)


async def test_an_inactive_user_gets_no_token(kit):
    meet = await kit.app()
    registered = await kit.register(meet)
    user = await meet.create_user(is_active=False)
    response = await kit.request_token(meet, registered, user.email)
    assert response.status_code == 403
    assert response.json() == {"error": "User account is disabled."}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "body"),
    [
        (b"{", "application/json", 400, None),
        (
            b"[1, 2]",
            "application/json",
            400,
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
        (b"{}", "application/json", 400, None),
        (b"client_id=a&client_secret=%FF", "application/x-www-form-urlencoded", 400, None),
        (b"\xff\xfe", "application/x-www-form-urlencoded", 400, {"detail": "Form body is not valid UTF-8."}),
        (b"--b\r\n\r\n--b--", "multipart/form-data; boundary=b", 415, None),
        (b"client_id=a", "text/plain", 415, None),
    ],
)
async def test_malformed_bodies_are_4xx_never_500(kit, content, content_type, status, body):
    meet = await kit.app()
    response = await meet.client.post(kit.TOKEN_URL, content=content, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    if body is not None:
        assert response.json() == body


async def test_field_errors(kit):
    meet = await kit.app()
    response = await meet.client.post(
        kit.TOKEN_URL,
        json={"client_id": " ", "client_secret": None, "grant_type": "password", "scope": ["x"]},
    )
    assert response.status_code == 400
    assert response.json() == {
        "client_id": ["This field may not be blank."],
        "client_secret": ["This field may not be null."],
        "grant_type": ['"password" is not a valid choice.'],
        "scope": ["Not a valid string."],
    }
    response = await meet.client.post(kit.TOKEN_URL, data={"client_id": "a\x00b"})
    assert response.status_code == 400
    assert response.json()["client_id"] == ["Null characters are not allowed."]
    assert response.json()["scope"] == ["This field is required."]


async def test_application_enabled_is_required(kit):
    meet = await kit.app(APPLICATION_ENABLED="false")
    registered = await kit.register(meet)
    user = await meet.create_user()
    response = await kit.request_token(meet, registered, user.email)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


async def test_token_requests_are_throttled(kit):
    meet = await kit.app(EXTERNAL_API_TOKEN_THROTTLE_RATES="3/minute")
    registered = await kit.register(meet)
    user = await meet.create_user()
    statuses = [
        (await kit.request_token(meet, registered, user.email, client_secret="wrong")).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    response = await kit.request_token(meet, registered, user.email)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    # Another address, the same client id: the client's own bucket is full too.
    async with meet.new_client(peer="10.0.0.9") as other:
        body = {"client_id": registered.client_id, "client_secret": registered.secret,
                "grant_type": "client_credentials", "scope": user.email}  # fmt: skip
        assert (await other.post(kit.TOKEN_URL, json=body)).status_code == 429
        body["client_id"] = "another-client"
        assert (await other.post(kit.TOKEN_URL, json=body)).status_code == 401
