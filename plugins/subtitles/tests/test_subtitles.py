"""start-subtitle / stop-subtitle over HTTP, against the fake LiveKit server (issue 7)."""

from __future__ import annotations

import datetime
import importlib.metadata

import pytest
from livekit.api import JobStatus

from meet_core.testing import SettingsError, create_app, mint_token
from meet_core.testing.harness import MeetTestApp
from meet_subtitles import SubtitlesPlugin

AGENT = "multi-user-transcriber"
SERVICE = "AgentDispatchService"
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
SUCCESS = {"status": "success"}


def token(
    livekit,
    room_name: str,
    *,
    secret: str | None = None,
    ttl: datetime.timedelta | None = None,
    present: bool = True,
) -> str:
    """A participant token as the core mints it for ``GET /rooms/{id}/``; its holder is
    connected to the meeting in the fake LiveKit unless ``present`` is false."""
    if present:
        livekit.add_participant(room_name, "anonymous-participant")
    return mint_token(
        api_key=livekit.api_key,
        api_secret=secret or livekit.api_secret,
        room_name=room_name,
        identity="anonymous-participant",
        name="Anonymous",
        role=None,
        is_authenticated=False,
        sources=["camera", "microphone"],
        color="#123456",
        ttl=ttl,
    )


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def start(meet, key: str, headers: dict[str, str] | None = None):
    return await meet.client.post(f"/api/v1.0/rooms/{key}/start-subtitle/", headers=headers or {})


async def stop(meet, key: str, headers: dict[str, str] | None = None):
    return await meet.client.post(f"/api/v1.0/rooms/{key}/stop-subtitle/", headers=headers or {})


# ------------------------------------------------------------------------------- start-subtitle


