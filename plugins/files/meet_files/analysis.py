"""What ``upload-ended`` does with the uploaded object: move it, measure it, sniff its type.

The type comes from the first bytes alone (``puremagic``, a maintained pure-Python magic
database): unlike the old system, an unknown content is never given the type of its
extension, so a blob named ``.png`` is ``application/octet-stream`` and refused.
"""

from __future__ import annotations

import logging

import msgspec

from meet_core.api import ApiError
from meet_files.models import File
from meet_files.schemas import file_key
from meet_files.settings import FilesSettings
from meet_files.storage import SNIFF_BYTES, Storage, run

log = logging.getLogger("meet_files")

UNKNOWN_TYPE = "application/octet-stream"
TOO_BIG = "The file size is higher than the allowed max size."
BAD_TYPE = "The file type is not allowed."
NOT_UPLOADED = {"file": "The file has not been uploaded."}


class FileRefused(Exception):
    """The upload breaks a limit; its objects are already deleted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Analysis(msgspec.Struct, frozen=True):
    mimetype: str
    size: int


def sniff(head: bytes) -> str:
    """The MIME type of content starting with ``head``; ``application/octet-stream`` if unknown."""
    import puremagic

    if not head:
        return UNKNOWN_TYPE
    try:
        mimetype = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        return UNKNOWN_TYPE
    return mimetype or UNKNOWN_TYPE


async def analyse_upload(storage: Storage, config: FilesSettings, file: File) -> Analysis:
    """Move the upload to its final key and check it against the type's limits.

    Raises :class:`FileRefused` (objects deleted) when a limit is broken, ``ApiError`` 400 when
    nothing was uploaded; any other error leaves the temporary object in place (the final copy
    is removed), so that the caller can put the file back to ``pending`` for another try.
    """
    temporary = file_key(config.file_upload_tmp_path, file)
    final = file_key(config.file_upload_path, file)
    if not await run(storage.exists, temporary):
        raise ApiError(400, NOT_UPLOADED)
    await run(storage.move, temporary, final)
    try:
        size = await run(storage.size, final)
        mimetype = sniff(await run(storage.head_bytes, final, SNIFF_BYTES) if size else b"")
    except Exception:
        await _forget(storage, final)
        raise
    if config.file_upload_apply_restrictions:
        limits = config.restrictions(file.type)
        message = None
        if size > limits.max_size:
            message = TOO_BIG
        elif mimetype not in limits.allowed_mimetypes:
            message = BAD_TYPE
        if message is not None:
            await _forget(storage, final, temporary)
            raise FileRefused(message)
    return Analysis(mimetype=mimetype, size=size)


async def _forget(storage: Storage, *keys: str) -> None:
    """Delete ``keys``, logging (not raising) a failure: the purge commands catch up later."""
    try:
        await run(storage.delete, *keys)
    except Exception as exc:
        log.warning("could not delete %s: %s", ", ".join(keys), exc)
