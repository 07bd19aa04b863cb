"""The files API (api.md §2.10): list, create, update, soft delete, upload-ended, media-auth.

Every route needs a session (401). The routes exist only while the plugin is enabled (404
otherwise, the old ``FILE_UPLOAD_ENABLED`` flag). A caller sees only their own files not
hard-deleted; object routes answer 404 for soft-deleted files. ``GET files/{id}/`` is not
routed (405), as before.
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import (
    API_PREFIX,
    ApiError,
    FieldErrors,
    User,
    envelope,
    error_responses,
    not_found,
    permission_denied,
    read_json_object,
    request_body,
    resolve_page,
    settings,
)
from meet_files.analysis import FileRefused, analyse_upload
from meet_files.context import config_of, storage_of
from meet_files.models import FILE_TYPES, File, UploadState
from meet_files.schemas import (
    FileBody,
    FileCreateBody,
    FilePatchBody,
    file_json,
    file_key,
    validate_create,
    validate_update,
)
from meet_files.settings import MEDIA_URL
from meet_files.storage import run

_FILES = f"{API_PREFIX}/files"
_ORDERING = {"created_at", "updated_at", "title"}
_TRUE = {"true", "True", "1"}
_FALSE = {"false", "False", "0"}
NOT_PENDING = {"file": "This action is only available for files in PENDING state."}


def _json(request: Request[Any, Any, Any], file: File, user: User) -> dict[str, Any]:
    core = settings(request).core
    return file_json(
        file,
        user,
        creator=user if file.creator_id == user.id else None,
        media_base_url=core.media_base_url,
        upload_path=config_of(request).file_upload_path,
    )


def _bool(raw: str | None) -> bool | None:
    """django-filter's BooleanFilter: true/True/1, false/False/0, anything else ignored."""
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    return None


