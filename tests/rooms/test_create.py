"""POST /rooms/: creation rules, user defaults, validation bodies, callback and hook."""

from __future__ import annotations

import json

import pytest

from meet_core.plugins.hookspecs import hookimpl
from meet_core.testing.pytest_plugin import TEST_API_KEY

API = "/api/v1.0"


async def test_anonymous_gets_401(meet_app):
    meet = await meet_app()
    response = await meet.client.post(f"{API}/rooms/", json={"name": "x"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response.headers["www-authenticate"] == "Session"


async def test_creator_becomes_owner_and_gets_owner_view(meet_app, decode):
    meet = await meet_app()
    user = await meet.create_user(sub="creator-sub")
    await meet.login(user)
    response = await meet.client.post(
        f"{API}/rooms/?username=Boss",
        json={"name": "  Team Sync  ", "id": "ignored", "slug": "ignored", "pin_code": "123"},
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [
        "id", "name", "slug", "configuration", "access_level", "pin_code", "accesses", "livekit",
    ]  # fmt: skip
    assert body["name"] == "Team Sync"
    assert body["slug"] == "team-sync"
    assert body["configuration"] == {}
    assert body["access_level"] == "public"
    assert body["pin_code"] is None
    [access] = body["accesses"]
    assert access["role"] == "owner"
    assert access["user"]["id"] == str(user.id)
    assert access["resource"] == body["id"]
    claims = decode(body["livekit"]["token"])
    assert claims["name"] == "Boss"
    assert claims["sub"] == "creator-sub"
    assert claims["attributes"]["room_role"] == "owner"
    assert claims["video"]["roomAdmin"] is True
    # It is really stored.
    again = await meet.client.get(f"{API}/rooms/team-sync/")
    assert again.json()["id"] == body["id"]


async def test_access_level_and_configuration_from_body(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    configuration = {"can_publish_sources": ["camera", "microphone"], "everyone_can_mute": True}
    response = await meet.client.post(
        f"{API}/rooms/", json={"name": "x1", "access_level": "restricted", "configuration": configuration}
    )
    assert response.status_code == 201
    assert response.json()["access_level"] == "restricted"
    assert response.json()["configuration"] == configuration


async def test_resource_default_access_level_setting(meet_app):
    meet = await meet_app(env={"RESOURCE_DEFAULT_ACCESS_LEVEL": "trusted"})
    await meet.login(await meet.create_user())
    response = await meet.client.post(f"{API}/rooms/", json={"name": "x1"})
    assert response.json()["access_level"] == "trusted"


@pytest.mark.parametrize(
    ("body", "level", "configuration"),
    [
        ({}, "restricted", {"everyone_can_mute": False}),
        ({"configuration": {}}, "restricted", {"everyone_can_mute": False}),
        (
            {"access_level": "public", "configuration": {"everyone_can_mute": True}},
            "public",
            {"everyone_can_mute": True},
        ),
    ],
)
async def test_user_defaults_apply_when_omitted(meet_app, body, level, configuration):
    meet = await meet_app()
    user = await meet.create_user(
        default_room_access_level="restricted", default_room_configuration={"everyone_can_mute": False}
    )
    await meet.login(user)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "with defaults", **body})
    assert response.status_code == 201
    assert response.json()["access_level"] == level
    assert response.json()["configuration"] == configuration


async def test_empty_user_default_level_means_unset(meet_app):
    meet = await meet_app()
    user = await meet.create_user(default_room_access_level="", default_room_configuration={})
    await meet.login(user)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "plain"})
    assert response.json()["access_level"] == "public"
    assert response.json()["configuration"] == {}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": None}, {"name": ["This field may not be null."]}),
        ({"name": "   "}, {"name": ["This field may not be blank."]}),
        ({"name": True}, {"name": ["Not a valid string."]}),
        ({"name": ["a"]}, {"name": ["Not a valid string."]}),
        ({"name": "x" * 501}, {"name": ["Ensure this field has no more than 500 characters."]}),
        ({"name": "x" * 101}, {"slug": ["Ensure this field has no more than 100 characters."]}),
        (
            {"name": "123e4567-e89b-12d3-a456-426614174000"},
            {"name": ['Room name "123e4567-e89b-12d3-a456-426614174000" is reserved.']},
        ),
        (
            {"name": "123E4567 E89B 12D3 A456 426614174000"},
            {"name": ['Room name "123E4567 E89B 12D3 A456 426614174000" is reserved.']},
        ),
        ({"name": "ok", "access_level": "secret"}, {"access_level": ['"secret" is not a valid choice.']}),
        ({"name": "ok", "access_level": None}, {"access_level": ["This field may not be null."]}),
        ({"name": "ok", "configuration": None}, {"configuration": ["This field may not be null."]}),
        (
            {"name": None, "access_level": "nope"},
            {"name": ["This field may not be null."], "access_level": ['"nope" is not a valid choice.']},
        ),
    ],
)
async def test_field_errors(meet_app, body, errors):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(f"{API}/rooms/", json=body)
    assert response.status_code == 400
    assert response.json() == errors


