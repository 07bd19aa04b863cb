"""The ``files`` settings section: the old system's variable names and defaults (api.md §6).

Storage (``AWS_*``, ``MEDIA_BASE_URL``) is the core's section, shared with other media plugins.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

#: The plugin's short name: entry point, settings section, ``MEET_PLUGINS``.
PLUGIN_NAME = "files"

#: The old system's path prefix of media URLs (a constant there too).
MEDIA_URL = "/media/"


class Restrictions(msgspec.Struct, kw_only=True):
    """Limits of one file type (``FILE_UPLOAD_RESTRICTIONS``' values; also the ``/config/`` keys)."""

    max_count_by_user: Annotated[int, msgspec.Meta(ge=0)] = 10
    max_size: Annotated[int, msgspec.Meta(ge=0)] = 2097152
    allowed_extensions: list[str] = msgspec.field(default_factory=lambda: [".jpeg", ".jpg", ".png"])
    allowed_mimetypes: list[str] = msgspec.field(default_factory=lambda: ["image/jpeg", "image/png"])


def _default_restrictions() -> dict[str, Restrictions]:
    return {"background_image": Restrictions()}


class FilesSettings(msgspec.Struct, kw_only=True, rename="upper"):
    """Field ``foo`` is read from ``FOO`` (or ``DJANGO_FOO``, ``FOO_FILE``)."""

    #: Enforce the extension, count, size and type limits of ``FILE_UPLOAD_RESTRICTIONS``.
    file_upload_apply_restrictions: bool = True
    #: JSON: file type -> limits (missing keys take the defaults).
    file_upload_restrictions: dict[str, Restrictions] = msgspec.field(default_factory=_default_restrictions)
    #: Folder of analysed files in the bucket.
    file_upload_path: str = "files"
    #: Folder the browser uploads to, before analysis (must differ from ``FILE_UPLOAD_PATH``).
    file_upload_tmp_path: str = "tmp/files"
    #: Days a soft-deleted file is kept before ``meet files purge-deleted`` removes it.
    file_purge_grace_days: Annotated[int, msgspec.Meta(ge=0)] = 7

    def __post_init__(self) -> None:
        self.file_upload_path = self.file_upload_path.strip("/")
        self.file_upload_tmp_path = self.file_upload_tmp_path.strip("/")
        if not self.file_upload_path or not self.file_upload_tmp_path:
            raise ValueError("FILE_UPLOAD_PATH and FILE_UPLOAD_TMP_PATH must not be empty")
        if self.file_upload_path == self.file_upload_tmp_path:
            raise ValueError("FILE_UPLOAD_TMP_PATH must differ from FILE_UPLOAD_PATH")
        for limits in self.file_upload_restrictions.values():
            limits.allowed_extensions = [e.lower() for e in limits.allowed_extensions]

    def restrictions(self, file_type: str) -> Restrictions:
        """The limits of ``file_type`` (the defaults when the setting does not name it)."""
        return self.file_upload_restrictions.get(file_type) or Restrictions()

    def frontend_fragment(self) -> dict[str, Any]:
        """``background_image`` of ``/config/`` (api.md §5)."""
        return {"upload_is_enabled": True, **msgspec.structs.asdict(self.restrictions("background_image"))}
