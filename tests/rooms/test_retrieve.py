"""GET /rooms/{key}/: the payload per caller and access level, tokens, unregistered rooms."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import delete, update

from meet_core.plugins.hookspecs import hookimpl
from meet_core.plugins.types import JoinDecision
from meet_core.rooms.models import Room

API = "/api/v1.0"
DEFAULT_SOURCES = ["camera", "microphone", "screen_share", "screen_share_audio"]
CALLERS = ["anonymous", "stranger", "member", "administrator", "owner"]
LEVELS = ["public", "trusted", "restricted"]


def may_join(caller: str, level: str) -> bool:
    return level == "public" or (level == "trusted" and caller != "anonymous") or caller in (
        "member", "administrator", "owner"
    )  # fmt: skip


async def _setup(meet, caller: str, level: str, **room_fields):
    owner = await meet.create_user(sub="owner-sub", email="owner@example.com", full_name="Olive Owner")
    accesses = [(owner, "owner")]
    me = None
    if caller == "owner":
        me = owner
    elif caller != "anonymous":
        me = await meet.create_user(sub="me-sub", email="me@example.com", full_name="Mia Me")
        if caller != "stranger":
            accesses.append((me, caller))
    room = await meet.create_room("Daily Standup", access_level=level, accesses=accesses, **room_fields)
    if me is not None:
        await meet.login(me)
    return room, me, owner


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("caller", CALLERS)
async def test_payload_per_caller_and_level(meet_app, decode, caller, level):
    meet = await meet_app()
    room, me, owner = await _setup(meet, caller, level, configuration={"everyone_can_mute": False})
    response = await meet.client.get(f"{API}/rooms/{room.slug}/")
    assert response.status_code == 200
    body = response.json()
    privileged = caller in ("administrator", "owner")
    joins = may_join(caller, level)
    expected_keys = ["id", "name", "slug", "configuration", "access_level"]
    if joins:
        expected_keys.append("pin_code")
    if privileged:
        expected_keys.append("accesses")
    if joins:
        expected_keys.append("livekit")
    # Exactly the keys of api.md §2.3: no `is_administrable` on a registered room.
    assert list(body) == expected_keys
    assert body["id"] == str(room.id)
    assert body["name"] == "Daily Standup"
    assert body["slug"] == "daily-standup"
    assert body["configuration"] == {"everyone_can_mute": False}
    assert body["access_level"] == level
    if joins:
        assert body["pin_code"] is None
        livekit = body["livekit"]
        assert set(livekit) == {"url", "room", "token"}
        assert livekit["room"] == str(room.id)
        claims = decode(livekit["token"])
        role = None if caller in ("anonymous", "stranger") else caller
        assert claims["video"]["room"] == str(room.id)
        assert claims["video"]["roomAdmin"] is privileged
        assert claims["attributes"]["room_role"] == role
        assert claims["attributes"]["is_authenticated"] == ("false" if caller == "anonymous" else "true")
        if caller == "anonymous":
            uuid.UUID(claims["sub"])
            assert claims["name"] == "Anonymous"
        else:
            assert claims["sub"] == me.sub
            assert claims["name"] == me.full_name
    if privileged:
        users = {access["user"]["id"]: access for access in body["accesses"]}
        assert users[str(owner.id)]["role"] == "owner"
        assert users[str(owner.id)]["resource"] == str(room.id)
        assert users[str(owner.id)]["user"] == {
            "id": str(owner.id),
            "email": "owner@example.com",
            "full_name": "Olive Owner",
            "short_name": "User",
            "timezone": "UTC",
            "language": "en-us",
            "default_room_access_level": None,
            "default_room_configuration": {},
        }
        assert len(body["accesses"]) == (1 if caller == "owner" else 2)


async def test_livekit_url_and_token_claims_exactly(meet_app, livekit, decode):
    meet = await meet_app()
    room = await meet.create_room("Claims", access_level="public")
    body = (await meet.client.get(f"{API}/rooms/{room.id}/")).json()
    assert body["livekit"]["url"] == livekit.url
    claims = decode(body["livekit"]["token"])
    assert set(claims) == {"name", "video", "attributes", "sub", "iss", "nbf", "exp"}
    assert claims["exp"] - claims["nbf"] in (21600, 21601)
    assert claims["video"] == {
        "roomAdmin": False,
        "roomJoin": True,
        "room": str(room.id),
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
        "canPublishSources": DEFAULT_SOURCES,
        "canUpdateOwnMetadata": False,
    }
    from meet_core.livekit.color import generate_color

    assert claims["attributes"] == {
        "color": generate_color(claims["sub"]),
        "room_role": None,
        "is_authenticated": "false",
    }


async def test_anonymous_identity_is_fresh_on_every_get(meet_app, decode):
    meet = await meet_app()
    room = await meet.create_room("Fresh")
    first = decode((await meet.client.get(f"{API}/rooms/{room.slug}/")).json()["livekit"]["token"])
    second = decode((await meet.client.get(f"{API}/rooms/{room.slug}/")).json()["livekit"]["token"])
    assert first["sub"] != second["sub"]


async def test_color_vector_for_known_identity(meet_app, decode):
    """services.md §1.1 vector: identity "alice" -> hsl(311, 68%, 44%)."""
    meet = await meet_app()
    alice = await meet.create_user(sub="alice")
    room = await meet.create_room("Colors")
    await meet.login(alice)
    claims = decode((await meet.client.get(f"{API}/rooms/{room.slug}/")).json()["livekit"]["token"])
    assert claims["attributes"]["color"] == "hsl(311, 68%, 44%)"


@pytest.mark.parametrize(
    ("configuration", "role", "sources"),
    [
        ({"can_publish_sources": ["camera"]}, None, ["camera"]),
        ({"can_publish_sources": ["camera"]}, "member", ["camera"]),
        ({"can_publish_sources": ["camera"]}, "administrator", DEFAULT_SOURCES),
        ({"can_publish_sources": ["camera"]}, "owner", DEFAULT_SOURCES),
        ({"can_publish_sources": []}, "member", []),
        ({"can_publish_sources": None}, "member", DEFAULT_SOURCES),
        ({}, None, DEFAULT_SOURCES),
    ],
)
async def test_publish_sources_follow_configuration_and_role(meet_app, decode, configuration, role, sources):
    meet = await meet_app()
    user = await meet.create_user()
    accesses = [(user, role)] if role else []
    room = await meet.create_room("Sources", configuration=configuration, accesses=accesses)
    await meet.login(user)
    video = decode((await meet.client.get(f"{API}/rooms/{room.slug}/")).json()["livekit"]["token"])["video"]
    assert video["canPublishSources"] == sources
    assert video["canPublish"] is bool(sources)
    assert video["canSubscribe"] is True
    assert video["canUpdateOwnMetadata"] is False


async def test_default_sources_setting(meet_app, decode):
    meet = await meet_app(env={"LIVEKIT_DEFAULT_SOURCES": "camera,microphone"})
    room = await meet.create_room("Defaults")
    video = decode((await meet.client.get(f"{API}/rooms/{room.slug}/")).json()["livekit"]["token"])["video"]
    assert video["canPublishSources"] == ["camera", "microphone"]


async def test_username_for_anonymous_and_users(meet_app, decode):
    meet = await meet_app()
    room = await meet.create_room("Names")
    url = f"{API}/rooms/{room.slug}/"
    assert (
        decode((await meet.client.get(url, params={"username": "Zoé"})).json()["livekit"]["token"])["name"]
        == "Zoé"
    )
    assert (
        decode((await meet.client.get(url, params={"username": ""})).json()["livekit"]["token"])["name"]
        == "Anonymous"
    )
    user = await meet.create_user(full_name="Real Name")
    await meet.login(user)
    assert (
        decode((await meet.client.get(url, params={"username": "Nick"})).json()["livekit"]["token"])["name"]
        == "Nick"
    )
    assert decode((await meet.client.get(url)).json()["livekit"]["token"])["name"] == "Real Name"


async def test_authenticated_cannot_rename_when_disabled(meet_app, decode):
    meet = await meet_app(env={"AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME": "false"})
    room = await meet.create_room("Names")
    url = f"{API}/rooms/{room.slug}/"
    # Anonymous callers still choose their name.
    assert (
        decode((await meet.client.get(url, params={"username": "Zoé"})).json()["livekit"]["token"])["name"]
        == "Zoé"
    )
    user = await meet.create_user(full_name=None, email="fallback@example.com")
    await meet.login(user)
    claims = decode((await meet.client.get(url, params={"username": "Nick"})).json()["livekit"]["token"])
    assert claims["name"] == "fallback@example.com"


@pytest.mark.parametrize("key", ["uuid", "dashless", "upper", "slug", "unslugified"])
async def test_key_resolution(meet_app, key):
    meet = await meet_app(env={"ALLOW_UNREGISTERED_ROOMS": "false"})
    room = await meet.create_room("Réunion d'équipe")
    assert room.slug == "reunion-dequipe"
    path = {
        "uuid": str(room.id),
        "dashless": room.id.hex,
        "upper": str(room.id).upper(),
        "slug": room.slug,
        "unslugified": "Réunion d'équipe",
    }[key]
    response = await meet.client.get(f"{API}/rooms/{path}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(room.id)


async def test_without_trailing_slash(meet_app):
    meet = await meet_app()
    room = await meet.create_room("Slashless")
    response = await meet.client.get(f"{API}/rooms/{room.slug}")
    assert response.status_code == 200
    assert response.json()["id"] == str(room.id)


async def test_unregistered_room(meet_app, decode):
    meet = await meet_app()
    response = await meet.client.get(f"{API}/rooms/Unknown Room/", params={"username": "Guest"})
    assert response.status_code == 200
    body = response.json()
    slug = "unknown-room"
    livekit = body.pop("livekit")
    assert body == {"id": None, "slug": slug, "is_administrable": False, "access_level": "public"}
    assert livekit["room"] == slug
    claims = decode(livekit["token"])
    assert claims["name"] == "Guest"
    assert claims["video"]["room"] == slug
    assert claims["video"]["roomAdmin"] is False
    assert claims["video"]["canPublishSources"] == DEFAULT_SOURCES
    assert claims["attributes"]["room_role"] is None


async def test_unregistered_room_for_a_user_uses_sub(meet_app, decode):
    meet = await meet_app()
    user = await meet.create_user(sub="user-sub-123")
    await meet.login(user)
    claims = decode((await meet.client.get(f"{API}/rooms/nowhere/")).json()["livekit"]["token"])
    assert claims["sub"] == "user-sub-123"
    assert claims["attributes"] == {
        "color": "hsl(292, 59%, 39%)",
        "room_role": None,
        "is_authenticated": "true",
    }


@pytest.mark.parametrize("key", ["unknown", str(uuid.UUID(int=7))])
async def test_unregistered_rooms_disabled(meet_app, key):
    meet = await meet_app(env={"ALLOW_UNREGISTERED_ROOMS": "false"})
    response = await meet.client.get(f"{API}/rooms/{key}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Room matches the given query."}


async def test_an_unknown_uuid_is_not_an_unregistered_room(meet_app):
    """A UUID names a registered room or nothing (the old system served an unregistered room)."""
    meet = await meet_app(env={"ALLOW_UNREGISTERED_ROOMS": "true"})
    response = await meet.client.get(f"{API}/rooms/{uuid.UUID(int=7)}/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Room matches the given query."}


async def test_key_with_empty_slug_is_not_found(meet_app):
    meet = await meet_app()
    response = await meet.client.get(f"{API}/rooms/%21%21%21/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Room matches the given query."}


async def test_anonymous_public_retrieve_costs_one_query_and_no_network(meet_app, livekit, count_queries):
    meet = await meet_app()
    room = await meet.create_room("Hot Path")
    await meet.client.get(f"{API}/rooms/{room.slug}/")  # warm-up
    with count_queries(meet) as statements:
        response = await meet.client.get(f"{API}/rooms/{room.slug}/")
    assert response.status_code == 200
    assert "livekit" in response.json()
    assert len(statements) <= 2, statements
    assert livekit.calls == []


async def test_privileged_retrieve_has_no_n_plus_one(meet_app, count_queries):
    meet = await meet_app()
    owner = await meet.create_user()
    members = [await meet.create_user() for _ in range(8)]
    room = await meet.create_room("Crowded", accesses=[(owner, "owner")] + [(m, "member") for m in members])
    await meet.login(owner)
    with count_queries(meet) as statements:
        response = await meet.client.get(f"{API}/rooms/{room.slug}/")
    assert len(response.json()["accesses"]) == 9
    # the room, then the user, role and accesses with users in one statement
    assert len(statements) <= 2, statements


class LetEveryoneIn:
    """A plugin answering the join decision (as the lobby does for admitted participants)."""

    name = "let_everyone_in"

    @hookimpl
    def meet_room_join_decision(self, request, room, user, role):
        return JoinDecision(participant_id="lobby-participant-1", color="hsl(1, 2%, 3%)")


class PinCodes:
    name = "pin_codes"

    @hookimpl
    async def meet_room_extra_fields(self, request, room, user, role):
        return {"pin_code": "0123456789"}


async def test_join_decision_plugin_grants_a_token(meet_app, decode):
    meet = await meet_app(plugins=[LetEveryoneIn()])
    room = await meet.create_room("Restricted", access_level="restricted")
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    claims = decode(body["livekit"]["token"])
    assert claims["sub"] == "lobby-participant-1"
    assert claims["attributes"]["color"] == "hsl(1, 2%, 3%)"
    assert "pin_code" in body


async def test_without_decision_restricted_room_has_no_livekit(meet_app):
    meet = await meet_app(plugins=[PinCodes()])
    room = await meet.create_room("Restricted", access_level="restricted")
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    assert "livekit" not in body
    assert "pin_code" not in body


async def test_extra_fields_plugin_fills_pin_code(meet_app):
    meet = await meet_app(plugins=[PinCodes()])
    room = await meet.create_room("Phone")
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    assert body["pin_code"] == "0123456789"


async def test_worker_cache_serves_hot_rooms_without_query(meet_app, count_queries):
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30"})
    room = await meet.create_room("Cached Room")
    assert (await meet.client.get(f"{API}/rooms/{room.slug}/")).status_code == 200
    with count_queries(meet) as statements:
        body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    assert body["id"] == str(room.id)
    assert "livekit" in body
    assert statements == []


async def test_worker_cache_forgets_rooms_it_changes(meet_app, decode):
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30"})
    owner = await meet.create_user()
    room = await meet.create_room("Cached Room", accesses=[(owner, "owner")])
    stranger_client = meet.new_client()
    async with stranger_client:
        assert "livekit" in (await stranger_client.get(f"{API}/rooms/{room.slug}/")).json()
        await meet.login(owner)
        response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "restricted"})
        assert response.status_code == 200
        body = (await stranger_client.get(f"{API}/rooms/{room.slug}/")).json()
        assert body["access_level"] == "restricted"
        assert "livekit" not in body
        assert (await meet.client.delete(f"{API}/rooms/{room.id}/")).status_code == 204
        gone = (await stranger_client.get(f"{API}/rooms/{room.slug}/")).json()
        assert gone["id"] is None


async def test_worker_cache_keeps_no_unknown_keys(meet_app):
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30"})
    assert (await meet.client.get(f"{API}/rooms/later-room/")).json()["id"] is None
    room = await meet.create_room("later room")
    assert (await meet.client.get(f"{API}/rooms/later-room/")).json()["id"] == str(room.id)


async def test_worker_cache_forgets_every_url_key_of_a_changed_room(meet_app):
    """The cache is keyed by the URL key as sent; a change forgets the room under all of them."""
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30"})
    owner = await meet.create_user()
    room = await meet.create_room("Cached Room", accesses=[(owner, "owner")])
    keys = [room.slug, "Cached Room", str(room.id), room.id.hex]
    stranger = meet.new_client()
    async with stranger:
        for key in keys:
            assert (await stranger.get(f"{API}/rooms/{key}/")).json()["access_level"] == "public"
        await meet.login(owner)
        response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "trusted"})
        assert response.status_code == 200
        for key in keys:
            body = (await stranger.get(f"{API}/rooms/{key}/")).json()
            assert (body["id"], body["access_level"]) == (str(room.id), "trusted"), key


async def test_privileged_routes_read_room_and_role_in_one_query(meet_app, count_queries):
    """Update and delete find the room and the caller's role with one outer-join query."""
    meet = await meet_app()
    owner = await meet.create_user()
    room = await meet.create_room("Joined", accesses=[(owner, "owner")])
    await meet.login(owner)
    with count_queries(meet) as statements:
        response = await meet.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "trusted"})
    assert response.status_code == 200
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # the session's user, the room with the caller's role, the room's members (whose room
    # lists show the change: their generation stamps), the accesses with their users
    assert len(selects) == 4, selects
    assert "meet_resource_access.user_id" in selects[2] and "meet_room" not in selects[2]
    assert "JOIN meet_resource_access" in selects[1] and "meet_room" in selects[1]


