"""The OpenAPI document describes every body and error answer; OPTIONS lists every method of a path."""

from __future__ import annotations

from typing import Any

import pytest

from meet_lobby.plugin import LobbyPlugin
from meet_subtitles.plugin import SubtitlesPlugin

API = "/api/v1.0"

#: Every operation that reads a JSON body, and the component describing it.
BODIES = {
    ("post", "/rooms"): "RoomCreateBody",
    ("put", "/rooms/{room_key}"): "RoomBody",
    ("patch", "/rooms/{room_key}"): "RoomPatchBody",
    ("put", "/users/{user_id}"): "UserBody",
    ("patch", "/users/{user_id}"): "UserPatchBody",
    ("post", "/resource-accesses"): "AccessBody",
    ("put", "/resource-accesses/{access_id}"): "AccessBody",
    ("patch", "/resource-accesses/{access_id}"): "AccessPatchBody",
    ("post", "/rooms/{room_key}/mute-participant"): "MuteBody",
    ("post", "/rooms/{room_key}/update-participant"): "UpdateParticipantBody",
    ("post", "/rooms/{room_key}/remove-participant"): "ParticipantBody",
    ("post", "/rooms/{room_key}/update-participant-role"): "ParticipantRoleBody",
    ("post", "/rooms/{room_key}/toggle-hand"): "HandBody",
    ("post", "/rooms/{room_key}/rename"): "RenameBody",
    ("post", "/rooms/{room_key}/invite"): "InviteBody",
    ("post", "/rooms/creation-callback"): "CreationCallbackBody",
    ("post", "/rooms/{room_key}/request-entry"): "RequestEntryBody",
    ("post", "/rooms/{room_key}/enter"): "DecisionBody",
}

#: Error answers some operations must document, with the components of their shapes.
ERRORS = {
    ("post", "/rooms"): {"400": {"Detail", "FieldErrors"}, "401": {"Detail"}, "403": {"Detail"}},
    ("get", "/rooms/{room_key}"): {"404": {"Detail"}, "503": {"Detail"}},
    ("delete", "/rooms/{room_key}"): {"401": {"Detail"}, "403": {"Detail"}, "404": {"Detail"}},
    ("post", "/rooms/{room_key}/request-entry"): {"400": {"Detail", "FieldErrors"}, "429": {"Detail"}},
    ("post", "/rooms/{room_key}/enter"): {"404": {"Detail", "Message"}},
    ("post", "/rooms/{room_key}/invite"): {"502": {"Detail", "ActionError"}},
    ("post", "/rooms/{room_key}/mute-participant"): {"403": {"Detail", "ActionError"}},
    ("post", "/rooms/{room_key}/start-subtitle"): {"403": {"Detail"}, "502": {"Detail", "ActionError"}},
    ("post", "/rooms/webhooks-livekit"): {"401": {"WebhookStatus"}, "422": {"WebhookStatus"}},
    ("post", "/rooms/creation-callback"): {"429": {"Detail"}},
    ("post", "/diagnostics/connection"): {"404": {"Detail"}, "429": {"Detail"}},
}


@pytest.fixture
async def document(meet_app: Any) -> dict[str, Any]:
    meet = await meet_app(plugins=[LobbyPlugin, SubtitlesPlugin])
    response = await meet.client.get(f"{API}/swagger.json")
    assert response.status_code == 200
    return response.json()


def _names(schema: dict[str, Any]) -> set[str]:
    """The components a schema refers to (directly or as ``oneOf`` members); titles of inline ones."""
    members = schema.get("oneOf", [schema])
    return {m["$ref"].rsplit("/", 1)[-1] if "$ref" in m else m.get("title", "?") for m in members}


async def test_every_body_taking_operation_documents_its_body(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for (method, path), component in BODIES.items():
        body = paths[API + path][method]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{component}"}
        assert component in document["components"]["schemas"]
    documented = {
        (method, path.removeprefix(API))
        for path, item in paths.items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }
    # The LiveKit webhook's body is LiveKit's event: a JSON object.
    assert documented == set(BODIES) | {("post", "/rooms/webhooks-livekit")}


async def test_bodies_carry_the_real_constraints(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    room = schemas["RoomCreateBody"]
    assert room["required"] == ["name"]
    assert room["properties"]["name"]["maxLength"] == 500
    assert schemas["AccessLevel"]["enum"] == ["public", "trusted", "restricted"]
    assert schemas["Role"]["enum"] == ["member", "administrator", "owner"]
    assert sorted(schemas["AccessBody"]["required"]) == ["resource", "user"]
    assert "required" not in schemas["AccessPatchBody"] or schemas["AccessPatchBody"]["required"] == []
    assert schemas["RequestEntryBody"]["properties"]["username"]["maxLength"] == 255
    assert schemas["DecisionBody"]["properties"]["participant_id"]["format"] == "uuid"
    assert schemas["ParticipantRoleBody"]["properties"]["role"]["enum"] == ["member", "administrator"]
    assert schemas["InviteBody"]["properties"]["emails"]["minItems"] == 1
    assert schemas["UserBody"]["required"] == ["timezone"]
    assert "everyone_can_mute" in schemas["RoomConfiguration"]["properties"]


async def test_error_answers_are_documented_in_their_shapes(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for (method, path), expected in ERRORS.items():
        responses = paths[API + path][method]["responses"]
        for status, shapes in expected.items():
            assert _names(responses[status]["content"]["application/json"]["schema"]) == shapes, (
                path,
                status,
            )
    # No operation keeps Litestar's own error shape ({"status_code", "detail", "extra"}).
    for item in paths.values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert "extra" not in str(schema), (operation["operationId"], status)
    for name in ("Detail", "ActionError", "Message", "WebhookStatus"):
        assert name in document["components"]["schemas"]


async def test_a_documented_body_is_still_read_by_its_handler(meet_app: Any) -> None:
    """The declaration is documentation only: a number as a name is accepted, as DRF did."""
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(f"{API}/rooms/", json={"name": 12})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "12"
    response = await meet.client.post(f"{API}/rooms/", json={"name": "a" * 501})
    assert response.json() == {"name": ["Ensure this field has no more than 500 characters."]}


#: Paths and every method each is served with (``users/{id}/`` answers 405 to the others).
ALLOW = {
    "/rooms/some-room/": "DELETE, GET, OPTIONS, PATCH, PUT",
    "/rooms/": "GET, OPTIONS, POST",
    "/users/0b7d7f2c-8d8e-4c8e-9a40-2f3f1d7a9e11/": "OPTIONS, PATCH, PUT",
    "/users/": "GET, OPTIONS",
    "/resource-accesses/0b7d7f2c-8d8e-4c8e-9a40-2f3f1d7a9e11/": "DELETE, GET, OPTIONS, PATCH, PUT",
    "/rooms/some-room/request-entry/": "OPTIONS, POST",
    "/rooms/some-room/waiting-participants/": "GET, OPTIONS",
    "/rooms/some-room/start-subtitle/": "OPTIONS, POST",
    "/logout/": "GET, OPTIONS, POST",
}


async def test_options_lists_every_method_of_the_path(meet_app: Any) -> None:
    meet = await meet_app(plugins=[LobbyPlugin, SubtitlesPlugin])
    for path, allow in ALLOW.items():
        response = await meet.client.options(API + path)
        assert response.status_code == 204, path
        assert response.headers["allow"] == allow, path
