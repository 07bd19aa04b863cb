"""``POST /rooms/{id}/start-subtitle/`` and ``stop-subtitle/`` (api.md §2.6, services.md §5).

Both are authenticated by the caller's LiveKit token only (session cookies are ignored), so
any participant of the meeting, anonymous included, may start or stop the subtitles, as in
the old system. Unlike the old system, the token's identity must also be connected to the
meeting (as for mute-participant): a token outlives its holder's presence (a participant
removed by an administrator keeps it until it expires), and presence is what makes the
holder a participant. Order of checks: token (403) -> room lookup (404) -> the token is for
this room (403) -> the holder is in the meeting (403, LiveKit unreachable 502) -> LiveKit.
Subtitles are the transcriber agent dispatched to the LiveKit room named
after the room's UUID; nothing is stored on our side, so LiveKit is the only state.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from livekit.api import AgentDispatch, CreateAgentDispatchRequest, JobStatus, LiveKitAPI, ServerError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import (
    API_PREFIX,
    ApiError,
    LiveKitFailure,
    Room,
    error_responses,
    is_in_meeting,
    livekit_api,
    participant_room,
    settings,
)
from meet_subtitles.settings import PLUGIN_NAME, SubtitlesSettings

log = logging.getLogger("meet_subtitles")

#: What a LiveKit call may raise when LiveKit answers an error or cannot be reached.
LIVEKIT_ERRORS: tuple[type[BaseException], ...] = (ServerError, aiohttp.ClientError, TimeoutError)

#: The 403 body of a token whose holder is not connected to the meeting (as mute-participant's).
CALLER_NOT_PRESENT = "Could not verify caller presence"

#: Job statuses of an agent that is (about to be) in the room.
_LIVE_JOB = frozenset({JobStatus.JS_PENDING, JobStatus.JS_RUNNING})


def _agent_name(request: Request[Any, Any, Any]) -> str:
    return settings(request).section(PLUGIN_NAME, SubtitlesSettings).room_subtitle_agent_name


async def _authorized_room(
    request: Request[Any, Any, Any], db_session: AsyncSession, room_key: str, failure: str
) -> Room:
    """The room, once the bearer LiveKit token is valid (403), for that very room (403) and
    held by a participant connected to the meeting (403; 502 ``failure`` when LiveKit fails)."""
    room, caller = await participant_room(request, db_session, room_key)
    try:
        present = await is_in_meeting(livekit_api(request), caller.room, caller.identity)
    except LiveKitFailure as exc:
        raise ApiError(502, {"error": f"{failure} for room {room.slug}"}) from exc
    if not present:
        raise ApiError(403, {"error": CALLER_NOT_PRESENT})
    return room


def is_live(dispatch: AgentDispatch) -> bool:
    """Whether a dispatch still has (or will get) its agent in the room.

    A dispatch whose every job ended (agent crashed, left or was rejected) is stale: it
    must not stop subtitles from being started again. A dispatch without jobs yet is pending.
    """
    if dispatch.state.deleted_at:
        return False
    jobs = dispatch.state.jobs
    return not jobs or any(job.state.status in _LIVE_JOB for job in jobs)


async def _agent_dispatches(livekit: LiveKitAPI, room_name: str, agent_name: str) -> list[AgentDispatch]:
    return [
        d
        for d in await livekit.agent_dispatch.list_dispatch(room_name=room_name)
        if d.agent_name == agent_name
    ]


@post(
    f"{API_PREFIX}/rooms/{{room_key:str}}/start-subtitle",
    status_code=200,
    tags=["subtitles"],
    responses=error_responses(400, 403, 404, 502, 503),
    summary="Start the subtitles of a meeting (dispatch the transcriber agent)",
)
async def start_subtitle(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_key: FromPath[str]
) -> dict[str, str]:
    """Dispatch the transcriber agent to the room, unless a live dispatch of it is already there.

    Idempotent: the frontend may call it again (another participant, a reload) without
    stacking dispatches. 502 ``{"error": ...}`` when LiveKit fails.
    """
    room = await _authorized_room(request, db_session, room_key, "Subtitles failed to start")
    agent_name, room_name = _agent_name(request), str(room.id)
    livekit = livekit_api(request)
    try:
        if not any(is_live(d) for d in await _agent_dispatches(livekit, room_name, agent_name)):
            await livekit.agent_dispatch.create_dispatch(
                CreateAgentDispatchRequest(agent_name=agent_name, room=room_name)
            )
    except LIVEKIT_ERRORS as exc:
        log.warning("could not dispatch agent %r to room %s: %r", agent_name, room_name, exc)
        raise ApiError(502, {"error": f"Subtitles failed to start for room {room.slug}"}) from exc
    return {"status": "success"}


@post(
    f"{API_PREFIX}/rooms/{{room_key:str}}/stop-subtitle",
    status_code=200,
    tags=["subtitles"],
    responses=error_responses(400, 403, 404, 502, 503),
    summary="Stop the subtitles of a meeting (delete the transcriber agent's dispatches)",
)
async def stop_subtitle(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], room_key: FromPath[str]
) -> dict[str, str]:
    """Delete every dispatch of the transcriber agent in the room (LiveKit then ends its jobs).

    Stopping subtitles that are not running succeeds too: the caller's wish (no subtitles)
    holds. 502 ``{"error": ...}`` when LiveKit fails.
    """
    room = await _authorized_room(request, db_session, room_key, "Subtitles failed to stop")
    agent_name, room_name = _agent_name(request), str(room.id)
    livekit = livekit_api(request)
    try:
        for dispatch in await _agent_dispatches(livekit, room_name, agent_name):
            try:
                await livekit.agent_dispatch.delete_dispatch(dispatch.id, room_name)
            except ServerError as exc:
                if exc.code != "not_found":  # deleted meanwhile by someone else: fine
                    raise
    except LIVEKIT_ERRORS as exc:
        log.warning("could not delete dispatches of agent %r in room %s: %r", agent_name, room_name, exc)
        raise ApiError(502, {"error": f"Subtitles failed to stop for room {room.slug}"}) from exc
    return {"status": "success"}


ROUTES = [start_subtitle, stop_subtitle]
