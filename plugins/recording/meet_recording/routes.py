"""The recording routes (api.md §2.5, §2.9; services.md §7.2-7.9).

``start-recording`` commits the new row before it asks LiveKit for an egress and commits again
after: LiveKit is never called inside a database transaction, a failed egress stays
``failed_to_start`` (the 502 does not roll it back), and the room's next start is not blocked.
"""

from __future__ import annotations

import logging
import mimetypes
import urllib.parse
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post, route
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import (
    API_PREFIX,
    ActionError,
    ApiError,
    FieldErrors,
    Role,
    Room,
    User,
    envelope,
    error_responses,
    livekit_room_name,
    not_found,
    parse_uuid,
    permission_denied,
    privileged_room,
    read_json_object,
    request_body,
    resolve_page,
)
from meet_recording import egress, storage
from meet_recording.auth import check_bearer
from meet_recording.bodies import parse_start
from meet_recording.models import SAVED, Recording, RecordingAccess, Status, abilities
from meet_recording.service import NotSavableError, RecordingService, iso, state_service

log = logging.getLogger("meet_recording")

_STOP_FAILED = {
    500: ResponseSpec(
        data_container=ActionError, description="LiveKit did not stop the egress", generate_examples=False
    )
}

NO_RECORDING = "No Recording matches the given query."
NO_EVENT_RECORDING = "No recording found for this event."


def _error(status: int, message: str) -> ApiError:
    return ApiError(status, {"error": message})


def _room_label(room: Room) -> str:
    return room.slug or str(room.id)


# ------------------------------------------------------------------------------- control


