"""The users API: who-am-I, listing rules, self updates (spec/api.md §2.2)."""

from __future__ import annotations

import uuid

import pytest

API = "/api/v1.0"


def expected(user, **changes):
    body = {
        "id": str(user.id),
        "email": user.email,
        "full_name": user.full_name,
        "short_name": user.short_name,
        "timezone": user.timezone,
        "language": user.language,
        "default_room_access_level": user.default_room_access_level,
        "default_room_configuration": user.default_room_configuration or {},
    }
    body.update(changes)
    return body


# --- users/me ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/users/me", "/users/me/"])
async def test_me_returns_the_logged_in_user(meet_app, path):
    meet = await meet_app()
    user = await meet.create_user(email="me@example.com", full_name="Me Myself", short_name="Me")
    await meet.login(user)
    response = await meet.client.get(API + path)
    assert response.status_code == 200
    assert response.json() == expected(user)


@pytest.mark.parametrize("ttl", ["0", "5"])
async def test_me_read_or_cached_shows_the_same_user(meet_app, ttl):
    """users/me shows the columns as read (first request) or as the worker cached them (the
    next ones, ``LOGGED_IN_CACHE_TTL``): the same keys in the same order, every value."""
    meet = await meet_app(env={"LOGGED_IN_CACHE_TTL": ttl})
    user = await meet.create_user(
        email="me@example.com",
        full_name=None,
        default_room_access_level="trusted",
        default_room_configuration={"can_publish_sources": ["microphone"]},
        language="fr-fr",
        timezone="Europe/Paris",
    )
    await meet.login(user)
    bodies = [(await meet.client.get(f"{API}/users/me/")).json() for _ in range(3)]
    assert bodies == [expected(user)] * 3
    assert list(bodies[2]) == list(expected(user))  # spec/api.md's key order
    assert bodies[2]["default_room_configuration"] == {"can_publish_sources": ["microphone"]}


@pytest.mark.parametrize("path", ["/users/me", "/users/me/"])
async def test_me_anonymous_is_401(meet_app, path):
    meet = await meet_app()
    response = await meet.client.get(API + path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Session"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


async def test_me_with_an_unknown_session_is_401(meet_app):
    meet = await meet_app()
    meet.client.cookies.set("sessionid", "not-a-session", domain="testserver.local")
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401


async def test_me_for_a_deactivated_user_is_401(meet_app):
    meet = await meet_app()
    user = await meet.create_user(is_active=False)
    await meet.login(user)
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401


# --- users/ --------------------------------------------------------------------------------


async def test_list_anonymous_is_401(meet_app):
    meet = await meet_app()
    response = await meet.client.get(f"{API}/users/")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Session"


async def test_list_is_empty_unless_unsecure_listing_is_allowed(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.create_user()
    await meet.login(user)
    response = await meet.client.get(f"{API}/users/")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


async def test_list_all_users_newest_first(meet_app):
    meet = await meet_app(env={"ALLOW_UNSECURE_USER_LISTING": "true"})
    first = await meet.create_user(email="first@example.com")
    second = await meet.create_user(email="second@example.com")
    await meet.login(first)
    response = await meet.client.get(f"{API}/users/")
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [expected(second), expected(first)],
    }


async def test_list_filters_on_email(meet_app):
    meet = await meet_app(env={"ALLOW_UNSECURE_USER_LISTING": "true"})
    alice = await meet.create_user(email="alice.martin@example.com")
    await meet.create_user(email="bob@example.com")
    await meet.create_user(email="a_b%c@example.com")
    await meet.login(alice)
    response = await meet.client.get(f"{API}/users/", params={"q": "MARTIN"})
    assert [u["email"] for u in response.json()["results"]] == ["alice.martin@example.com"]
    # LIKE wildcards in the query are plain characters.
    response = await meet.client.get(f"{API}/users/", params={"q": "_b%"})
    assert [u["email"] for u in response.json()["results"]] == ["a_b%c@example.com"]


async def test_list_pages_by_twenty(meet_app):
    meet = await meet_app(env={"ALLOW_UNSECURE_USER_LISTING": "true"})
    users = [await meet.create_user() for _ in range(21)]
    await meet.login(users[0])
    page1 = (await meet.client.get(f"{API}/users/")).json()
    assert page1["count"] == 21
    assert len(page1["results"]) == 20
    assert page1["next"] == "http://testserver.local/api/v1.0/users/?page=2"
    assert page1["previous"] is None
    page2 = (await meet.client.get(f"{API}/users/?page=2")).json()
    assert [u["id"] for u in page2["results"]] == [str(users[0].id)]
    assert page2["previous"] == "http://testserver.local/api/v1.0/users/"
    assert page2["next"] is None
    # ``page_size`` is not honoured on users (the "default" pagination).
    assert len((await meet.client.get(f"{API}/users/?page_size=5")).json()["results"]) == 20
    invalid = await meet.client.get(f"{API}/users/?page=3")
    assert invalid.status_code == 404
    assert invalid.json() == {"detail": "Invalid page."}


# --- users/{id}/ ---------------------------------------------------------------------------


async def test_put_self(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.login(user)
    response = await meet.client.put(
        f"{API}/users/{user.id}/", json={"timezone": "Europe/Paris", "language": "fr-fr"}
    )
    assert response.status_code == 200
    assert response.json() == expected(user, timezone="Europe/Paris", language="fr-fr")
    me = await meet.client.get(f"{API}/users/me/")
    assert me.json() == expected(user, timezone="Europe/Paris", language="fr-fr")


async def test_put_requires_timezone(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.login(user)
    response = await meet.client.put(f"{API}/users/{user.id}/", json={"language": "fr-fr"})
    assert response.status_code == 400
    assert response.json() == {"timezone": ["This field is required."]}


async def test_patch_room_defaults(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.login(user)
    body = {
        "default_room_access_level": "restricted",
        "default_room_configuration": {"everyone_can_mute": False},
    }
    response = await meet.client.patch(f"{API}/users/{user.id}", json=body)
    assert response.status_code == 200
    assert response.json() == expected(user, **body)
    for level in ("", None, "public"):
        response = await meet.client.patch(
            f"{API}/users/{user.id}/", json={"default_room_access_level": level}
        )
        assert response.status_code == 200
        assert response.json()["default_room_access_level"] == level


async def test_read_only_and_unknown_keys_are_ignored(meet_app):
    meet = await meet_app()
    user = await meet.create_user(email="ro@example.com")
    await meet.login(user)
    response = await meet.client.patch(
        f"{API}/users/{user.id}/",
        json={
            "id": str(uuid.uuid4()),
            "email": "new@example.com",
            "full_name": "X",
            "sub": "y",
            "is_staff": True,
        },
    )
    assert response.status_code == 200
    assert response.json() == expected(user)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"language": "xx-yy"}, {"language": ['"xx-yy" is not a valid choice.']}),
        ({"language": None}, {"language": ["This field may not be null."]}),
        ({"language": 12}, {"language": ['"12" is not a valid choice.']}),
        ({"timezone": "Mars/Olympus"}, {"timezone": ['"Mars/Olympus" is not a valid choice.']}),
        ({"timezone": ""}, {"timezone": ['"" is not a valid choice.']}),
        (
            {"timezone": "Nope", "language": "zz"},
            {
                "timezone": ['"Nope" is not a valid choice.'],
                "language": ['"zz" is not a valid choice.'],
            },
        ),
        (
            {"default_room_access_level": "secret"},
            {"default_room_access_level": ['"secret" is not a valid choice.']},
        ),
        (
            {"default_room_configuration": None},
            {"default_room_configuration": ["This field may not be null."]},
        ),
        (
            {"default_room_configuration": []},
            {"default_room_configuration": ['Expected a dictionary of items but got type "list".']},
        ),
    ],
)
async def test_invalid_values_are_400(meet_app, body, errors):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.login(user)
    response = await meet.client.patch(f"{API}/users/{user.id}/", json=body)
    assert response.status_code == 400
    assert response.json() == errors


