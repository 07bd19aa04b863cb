"""Per-application objects of the plugin, reached from a request: its settings and its bucket."""

from __future__ import annotations

from typing import Any

from litestar import Request

from meet_core.api import settings
from meet_files.settings import PLUGIN_NAME, FilesSettings
from meet_files.storage import Storage

_STORAGE = "meet_files_storage"


def config_of(request: Request[Any, Any, Any]) -> FilesSettings:
    return settings(request).section(PLUGIN_NAME, FilesSettings)


def storage_of(request: Request[Any, Any, Any]) -> Storage:
    """The application's :class:`Storage` (one boto3 client per application, made on first use)."""
    state = request.app.state
    storage: Storage | None = state.get(_STORAGE)
    if storage is None:
        storage = Storage(settings(request))
        state[_STORAGE] = storage
    return storage
