"""A URL key whose slug reads as a UUID names that UUID's room, on every route (issue #19 item 1).

The hole: ``GET /rooms/<id>!/`` of a restricted room was an *unregistered* room (the key is not
a UUID, its slug ``<id>`` matched no room) whose LiveKit token was for the LiveKit room named
``<id>``: the restricted room's own, with publish rights, past the lobby.
"""

from __future__ import annotations

import uuid

import jwt
import pytest

from meet_core.livekit.tokens import mint_token
from meet_lobby import LobbyPlugin
from meet_subtitles import SubtitlesPlugin

API = "/api/v1.0"

_FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789abcdef"}  # full-width digits and a-f
_BOLD_DIGITS = {ord(str(d)): 0x1D7CE + d for d in range(10)}  # mathematical bold digits


def manglings(room_id: uuid.UUID) -> dict[str, str]:
    """Path segments (as sent on the wire) that all slugify or parse to ``room_id``."""
    text, hex_ = str(room_id), room_id.hex
    return {
        "bang": f"{text}!",
        "dot": f"{text}.",
        "quote": f"{text}'",
        "trailing space": f"{text}%20",
        "leading space": f"%20{text}",
        "upper case": text.upper(),
        "dashless": hex_,
        "dashless upper": hex_.upper() + "!",
        "dashes moved": "-".join(hex_[i : i + 4] for i in range(0, 32, 4)),
        "underscores around": f"_{text}_",
        "braces": "%7B" + text + "%7D",
        "percent-encoded hex": "".join(f"%{ord(c):02X}" for c in text),
        "unicode hyphens": text.replace("-", "\u2010"),
        "full-width": text.translate(_FULLWIDTH),
        "mathematical digits": text.translate(_BOLD_DIGITS),
        "combining accent": text[:1] + "\u0301" + text[1:],
    }


MANGLINGS = list(manglings(uuid.UUID(int=0)))


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize("cache_ttl", ["0", "30"])
@pytest.mark.parametrize("mangling", MANGLINGS)
async def test_retrieve_of_a_restricted_room_by_a_mangled_id_gives_no_token(meet_app, mangling, cache_ttl):
    meet = await meet_app(env={"ROOM_CACHE_TTL": cache_ttl})
    owner = await meet.create_user()
    room = await meet.create_room("Board", access_level="restricted", accesses=[(owner, "owner")])
    key = manglings(room.id)[mangling]

    response = await meet.client.get(f"{API}/rooms/{key}/")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(room.id)
    assert body["access_level"] == "restricted"
    assert "livekit" not in body


@pytest.mark.parametrize("mangling", MANGLINGS)
async def test_a_mangled_id_of_no_room_is_404_never_an_unregistered_room(meet_app, mangling):
    meet = await meet_app(env={"ALLOW_UNREGISTERED_ROOMS": "true"})
    key = manglings(uuid.uuid4())[mangling]

    response = await meet.client.get(f"{API}/rooms/{key}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Room matches the given query."}


async def test_an_unregistered_room_is_never_named_like_a_uuid(meet_app):
    """Slugs that merely contain hex stay unregistered rooms, named after their slug."""
    meet = await meet_app(env={"ALLOW_UNREGISTERED_ROOMS": "true"})
    room_id = uuid.uuid4()
    for key in (f"{room_id}-x", f"x{room_id.hex}", f"{room_id.hex[:31]}_0", "daily-standup"):
        response = await meet.client.get(f"{API}/rooms/{key}/")
        assert response.status_code == 200, key
        body = response.json()
        assert body["id"] is None
        room_name = body["livekit"]["room"]
        assert claims(body["livekit"]["token"])["video"]["room"] == room_name
        with pytest.raises(ValueError):
            uuid.UUID(room_name)


async def test_a_public_room_by_a_mangled_id_gets_its_own_token(meet_app):
    meet = await meet_app()
    room = await meet.create_room("Open", access_level="public")

    response = await meet.client.get(f"{API}/rooms/{room.id}!/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(room.id)
    assert body["livekit"]["room"] == str(room.id)


@pytest.mark.parametrize("mangling", MANGLINGS)
async def test_request_entry_by_a_mangled_id_waits_in_the_lobby(meet_app, mangling):
    meet = await meet_app(plugins=[LobbyPlugin])
    owner = await meet.create_user()
    room = await meet.create_room("Board", access_level="restricted", accesses=[(owner, "owner")])
    key = manglings(room.id)[mangling]

    response = await meet.client.post(f"{API}/rooms/{key}/request-entry/", json={"username": "Eve"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "waiting"
    assert body["livekit"] is None


async def test_request_entry_by_a_mangled_id_of_no_room_is_404(meet_app):
    meet = await meet_app(plugins=[LobbyPlugin])
    response = await meet.client.post(f"{API}/rooms/{uuid.uuid4()}!/request-entry/", json={"username": "Eve"})
    assert response.status_code == 404


async def test_privileged_routes_by_a_mangled_id_act_on_the_room(meet_app):
    """The owner's update, delete and lobby list, through a mangled id, reach the same room."""
    meet = await meet_app(plugins=[LobbyPlugin])
    owner = await meet.create_user()
    room = await meet.create_room("Board", access_level="restricted", accesses=[(owner, "owner")])
    await meet.login(owner)
    key = f"{str(room.id).upper()}!"

    response = await meet.client.patch(f"{API}/rooms/{key}/", json={"access_level": "trusted"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(room.id) and response.json()["access_level"] == "trusted"

    response = await meet.client.get(f"{API}/rooms/{key}/waiting-participants/")
    assert response.status_code == 200 and response.json() == {"participants": []}

    response = await meet.client.delete(f"{API}/rooms/{key}/")
    assert response.status_code == 204
    assert (await meet.client.get(f"{API}/rooms/{room.id}/")).status_code == 404


async def test_participant_routes_by_a_mangled_id_check_the_token_against_the_room(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Board", access_level="restricted")
    livekit.add_participant(str(room.id), "guest")
    token = mint_token(
        api_key=livekit.api_key,
        api_secret=livekit.api_secret,
        room_name=str(room.id),
        identity="guest",
        name="Guest",
        role=None,
        is_authenticated=False,
        sources=["camera", "microphone"],
        color="#123456",
    )
    headers = {"Authorization": f"Bearer {token}"}
    key = f"%20{room.id.hex}"

    response = await meet.client.post(f"{API}/rooms/{key}/start-subtitle/", headers=headers)
    assert response.status_code == 200, response.text
    assert livekit.last_call("CreateDispatch").request.room == str(room.id)

    response = await meet.client.post(
        f"{API}/rooms/{key}/toggle-hand/", headers=headers, json={"raised": True}
    )
    assert response.status_code == 200, response.text
    assert livekit.last_call("UpdateParticipant").request.room == str(room.id)