async def test_invalid_room_configuration_uses_pydantic_errors(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.login(user)
    response = await meet.client.patch(
        f"{API}/users/{user.id}/", json={"default_room_configuration": {"unknown": 1}}
    )
    assert response.status_code == 400
    (error,) = response.json()["default_room_configuration"]
    assert error["type"] == "extra_forbidden"
    assert error["loc"] == ["unknown"]
    assert error["input"] == "1"


async def test_language_follows_the_languages_setting(meet_app):
    meet = await meet_app(env={"LANGUAGES": "en-us,it-it"})
    user = await meet.create_user()
    await meet.login(user)
    assert (await meet.client.patch(f"{API}/users/{user.id}/", json={"language": "it-it"})).status_code == 200
    assert (await meet.client.patch(f"{API}/users/{user.id}/", json={"language": "fr-fr"})).status_code == 400


async def test_update_another_user_is_403(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    other = await meet.create_user()
    await meet.login(user)
    response = await meet.client.put(f"{API}/users/{other.id}/", json={"timezone": "Europe/Paris"})
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}


async def test_update_unknown_or_malformed_id_is_404(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.login(user)
    unknown = await meet.client.patch(f"{API}/users/{uuid.uuid4()}/", json={})
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No User matches the given query."}
    malformed = await meet.client.patch(f"{API}/users/not-a-uuid/", json={})
    assert malformed.status_code == 404
    assert malformed.json() == {"detail": "Not found."}


async def test_update_anonymous_is_401(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    response = await meet.client.put(f"{API}/users/{user.id}/", json={"timezone": "UTC"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Session"


async def test_update_bad_bodies(meet_app):
    meet = await meet_app()
    user = await meet.create_user()
    await meet.login(user)
    form = await meet.client.patch(f"{API}/users/{user.id}/", data={"language": "fr-fr"})
    assert form.status_code == 415
    broken = await meet.client.patch(
        f"{API}/users/{user.id}/", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["detail"].startswith("JSON parse error")
    not_object = await meet.client.patch(f"{API}/users/{user.id}/", json=["fr-fr"])
    assert not_object.status_code == 400
    assert not_object.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/users/{id}/"), ("DELETE", "/users/{id}/"), ("POST", "/users/"), ("DELETE", "/users/")],
)
async def test_unrouted_methods(meet_app, method, path):
    meet = await meet_app()
    user = await meet.create_user()
    url = API + path.format(id=user.id)
    anonymous = await meet.client.request(method, url)
    assert anonymous.status_code == 401
    await meet.login(user)
    response = await meet.client.request(method, url)
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