async def test_worker_cache_refreshes_in_the_background_past_its_ttl(meet_app):
    """Past the TTL the cached room answers once more while it is read again: no request waits
    for the database; a change made elsewhere (another worker) shows right after."""
    meet = await meet_app(env={"ROOM_CACHE_TTL": "0.3"})
    room = await meet.create_room("Elsewhere")
    assert (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()["access_level"] == "public"
    async with meet.app.state.db_config.get_session() as session:  # as another worker would
        await session.execute(update(Room).where(Room.id == room.id).values(access_level="restricted"))
        await session.commit()
    await asyncio.sleep(0.35)

    async def levels_until(expected: str | None) -> list[str | None]:
        seen: list[str | None] = []
        for _ in range(20):
            body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
            seen.append(body["access_level"] if body["id"] else None)
            if seen[-1] == expected:
                break
            await asyncio.sleep(0.02)
        return seen

    seen = await levels_until("restricted")
    assert seen[0] == "public" and seen[-1] == "restricted" and len(seen) <= 3, seen

    async with meet.app.state.db_config.get_session() as session:
        await session.execute(delete(Room).where(Room.id == room.id))
        await session.commit()
    await asyncio.sleep(0.35)
    seen = await levels_until(None)  # a deleted room is forgotten: an unregistered room again
    assert seen[0] == "restricted" and seen[-1] is None and len(seen) <= 3, seen