def _choice(request: Request[Any, Any, Any], name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise FieldErrors({name: [f"Select a valid choice. {raw} is not one of the available choices."]})
    return raw


async def _own_file(db_session: AsyncSession, file_id: str, user: User) -> File:
    """The caller's file, not deleted; 404 in the old words otherwise (malformed id: "Not found.")."""
    try:
        key = uuid.UUID(file_id)
    except ValueError:
        raise not_found() from None
    file = await db_session.scalar(
        select(File).where(File.id == key, File.creator_id == user.id, File.hard_deleted_at.is_(None))
    )
    if file is None or file.deleted_at is not None:
        raise not_found("No File matches the given query.")
    return file


@get(_FILES, summary="List the caller's files", tags=["files"], responses=error_responses(400, 401, 404, 503))
async def list_files(
    request: Request[Any, Any, Any],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """Filters ``type``, ``upload_state``, ``is_creator_me``, ``is_deleted``; ``ordering``; paginated.

    Soft-deleted files are listed unless ``is_deleted=false`` (as before).
    """
    file_type = _choice(request, "type", FILE_TYPES)
    state = _choice(request, "upload_state", UploadState.ALL)
    query = select(File).where(File.creator_id == current_user.id, File.hard_deleted_at.is_(None))
    if file_type:
        query = query.where(File.type == file_type)
    if state:
        query = query.where(File.upload_state == state)
    if _bool(request.query_params.get("is_creator_me")) is False:
        query = query.where(File.creator_id != current_user.id)
    is_deleted = _bool(request.query_params.get("is_deleted"))
    if is_deleted is not None:
        query = query.where(File.deleted_at.is_not(None) if is_deleted else File.deleted_at.is_(None))
    count = (await db_session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    page = resolve_page(request, count, custom=True)
    ordering = request.query_params.get("ordering") or "-updated_at"
    field = ordering.removeprefix("-")
    if field not in _ORDERING:
        ordering, field = "-updated_at", "updated_at"
    column = getattr(File, field)
    query = query.order_by(column.desc() if ordering.startswith("-") else column.asc(), File.id)
    rows = (
        list((await db_session.execute(query.offset(page.offset).limit(page.size))).scalars())
        if count
        else []
    )
    return envelope(request, page, count, [_json(request, file, current_user) for file in rows])


@post(
    _FILES,
    summary="Create a file and its upload URL",
    tags=["files"],
    dependencies=request_body(FileCreateBody),
    responses=error_responses(400, 401, 403, 503),
)
async def create_file(
    request: Request[Any, Any, Any],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """201 ``pending`` file with ``policy``: the presigned PUT URL the browser uploads to."""
    values = validate_create(await read_json_object(request))
    if "id" in values and await db_session.get(File, values["id"]) is not None:
        raise FieldErrors({"id": ["A file with this ID already exists. You cannot override it."]})
    config = config_of(request)
    if config.file_upload_apply_restrictions:
        limits = config.restrictions(values["type"])
        import os.path

        if os.path.splitext(values["filename"])[1].lower() not in limits.allowed_extensions:
            raise FieldErrors({"filename": ["This file extension is not allowed."]})
        owned = await db_session.scalar(
            select(func.count())
            .select_from(File)
            .where(
                File.creator_id == current_user.id,
                File.type == values["type"],
                File.deleted_at.is_(None),
                File.hard_deleted_at.is_(None),
            )
        )
        if (owned or 0) >= limits.max_count_by_user:
            raise permission_denied("You have reached the maximum number of files for this type.")
    file = File(**values, creator_id=current_user.id, upload_state=UploadState.PENDING)
    db_session.add(file)
    await db_session.flush()
    await db_session.refresh(file)
    policy = await run(storage_of(request).upload_url, file_key(config.file_upload_tmp_path, file))
    return {**_json(request, file, current_user), "policy": policy}


async def _update(
    request: Request[Any, Any, Any], file_id: str, user: User, db_session: AsyncSession, partial: bool
) -> dict[str, Any]:
    file = await _own_file(db_session, file_id, user)
    for key, value in validate_update(await read_json_object(request), partial=partial).items():
        setattr(file, key, value)
    await db_session.flush()
    await db_session.refresh(file)
    return _json(request, file, user)


@put(
    f"{_FILES}/{{file_id:str}}",
    summary="Update a file",
    tags=["files"],
    dependencies=request_body(FileBody),
    responses=error_responses(400, 401, 404, 503),
)
async def put_file(
    request: Request[Any, Any, Any],
    file_id: FromPath[str],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """``title``, ``type`` (required) and ``description``."""
    return await _update(request, file_id, current_user, db_session, partial=False)


@patch(
    f"{_FILES}/{{file_id:str}}",
    summary="Update a file partially",
    tags=["files"],
    dependencies=request_body(FilePatchBody),
    responses=error_responses(400, 401, 404, 503),
)
async def patch_file(
    request: Request[Any, Any, Any],
    file_id: FromPath[str],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """Any of ``title``, ``type`` and ``description``."""
    return await _update(request, file_id, current_user, db_session, partial=True)


@delete(
    f"{_FILES}/{{file_id:str}}",
    summary="Delete a file (soft)",
    tags=["files"],
    responses=error_responses(401, 404, 503),
)
async def delete_file(
    file_id: FromPath[str], current_user: NamedDependency[User], db_session: NamedDependency[AsyncSession]
) -> None:
    """Soft delete: ``deleted_at`` is set; the purge command removes it later with its object."""
    file = await _own_file(db_session, file_id, current_user)
    file.deleted_at = datetime.datetime.now(datetime.UTC)


@post(
    f"{_FILES}/{{file_id:str}}/upload-ended",
    status_code=200,
    summary="The browser finished uploading",
    tags=["files"],
    responses=error_responses(400, 401, 404, 503, shapes={400: list[str] | dict[str, str]}),
)
async def upload_ended(
    request: Request[Any, Any, Any],
    file_id: FromPath[str],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> dict[str, Any]:
    """``pending`` → ``analyzing`` → ``ready``: the object moved out of the temporary folder and checked.

    The ``analyzing`` state is committed first, so that a second call at the same time gets the
    400; any failure afterwards puts the file back to ``pending`` (its upload kept, so the
    browser may call again). A refused file (size or type) is deleted, object and row.
    """
    file = await _own_file(db_session, file_id, current_user)
    started = await db_session.execute(
        update(File)
        .where(File.id == file.id, File.upload_state == UploadState.PENDING, File.deleted_at.is_(None))
        .values(upload_state=UploadState.ANALYZING)
        .execution_options(synchronize_session=False)
    )
    if started.rowcount != 1:  # type: ignore[attr-defined]
        raise ApiError(400, NOT_PENDING)
    await db_session.commit()
    config = config_of(request)
    storage = storage_of(request)
    try:
        result = await analyse_upload(storage, config, file)
    except FileRefused as refused:
        await db_session.delete(await db_session.get_one(File, file.id))
        await db_session.commit()
        raise ApiError(400, [refused.message]) from None
    except Exception as exc:
        await db_session.rollback()
        await db_session.execute(
            update(File)
            .where(File.id == file.id)
            .values(upload_state=UploadState.PENDING)
            .execution_options(synchronize_session=False)
        )
        await db_session.commit()
        if isinstance(exc, ApiError):
            raise
        raise ApiError(500, {"detail": "The file could not be analysed; upload it again."}) from exc
    file = await db_session.get_one(File, file.id, populate_existing=True)
    file.upload_state = UploadState.READY
    file.mimetype = result.mimetype
    file.size = result.size
    await db_session.commit()
    await run(storage.delete, file_key(config.file_upload_tmp_path, file))
    await db_session.refresh(file)
    return _json(request, file, current_user)


def _media_key_pattern(upload_path: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(f"{MEDIA_URL}{upload_path}/")
        + r"(?P<id>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})\.(?P<ext>[^/.]+)$"
    )


@get(
    f"{_FILES}/media-auth",
    summary="nginx auth_request for a file's media URL",
    tags=["files"],
    responses=error_responses(401, 403, 503),
)
async def media_auth(
    request: Request[Any, Any, Any],
    current_user: NamedDependency[User],
    db_session: NamedDependency[AsyncSession],
) -> Response[bytes]:
    """200 ``"authorized"`` with the SigV4 headers of the object for nginx to forward; else 403.

    ``X-Original-URL``'s path must end with ``/media/<FILE_UPLOAD_PATH>/<uuid>.<ext>``, naming
    a ready, not deleted file of the caller.
    """
    from urllib.parse import urlsplit

    denied = permission_denied()
    original = request.headers.get("x-original-url")
    if not original:
        raise denied
    match = _media_key_pattern(config_of(request).file_upload_path).search(urlsplit(original).path)
    if match is None:
        raise denied
    file = await db_session.scalar(
        select(File).where(
            File.id == uuid.UUID(match["id"]),
            File.creator_id == current_user.id,
            File.deleted_at.is_(None),
            File.hard_deleted_at.is_(None),
        )
    )
    if file is None or file.upload_state != UploadState.READY or file.extension[1:] != match["ext"]:
        raise denied
    headers = await run(
        storage_of(request).signed_get_headers, file_key(config_of(request).file_upload_path, file)
    )
    return Response(b'"authorized"', headers=headers, media_type="application/json")


ROUTES = [list_files, create_file, put_file, patch_file, delete_file, upload_ended, media_auth]