@post(
    f"{API_PREFIX}/rooms/{{room_key:str}}/start-recording",
    status_code=201,
    tags=["recordings"],
    responses=error_responses(400, 401, 403, 404, 409, 502),
)
async def start_recording(
    request: Request[Any, Any, Any],
    room_key: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> dict[str, str]:
    """Start a recording of the room: a LiveKit egress writing to the bucket (admins, owners)."""
    service = state_service(request)
    mode_name, options = parse_start(await read_json_object(request), service.modes)
    room = await privileged_room(db_session, room_key, current_user)
    label = _room_label(room)
    recording = Recording(room_id=room.id, mode=mode_name, options=options, status=Status.INITIATED.value)
    db_session.add(recording)
    try:
        await db_session.flush()
    except IntegrityError:
        raise _error(409, f"A recording is already in progress for room {label}") from None
    db_session.add(RecordingAccess(recording_id=recording.id, user_id=current_user.id, role=Role.OWNER.value))
    await db_session.commit()

    room_name = livekit_room_name(room)
    try:
        recording.worker_id = await egress.start(
            service.livekit,
            service.config,
            service.core,
            service.modes[mode_name],
            room_name,
            service.key(recording),
        )
    except egress.EgressError as exc:
        log.error("recording %s of room %s failed to start: %s", recording.id, room.id, exc)
        recording.status = Status.FAILED_TO_START.value
        await db_session.commit()
        raise _error(502, f"Recording failed to start for room {label}") from None
    recording.status = Status.ACTIVE.value
    await db_session.commit()

    await egress.update_metadata(
        service.livekit,
        service.config,
        room_name,
        {"recording_mode": options.get("original_mode") or mode_name, "recording_status": "starting"},
    )
    if service.config.metadata_collector_enabled and options.get("collect_metadata"):
        dispatch_id = await egress.dispatch_metadata_collector(
            service.livekit, service.config, room_name, str(recording.id)
        )
        if dispatch_id:
            recording.options = {**options, "metadata_collector_dispatch_id": dispatch_id}
    return {"message": f"Recording successfully started for room {label}"}


@post(
    f"{API_PREFIX}/rooms/{{room_key:str}}/stop-recording",
    status_code=200,
    tags=["recordings"],
    responses=error_responses(401, 403, 404, extra=_STOP_FAILED),
)
async def stop_recording(
    request: Request[Any, Any, Any],
    room_key: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> dict[str, str]:
    """Stop the room's active recording (any administrator or owner of the room)."""
    service = state_service(request)
    room = await privileged_room(db_session, room_key, current_user)
    label = _room_label(room)
    recording = await db_session.scalar(
        select(Recording).where(Recording.room_id == room.id, Recording.status == Status.ACTIVE.value)
    )
    if recording is None or not recording.worker_id:
        raise not_found("No active recording found for this room.")
    await db_session.commit()
    try:
        status = await egress.stop(service.livekit, service.config, recording.worker_id)
    except egress.EgressError as exc:
        log.error("recording %s failed to stop: %s", recording.id, exc)
        status = None
    mapped = {
        egress.lk.EgressStatus.EGRESS_ENDING: Status.STOPPED,
        egress.lk.EgressStatus.EGRESS_ABORTED: Status.ABORTED,
    }.get(status, Status.FAILED_TO_STOP)  # type: ignore[call-overload]
    recording.status = mapped.value
    await db_session.commit()
    if mapped is Status.FAILED_TO_STOP:
        raise _error(500, f"Recording failed to stop for room {label}")
    return {"message": f"Recording stopped for room {label}."}


# ---------------------------------------------------------------------------- recordings


def recording_json(service: RecordingService, recording: Recording, room: Room) -> dict[str, Any]:
    expired_at = service.expired_at(recording)
    from datetime import UTC, datetime

    return {
        "id": str(recording.id),
        "room": {"id": str(room.id), "name": room.name, "slug": room.slug, "access_level": room.access_level},
        "created_at": iso(recording.created_at),
        "updated_at": iso(recording.updated_at),
        "status": recording.status,
        "mode": recording.mode,
        "options": recording.options or {},
        "key": service.key(recording),
        "is_expired": bool(expired_at and expired_at <= datetime.now(UTC)),
        "expired_at": iso(expired_at),
    }


def _visible(user: User) -> Any:
    return (
        select(Recording, Room, RecordingAccess.role)
        .join(Room, Room.id == Recording.room_id)
        .join(
            RecordingAccess,
            and_(RecordingAccess.recording_id == Recording.id, RecordingAccess.user_id == user.id),
        )
    )


async def _recording_or_404(db_session: AsyncSession, key: str, user: User) -> tuple[Recording, Room, str]:
    recording_id = parse_uuid(key)
    if recording_id is None:
        raise not_found()
    row = (await db_session.execute(_visible(user).where(Recording.id == recording_id))).first()
    if row is None:
        raise not_found(NO_RECORDING)
    return row[0], row[1], row[2]


@get(f"{API_PREFIX}/recordings", tags=["recordings"], responses=error_responses(401, 404))
async def list_recordings(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> dict[str, Any]:
    """The recordings the caller has a role on, newest first (paginated, ``?page_size=``)."""
    service = state_service(request)
    query = _visible(current_user)
    count = await db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = resolve_page(request, count, custom=True)
    rows = await db_session.execute(
        query.order_by(Recording.created_at.desc(), Recording.id).offset(page.offset).limit(page.size)
    )
    results = [recording_json(service, recording, room) for recording, room, _ in rows]
    return envelope(request, page, count, results)


@get(f"{API_PREFIX}/recordings/{{key:str}}", tags=["recordings"], responses=error_responses(401, 403, 404))
async def retrieve_recording(
    request: Request[Any, Any, Any],
    key: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> dict[str, Any]:
    """One recording (owners and administrators of the recording)."""
    recording, room, role = await _recording_or_404(db_session, key, current_user)
    if not abilities(recording, role)["retrieve"]:
        raise permission_denied()
    return recording_json(state_service(request), recording, room)


@delete(f"{API_PREFIX}/recordings/{{key:str}}", tags=["recordings"], responses=error_responses(401, 403, 404))
async def delete_recording(
    key: FromPath[str], db_session: NamedDependency[AsyncSession], current_user: NamedDependency[User]
) -> None:
    """Delete a finished recording's row (its file is left to ``meet recordings purge``)."""
    recording, _, role = await _recording_or_404(db_session, key, current_user)
    if not abilities(recording, role)["destroy"]:
        raise permission_denied()
    await db_session.delete(recording)


@route(f"{API_PREFIX}/recordings/{{key:str}}", http_method=["PUT", "PATCH"], include_in_schema=False)
async def recording_not_allowed(request: Request[Any, Any, Any], current_user: NamedDependency[User]) -> None:
    """Recordings are read-only: 405 (after the 401 of an anonymous caller)."""
    raise ApiError(
        405, {"detail": f'Method "{request.method}" not allowed.'}, {"Allow": "GET, DELETE, HEAD, OPTIONS"}
    )


# ----------------------------------------------------------------------------- media auth


@get(
    f"{API_PREFIX}/recordings/media-auth", tags=["recordings"], responses=error_responses(400, 401, 403, 404)
)
async def media_auth(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
) -> Response[bytes]:
    """nginx ``auth_request``: may the caller download this file? SigV4 headers for the bucket."""
    service = state_service(request)
    original = request.headers.get("x-original-url")
    if not original:
        raise permission_denied()
    found = service.media_path_pattern().search(urllib.parse.urlsplit(original).path)
    if found is None:
        raise permission_denied()
    extensions = {mode.extension for mode in service.modes.values()}
    if found["ext"] not in extensions:
        raise ApiError(400, {"detail": "Unsupported extension."})
    recording_id = parse_uuid(found["id"])
    recording = await db_session.get(Recording, recording_id)
    if recording is None:
        raise not_found(NO_EVENT_RECORDING)
    if service.key(recording) != f"{service.config.recording_output_folder}/{recording.id}.{found['ext']}":
        raise not_found("No recording found with this extension.")
    role = await db_session.scalar(
        select(RecordingAccess.role).where(
            RecordingAccess.recording_id == recording.id, RecordingAccess.user_id == current_user.id
        )
    )
    if not abilities(recording, role)["retrieve"] or recording.status not in SAVED:
        raise permission_denied()
    headers = storage.signed_get_headers(service.core, service.key(recording))
    return Response(b'"authorized"', headers=headers, media_type="application/json")


# ---------------------------------------------------------------------------- storage hook


def _event(body: dict[str, Any], parser: str, content_types: dict[str, str]) -> tuple[str, str, str]:
    """``(bucket, URL-encoded key, content type)`` of a MinIO or S3 event; ValueError if malformed."""
    try:
        record = body["Records"][0]["s3"]
        bucket, key = record["bucket"]["name"], record["object"]["key"]
        if not isinstance(bucket, str) or not isinstance(key, str):
            raise ValueError("bucket and key must be strings")
        if parser == "S3Parser":
            extension = key.rsplit(".", 1)[-1].lower() if "." in key else ""
            content_type = content_types.get(extension) or mimetypes.guess_type(key)[0] or ""
            return bucket, urllib.parse.quote(key, safe="%+"), content_type
        content_type = record["object"]["contentType"]
        if not isinstance(content_type, str):
            raise ValueError("contentType must be a string")
        return bucket, key, content_type
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(str(exc)) from exc


class ExternalProcessBody(msgspec.Struct, kw_only=True):
    """The documented body of ``external-process-hook`` (checked by the route; more keys allowed)."""

    job_id: str
    type: str | None = None
    status: str | None = None


@post(
    f"{API_PREFIX}/recordings/storage-hook",
    status_code=200,
    tags=["recordings"],
    # A MinIO or S3 bucket event, read by the configured parser: any JSON object.
    dependencies=request_body(dict[str, Any]),
    responses=error_responses(400, 401, 403, 404, 413, 415),
)
async def storage_hook(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> dict[str, str]:
    """The bucket says a file was written: the recording is saved and its owners notified."""
    service = state_service(request)
    config = service.config
    if config.recording_enable_storage_event_auth:
        check_bearer(request, config.recording_storage_event_token, "Storage event API")
    if not config.recording_storage_event_enable:
        raise not_found()
    body = await read_json_object(request)
    content_types = {mode.extension: mode.content_type for mode in service.modes.values()}
    try:
        bucket, key, content_type = _event(body, config.recording_event_parser_class, content_types)
    except ValueError:
        raise permission_denied("Invalid request data.") from None
    if bucket != service.core.aws_storage_bucket_name:
        raise permission_denied("Invalid bucket specified.")
    found = service.storage_key_pattern().match(key)
    if content_type not in content_types.values() or found is None:
        return {"message": "Notification ignored."}
    recording = await db_session.get(Recording, parse_uuid(found["id"]))
    if recording is None:
        raise not_found(NO_EVENT_RECORDING)
    try:
        await service.complete(db_session, recording, commit_before_notify=True)
    except NotSavableError as exc:
        raise permission_denied(str(exc)) from None
    return {"message": "Event processed."}


@post(
    f"{API_PREFIX}/recordings/external-process-hook",
    status_code=200,
    tags=["recordings"],
    dependencies=request_body(ExternalProcessBody),
    responses=error_responses(400, 401, 413, 415),
)
async def external_process_hook(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> dict[str, str]:
    """The summary service reports on a job: the transcript's final status."""
    service = state_service(request)
    check_bearer(request, service.config.summary_service_webhook_api_token, "External process API")
    body = await read_json_object(request)
    job_id = body.get("job_id")
    if job_id is None:
        raise FieldErrors(
            {"job_id": ["This field is required." if "job_id" not in body else "This field may not be null."]}
        )
    if not isinstance(job_id, str | int) or isinstance(job_id, bool) or not str(job_id).strip():
        raise FieldErrors({"job_id": ["Not a valid string."]})
    recording = await db_session.scalar(select(Recording).where(Recording.external_process_id == str(job_id)))
    if recording is not None and body.get("type") == "transcript":
        new = {"success": Status.EXTERNAL_PROCESS_SUCCESSFUL, "failure": Status.EXTERNAL_PROCESS_FAILED}
        status = new.get(body.get("status"))  # type: ignore[arg-type]
        if status is not None:
            recording.status = status.value
    return {"message": "Event processed."}


ROUTES = [
    start_recording,
    stop_recording,
    list_recordings,
    media_auth,
    storage_hook,
    external_process_hook,
    retrieve_recording,
    delete_recording,
    recording_not_allowed,
]
