"""Hostile bodies and URLs answer 4xx, never 500, on SQLite and PostgreSQL alike (issue #19, item 2).

Deeply nested JSON used to blow msgspec's recursion (a 500); U+0000 in a text reached
PostgreSQL, which refuses it (a 500 there, stored on SQLite). Every JSON route reads its body
through ``read_json_object``; each kind of route is tried here, the lobby's too.
"""

from __future__ import annotations

from typing import Any

import pytest

from meet_core.http.body import MAX_JSON_DEPTH
from meet_lobby import LobbyPlugin

API = "/api/v1.0"
NUL = {"detail": "Null characters are not allowed."}
NUL_FIELD = ["Null characters are not allowed."]


def nested(levels: int) -> bytes:
    """``{"a":{"a":...1...}}``: ``levels`` objects deep (about 2 KB for 1,000... with short keys)."""
    return b'{"a":' * levels + b"1" + b"}" * levels


def nested_arrays(levels: int) -> bytes:
    return b'{"a":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


@pytest.fixture
async def lobby_meeting(make_meeting_app: Any) -> Any:
    return await make_meeting_app(plugins=[LobbyPlugin], access_level="restricted")


async def _routes(meeting: Any) -> list[tuple[str, str, dict[str, str], Any]]:
    """(method, path, headers, client) of every kind of JSON route, callable as ``client``."""
    owner = await meeting.client_as("owner")
    anonymous = meeting.meet.new_client()
    room = meeting.room
    access_id = (await owner.get(f"{API}/resource-accesses/")).json()["results"][0]["id"]
    hand = meeting.bearer("guest-1")
    return [
        ("POST", f"{API}/rooms/creation-callback/", {}, anonymous),
        ("POST", f"{API}/rooms/", {}, owner),
        ("PUT", f"{API}/rooms/{room.id}/", {}, owner),
        ("PATCH", f"{API}/rooms/{room.id}/", {}, owner),
        ("POST", f"{API}/rooms/{room.id}/toggle-hand/", hand, anonymous),
        ("POST", f"{API}/rooms/{room.id}/request-entry/", {}, anonymous),
        ("POST", f"{API}/rooms/{room.id}/enter/", {}, owner),
        ("PATCH", f"{API}/users/{meeting.owner.id}/", {}, owner),
        ("POST", f"{API}/resource-accesses/", {}, owner),
        ("PATCH", f"{API}/resource-accesses/{access_id}/", {}, owner),
    ]


async def test_deeply_nested_json_is_a_400_on_every_json_route(lobby_meeting) -> None:
    routes = await _routes(lobby_meeting)
    too_deep = f"JSON parse error - Nesting deeper than {MAX_JSON_DEPTH} levels."
    for method, path, headers, client in routes:
        for body in (nested(1000), nested(600), nested(MAX_JSON_DEPTH + 1), nested_arrays(1000)):
            response = await client.request(
                method, path, content=body, headers={**headers, "Content-Type": "application/json"}
            )
            assert (response.status_code, response.json()) == (400, {"detail": too_deep}), (method, path)
        # At the limit the body is read, and refused (or not) for what it says.
        response = await client.request(
            method,
            path,
            content=nested(MAX_JSON_DEPTH),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code < 500 and response.json() != {"detail": too_deep}, (method, path)
    # Brackets inside strings are text, not nesting.
    owner = routes[1][3]
    response = await owner.post(f"{API}/rooms/", json={"name": "[" * 100 + "{" * 100})
    assert response.status_code == 201, response.text


async def test_a_body_over_the_size_limit_is_a_413(make_meeting_app) -> None:
    meeting = await make_meeting_app(env={"DATA_UPLOAD_MAX_MEMORY_SIZE": "1000"})
    owner = await meeting.client_as("owner")
    response = await owner.post(f"{API}/rooms/", json={"name": "x" * 2000})
    assert response.status_code == 413 and set(response.json()) == {"detail"}
    assert (await owner.post(f"{API}/rooms/", json={"name": "x" * 50})).status_code == 201


async def test_null_characters_are_a_field_error_on_every_text_field(lobby_meeting) -> None:
    meeting = lobby_meeting
    owner = await meeting.client_as("owner")
    room = meeting.room

    response = await owner.post(f"{API}/rooms/", json={"name": "a\x00b"})
    assert (response.status_code, response.json()) == (400, {"name": NUL_FIELD})
    for method in ("PUT", "PATCH"):
        response = await owner.request(method, f"{API}/rooms/{room.id}/", json={"name": "a\x00b"})
        assert (response.status_code, response.json()) == (400, {"name": NUL_FIELD})
    response = await owner.patch(
        f"{API}/rooms/{room.id}/", json={"configuration": {"nested": ["ok", {"deep": "\x00"}]}}
    )
    assert (response.status_code, response.json()) == (400, {"configuration": NUL_FIELD})
    response = await owner.patch(f"{API}/rooms/{room.id}/", json={"configuration": {"k\x00": 1}})
    assert (response.status_code, response.json()) == (400, {"configuration": NUL_FIELD})
    response = await owner.patch(
        f"{API}/users/{meeting.owner.id}/", json={"language": "fr\x00", "timezone": "Europe/Paris\x00"}
    )
    assert (response.status_code, response.json()) == (400, {"language": NUL_FIELD, "timezone": NUL_FIELD})
    response = await owner.post(
        f"{API}/resource-accesses/",
        json={"user": str(meeting.member.id), "resource": str(room.id), "role": "\x00"},
    )
    assert (response.status_code, response.json()) == (400, {"role": NUL_FIELD})
    async with meeting.meet.new_client() as anonymous:
        response = await anonymous.post(f"{API}/rooms/{room.id}/request-entry/", json={"username": "\x00"})
        assert (response.status_code, response.json()) == (400, {"username": NUL_FIELD})
        response = await anonymous.post(f"{API}/rooms/creation-callback/", json={"callback_id": "x\x00"})
        assert (response.status_code, response.json()) == (400, {"callback_id": NUL_FIELD})

    # An escaped backslash before "u0000" is text, not U+0000: accepted as is.
    response = await owner.post(f"{API}/rooms/", json={"name": "a\\u0000b"})
    assert response.status_code == 201 and response.json()["name"] == "a\\u0000b"
    # Nothing was stored by the refused requests.
    listing = (await owner.get(f"{API}/rooms/")).json()
    assert {r["name"] for r in listing["results"]} == {room.name, "a\\u0000b"}


async def test_null_characters_in_the_url_are_a_400(lobby_meeting) -> None:
    meeting = lobby_meeting
    owner = await meeting.client_as("owner")
    for path in (
        f"{API}/rooms/abc%00def/",
        f"{API}/rooms/%00/request-entry/",
        f"{API}/users/?q=a%00b",
        f"{API}/rooms/?page=1%00",
    ):
        response = await owner.get(path)
        assert (response.status_code, response.json()) == (400, NUL), path
    assert (await owner.get(f"{API}/users/?q=a")).status_code == 200
