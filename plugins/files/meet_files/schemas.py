"""Bodies of the files API (validated by hand, in the old system's words) and the file object."""

from __future__ import annotations

import datetime
import os.path
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

import msgspec

from meet_core.api import FieldErrors, User
from meet_files.models import FILE_TYPES, File, UploadState
from meet_files.settings import MEDIA_URL

MAX_LENGTH = 255

FileType = Literal["background_image"]
Text255 = Annotated[str, msgspec.Meta(max_length=MAX_LENGTH)]


class FileCreateBody(msgspec.Struct, kw_only=True):
    """``POST files/``: ``title`` defaults to the filename without its extension."""

    type: FileType
    filename: Text255
    id: uuid.UUID | None = None
    title: Text255 | None = None
    description: str | None = None


class FileBody(msgspec.Struct, kw_only=True):
    """``PUT files/{id}/`` (``PATCH`` takes any subset); other keys are read-only and ignored."""

    type: FileType
    title: Text255 | None = None
    description: str | None = None


class FilePatchBody(msgspec.Struct, kw_only=True):
    type: FileType | None = None
    title: Text255 | None = None
    description: str | None = None


def _iso(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _text(
    data: dict[str, Any],
    name: str,
    errors: dict[str, list[str]],
    *,
    required: bool,
    allow_blank: bool,
    max_length: int | None = MAX_LENGTH,
) -> str | None:
    """A DRF ``CharField``: trimmed; the old messages for a missing, blank, long or non-text value."""
    if name not in data:
        if required:
            errors[name] = ["This field is required."]
        return None
    value = data[name]
    if value is None:
        errors[name] = ["This field may not be null."]
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors[name] = ["Not a valid string."]
        return None
    text = str(value).strip()
    if "\x00" in text:
        errors[name] = ["Null characters are not allowed."]
        return None
    if not text and not allow_blank:
        errors[name] = ["This field may not be blank."]
        return None
    if max_length is not None and len(text) > max_length:
        errors[name] = [f"Ensure this field has no more than {max_length} characters."]
        return None
    return text


def _type(data: dict[str, Any], errors: dict[str, list[str]], *, required: bool) -> str | None:
    if "type" not in data:
        if required:
            errors["type"] = ["This field is required."]
        return None
    value = data["type"]
    if not isinstance(value, str) or value not in FILE_TYPES:
        errors["type"] = [f'"{value}" is not a valid choice.']
        return None
    return value


def validate_create(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of a new file, or 400 with every field error."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"type": _type(data, errors, required=True)}
    values["filename"] = _text(data, "filename", errors, required=True, allow_blank=False)
    values["title"] = _text(data, "title", errors, required=False, allow_blank=True)
    values["description"] = _text(
        data, "description", errors, required=False, allow_blank=True, max_length=None
    )
    if data.get("id") is not None:
        try:
            values["id"] = uuid.UUID(str(data["id"]))
        except ValueError:
            errors["id"] = ["Must be a valid UUID."]
    if errors:
        raise FieldErrors(errors)
    if not values["title"]:
        values["title"] = os.path.splitext(values["filename"])[0] or values["filename"]
    return values


def validate_update(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The writable fields given (``title``, ``type``, ``description``); PUT requires ``type``."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"type": _type(data, errors, required=not partial)}
    values["title"] = _text(data, "title", errors, required=False, allow_blank=False)
    values["description"] = _text(
        data, "description", errors, required=False, allow_blank=True, max_length=None
    )
    if errors:
        raise FieldErrors(errors)
    return {key: value for key, value in values.items() if key in data}


def abilities(file: File, user: User) -> dict[str, bool]:
    """What the caller may do with the file (api.md §3.5)."""
    creator = file.creator_id == user.id
    alive = file.deleted_at is None
    return {
        "destroy": creator and alive,
        "hard_delete": creator,
        "media_auth": creator and alive,
        "partial_update": creator and alive,
        "retrieve": creator,
        "update": creator and alive,
        "upload_ended": creator and alive,
    }


def file_key(folder: str, file: File) -> str:
    """``<folder>/<id><.ext as uploaded>`` (the final or the temporary key)."""
    return f"{folder}/{file.id}{file.extension}"


def file_json(
    file: File, user: User, *, creator: User | None, media_base_url: str, upload_path: str
) -> dict[str, Any]:
    """The file object of api.md §2.10 (``url`` only once the upload is ready)."""
    url = None
    if file.upload_state == UploadState.READY:
        url = f"{media_base_url}{MEDIA_URL}{quote(file_key(upload_path, file))}"
    return {
        "id": str(file.id),
        "created_at": _iso(file.created_at),
        "updated_at": _iso(file.updated_at),
        "title": file.title,
        "type": file.type,
        "creator": None
        if creator is None
        else {"id": str(creator.id), "full_name": creator.full_name, "short_name": creator.short_name},
        "deleted_at": _iso(file.deleted_at),
        "hard_deleted_at": _iso(file.hard_deleted_at),
        "filename": file.filename,
        "upload_state": file.upload_state,
        "mimetype": file.mimetype,
        "size": file.size,
        "description": file.description,
        "url": url,
        "abilities": abilities(file, user),
    }