async def test_start_dispatches_the_transcriber_to_the_room(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    response = await start(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 200, response.text
    assert response.json() == SUCCESS
    [call] = livekit.calls_to("CreateDispatch", SERVICE)
    assert call.request.agent_name == AGENT
    assert call.request.room == str(room.id)
    assert call.request.metadata == ""
    assert call.grant["roomAdmin"] is True and call.grant["room"] == str(room.id)
    [dispatch] = livekit.dispatches(str(room.id))
    assert dispatch.agent_name == AGENT


async def test_start_finds_the_room_by_slug_without_trailing_slash(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    response = await meet.client.post(
        "/api/v1.0/rooms/weekly-sync/start-subtitle", headers=bearer(token(livekit, str(room.id)))
    )
    assert response.status_code == 200, response.text
    assert [c.request.room for c in livekit.calls_to("CreateDispatch", SERVICE)] == [str(room.id)]


async def test_start_is_idempotent_while_the_agent_is_dispatched(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    headers = bearer(token(livekit, str(room.id)))
    livekit.add_dispatch(str(room.id), "some-other-agent")

    for _ in range(2):
        response = await start(meet, str(room.id), headers)
        assert response.status_code == 200 and response.json() == SUCCESS

    assert len(livekit.calls_to("CreateDispatch", SERVICE)) == 1
    assert len(livekit.calls_to("ListDispatch", SERVICE)) == 2
    assert sorted(d.agent_name for d in livekit.dispatches(str(room.id))) == [AGENT, "some-other-agent"]


async def test_start_with_a_running_job_creates_nothing(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    livekit.add_dispatch(str(room.id), AGENT, [JobStatus.JS_FAILED, JobStatus.JS_RUNNING])

    response = await start(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 200 and response.json() == SUCCESS
    assert livekit.calls_to("CreateDispatch", SERVICE) == []


async def test_start_redispatches_when_the_previous_agent_ended(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    livekit.add_dispatch(str(room.id), AGENT, [JobStatus.JS_FAILED])

    response = await start(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 200 and response.json() == SUCCESS
    [call] = livekit.calls_to("CreateDispatch", SERVICE)
    assert (call.request.agent_name, call.request.room) == (AGENT, str(room.id))


async def test_agent_name_comes_from_the_setting(meet_app, livekit):
    meet = await meet_app(env={"ROOM_SUBTITLE_AGENT_NAME": "my-transcriber"}, plugins=[SubtitlesPlugin])
    room = await meet.create_room()

    response = await start(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 200
    assert livekit.last_call("CreateDispatch", SERVICE).request.agent_name == "my-transcriber"


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_agent_name_is_refused_at_start_up(meet_env, value):
    with pytest.raises(SettingsError) as error:
        create_app(env={**meet_env, "ROOM_SUBTITLE_AGENT_NAME": value}, plugins=[SubtitlesPlugin])
    [message] = error.value.errors
    assert message.startswith("SubtitlesSettings: Expected `str`")
    assert message.endswith("at `$.room_subtitle_agent_name`")


# ---------------------------------------------------------------------------- authentication


async def test_token_for_another_room_is_forbidden(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    other = await meet.create_room()

    response = await start(meet, str(room.id), bearer(token(livekit, str(other.id))))

    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert livekit.calls == []


async def test_token_naming_the_slug_instead_of_the_id_is_forbidden(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    response = await start(meet, str(room.id), bearer(token(livekit, room.slug)))
    assert response.status_code == 403 and response.json() == FORBIDDEN


async def test_expired_token_is_forbidden(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    expired = token(livekit, str(room.id), ttl=datetime.timedelta(minutes=-5))

    response = await start(meet, str(room.id), bearer(expired))

    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid LiveKit token: Signature has expired"}
    assert livekit.calls == []


async def test_token_signed_with_another_secret_is_forbidden(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    forged = token(livekit, str(room.id), secret="another-secret-that-is-long-enough-for-hs256")

    response = await start(meet, str(room.id), bearer(forged))

    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid LiveKit token: Signature verification failed"}
    assert livekit.calls == []


async def test_no_token_is_forbidden_not_unauthorized(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()

    response = await start(meet, str(room.id))

    assert response.status_code == 403
    assert response.json() == NO_CREDENTIALS
    assert "www-authenticate" not in response.headers
    assert livekit.calls == []


async def test_session_cookie_is_not_a_credential(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    owner = await meet.create_user()
    room = await meet.create_room(accesses=[(owner, "owner")])
    await meet.login(owner)

    response = await start(meet, str(room.id))

    assert response.status_code == 403 and response.json() == NO_CREDENTIALS
    assert livekit.calls == []


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ("Token abc", {"detail": "Authorization header must be: Bearer <token>"}),
        ("Bearer", {"detail": "Authorization header must be: Bearer <token>"}),
        ("Bearer a b", {"detail": "Authorization header must be: Bearer <token>"}),
        ("Bearer not-a-jwt", {"detail": "Invalid LiveKit token: Not enough segments"}),
    ],
)
async def test_malformed_authorization_is_forbidden(meet_app, livekit, header, body):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    response = await start(meet, str(room.id), {"Authorization": header})
    assert response.status_code == 403
    assert response.json() == body


async def test_bearer_scheme_is_case_insensitive(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    response = await start(meet, str(room.id), {"Authorization": f"bearer {token(livekit, str(room.id))}"})
    assert response.status_code == 200 and response.json() == SUCCESS


async def test_unknown_room_is_404_after_authentication(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    headers = bearer(token(livekit, str(room.id)))

    for key in ("no-such-room", "6c1ae1f6-1b89-4d0b-9f7a-3f4f5c1f0c55"):
        response = await start(meet, key, headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "No Room matches the given query."}
        response = await stop(meet, key, headers)
        assert response.status_code == 404

    # authentication comes first: no token on an unknown room is still a 403
    response = await start(meet, "no-such-room")
    assert response.status_code == 403 and response.json() == NO_CREDENTIALS
    assert livekit.calls == []


# ---------------------------------------------------------------------------------- presence


@pytest.mark.parametrize("route", [start, stop])
async def test_a_token_whose_holder_is_not_in_the_meeting_is_forbidden(meet_app, livekit, route):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    livekit.add_participant(str(room.id), "someone-else")  # the meeting runs, without the holder

    response = await route(meet, str(room.id), bearer(token(livekit, str(room.id), present=False)))

    assert response.status_code == 403
    assert response.json() == {"error": "Could not verify caller presence"}
    [call] = livekit.calls
    assert (call.service, call.method) == ("RoomService", "GetParticipant")
    assert (call.request.room, call.request.identity) == (str(room.id), "anonymous-participant")
    assert livekit.dispatches(str(room.id)) == []


async def test_presence_unknown_when_livekit_fails_is_502(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    headers = bearer(token(livekit, str(room.id)))
    livekit.fail("GetParticipant", code="internal", service="RoomService")

    response = await start(meet, str(room.id), headers)

    assert response.status_code == 502
    assert response.json() == {"error": "Subtitles failed to start for room weekly-sync"}
    assert livekit.calls_to("CreateDispatch", SERVICE) == []


# ------------------------------------------------------------------------------- LiveKit down


@pytest.mark.parametrize("method", ["ListDispatch", "CreateDispatch"])
async def test_livekit_error_on_start_is_502(meet_app, livekit, method):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    livekit.fail(method, code="internal", service=SERVICE)

    response = await start(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 502
    assert response.json() == {"error": "Subtitles failed to start for room weekly-sync"}
    assert livekit.dispatches(str(room.id)) == []


async def test_livekit_unreachable_on_start_is_502(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    livekit.set_down()

    response = await start(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 502
    assert response.json() == {"error": "Subtitles failed to start for room weekly-sync"}


# -------------------------------------------------------------------------------- stop-subtitle


async def test_stop_deletes_the_transcriber_dispatches_only(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    headers = bearer(token(livekit, str(room.id)))
    assert (await start(meet, str(room.id), headers)).status_code == 200
    stale = livekit.add_dispatch(str(room.id), AGENT, [JobStatus.JS_FAILED])
    other = livekit.add_dispatch(str(room.id), "metadata-collector")

    response = await stop(meet, str(room.id), headers)

    assert response.status_code == 200
    assert response.json() == SUCCESS
    deleted = livekit.calls_to("DeleteDispatch", SERVICE)
    assert len(deleted) == 2 and {c.request.room for c in deleted} == {str(room.id)}
    assert stale.id in {c.request.dispatch_id for c in deleted}
    assert [d.id for d in livekit.dispatches(str(room.id))] == [other.id]

    # started again afterwards: a new dispatch
    assert (await start(meet, str(room.id), headers)).status_code == 200
    assert len(livekit.calls_to("CreateDispatch", SERVICE)) == 2


async def test_stop_when_not_running_succeeds(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()

    response = await stop(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 200 and response.json() == SUCCESS
    assert [c.method for c in livekit.calls] == ["GetParticipant", "ListDispatch"]


async def test_stop_requires_a_token_for_the_room(meet_app, livekit):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room()
    other = await meet.create_room()
    livekit.add_dispatch(str(room.id), AGENT)

    response = await stop(meet, str(room.id))
    assert response.status_code == 403 and response.json() == NO_CREDENTIALS
    response = await stop(meet, str(room.id), bearer(token(livekit, str(other.id))))
    assert response.status_code == 403 and response.json() == FORBIDDEN
    assert livekit.calls == []
    assert len(livekit.dispatches(str(room.id))) == 1


@pytest.mark.parametrize("method", ["ListDispatch", "DeleteDispatch"])
async def test_livekit_error_on_stop_is_502(meet_app, livekit, method):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    room = await meet.create_room("Weekly sync")
    livekit.add_dispatch(str(room.id), AGENT)
    livekit.fail(method, code="unavailable", service=SERVICE)

    response = await stop(meet, str(room.id), bearer(token(livekit, str(room.id))))

    assert response.status_code == 502
    assert response.json() == {"error": "Subtitles failed to stop for room weekly-sync"}
    assert len(livekit.dispatches(str(room.id))) == 1


# ------------------------------------------------------------------------- enabled / disabled


async def test_config_says_enabled_with_the_plugin(meet_app):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    response = await meet.client.get("/api/v1.0/config/")
    assert response.status_code == 200
    assert response.json()["subtitle"] == {"enabled": True}


async def test_disabled_plugin_adds_nothing(meet_app, livekit):
    meet = await meet_app()  # no plugin at all
    room = await meet.create_room()
    headers = bearer(token(livekit, str(room.id)))

    for path in ("start-subtitle", "stop-subtitle"):
        response = await meet.client.post(f"/api/v1.0/rooms/{room.id}/{path}/", headers=headers)
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": "Not found."}
    config = (await meet.client.get("/api/v1.0/config/")).json()
    assert config["subtitle"] == {"enabled": False}
    assert livekit.calls == []


@pytest.fixture
def subtitles_distribution(tmp_path, monkeypatch):
    """The ``meet-plugin-subtitles`` entry point: the installed one, else a stand-in dist-info
    declaring the same entry point as plugins/subtitles/pyproject.toml (source-tree runs)."""
    try:
        importlib.metadata.distribution("meet-plugin-subtitles")
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    info = tmp_path / "site" / "meet_plugin_subtitles-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: meet-plugin-subtitles\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[meet.plugins]\nsubtitles = meet_subtitles.plugin:SubtitlesPlugin\n"
    )
    monkeypatch.syspath_prepend(str(info.parent))


@pytest.mark.usefixtures("subtitles_distribution")
@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({"MEET_PLUGINS": "subtitles"}, True),
        ({"ROOM_SUBTITLE_ENABLED": "true"}, True),
        ({"MEET_PLUGINS": ""}, False),
        ({}, False),  # ROOM_SUBTITLE_ENABLED defaults to false
    ],
)
async def test_entry_point_discovery(meet_env, livekit, env, enabled):
    # plugins=None: the installed entry points, as in production
    async with MeetTestApp({**meet_env, **env}, plugins=None) as meet:
        room = await meet.create_room()
        config = (await meet.client.get("/api/v1.0/config/")).json()
        response = await meet.client.post(
            f"/api/v1.0/rooms/{room.id}/start-subtitle/", headers=bearer(token(livekit, str(room.id)))
        )
    assert config["subtitle"] == {"enabled": enabled}
    assert response.status_code == (200 if enabled else 404), response.text
    assert len(livekit.calls_to("CreateDispatch", SERVICE)) == (1 if enabled else 0)


async def test_openapi_documents_both_routes(meet_app):
    meet = await meet_app(plugins=[SubtitlesPlugin])
    paths = (await meet.client.get("/api/v1.0/swagger.json")).json()["paths"]
    for action in ("start-subtitle", "stop-subtitle"):
        assert list(paths[f"/api/v1.0/rooms/{{room_key}}/{action}"]) == ["post"]