def _url(kind: str) -> str:
    import pydantic

    major, minor = pydantic.VERSION.split(".")[:2]
    return f"https://errors.pydantic.dev/{major}.{minor}/v/{kind}"


async def test_configuration_errors_are_pydantic_lists(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(
        f"{API}/rooms/",
        json={"name": "ok", "configuration": {"can_publish_sources": ["camera", "radio"], "unknown": 1}},
    )
    assert response.status_code == 400
    assert response.json() == {
        "configuration": [
            {
                "type": "literal_error",
                "loc": ["can_publish_sources", "1"],
                "msg": "Input should be 'camera', 'microphone', 'screen_share' or 'screen_share_audio'",
                "input": "radio",
                "ctx": {"expected": "'camera', 'microphone', 'screen_share' or 'screen_share_audio'"},
                "url": _url("literal_error"),
            },
            {
                "type": "extra_forbidden",
                "loc": ["unknown"],
                "msg": "Extra inputs are not permitted",
                "input": "1",
                "url": _url("extra_forbidden"),
            },
        ]
    }


async def test_configuration_must_be_an_object(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(f"{API}/rooms/", json={"name": "ok", "configuration": ["camera"]})
    assert response.status_code == 400
    assert response.json() == {
        "configuration": [
            {
                "type": "model_type",
                "loc": [],
                "msg": "Input should be a valid dictionary or instance of RoomConfiguration",
                "input": ["camera"],
                "ctx": {"class_name": "RoomConfiguration"},
                "url": _url("model_type"),
            }
        ]
    }


async def test_everyone_can_mute_must_be_boolean(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(
        f"{API}/rooms/", json={"name": "ok", "configuration": {"everyone_can_mute": "maybe"}}
    )
    assert response.status_code == 400
    [error] = response.json()["configuration"]
    assert error["type"] == "bool_parsing"
    assert error["loc"] == ["everyone_can_mute"]
    assert error["input"] == "maybe"


async def test_duplicate_slug(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    assert (await meet.client.post(f"{API}/rooms/", json={"name": "Same Name"})).status_code == 201
    response = await meet.client.post(f"{API}/rooms/", json={"name": "same-name"})
    assert response.status_code == 400
    assert response.json() == {"slug": ["Room with this Slug already exists."]}


async def test_malformed_json_is_400(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(
        f"{API}/rooms/", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    response = await meet.client.post(f"{API}/rooms/", json=["name"])
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


async def test_csrf_is_checked(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    del meet.client.headers["X-CSRFToken"]
    response = await meet.client.post(f"{API}/rooms/", json={"name": "x"})
    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF Failed: CSRF token missing."}


async def test_callback_id_remembers_the_slug(meet_app, valkey_server):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Called Back", "callback_id": "cb-1"})
    assert response.status_code == 201
    from meet_core.state import valkey_client

    raw = await valkey_client(meet.app).get("room-creation-callback_cb-1")
    assert json.loads(raw) == {"slug": "called-back"}
    ttl = await valkey_client(meet.app).ttl("room-creation-callback_cb-1")
    assert 0 < ttl <= 600


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    @hookimpl
    async def meet_room_created(self, request, room, user):
        room.pin_code = "4242424242"  # a telephony-like plugin filling the PIN at creation
        self.events.append(("created", room.slug, user.sub))

    @hookimpl
    def meet_room_updated(self, request, room, changed):
        self.events.append(("updated", room.slug, tuple(sorted(changed))))

    @hookimpl
    def meet_room_deleted(self, request, room):
        self.events.append(("deleted", room.slug))


async def test_lifecycle_hooks(meet_app):
    recorder = Recorder()
    meet = await meet_app(plugins=[recorder])
    await meet.login(await meet.create_user(sub="hooked"))
    created = await meet.client.post(f"{API}/rooms/", json={"name": "Hooked"})
    assert created.json()["pin_code"] == "4242424242"
    assert (await meet.client.get(f"{API}/rooms/hooked/")).json()["pin_code"] == "4242424242"
    await meet.client.patch(f"{API}/rooms/hooked/", json={"name": "Hooked Two", "access_level": "trusted"})
    await meet.client.patch(f"{API}/rooms/hooked-two/", json={"access_level": "trusted"})  # no change
    await meet.client.delete(f"{API}/rooms/hooked-two/")
    assert recorder.events == [
        ("created", "hooked", "hooked"),
        ("updated", "hooked-two", ("access_level", "name", "slug")),
        ("deleted", "hooked-two"),
    ]


async def test_livekit_not_called_on_create(meet_app, livekit):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    await meet.client.post(f"{API}/rooms/", json={"name": "quiet"})
    assert livekit.calls == []
    assert TEST_API_KEY
