"""The plugin API: everything a plugin may import from ``meet_core``, and nothing else.

A plugin imports from here only (its tests may import ``meet_core.testing`` too)::

    from meet_core import api

    api.require("1.0")  # at import: fails with a clear message on an incompatible core

Every other ``meet_core`` module is internal and may change in any release; ``make lint``
(import-linter) fails when an official plugin imports one. ``docs/plugin-api.md`` lists each
name with its use and the versioning policy: :data:`VERSION` is ``MAJOR.MINOR``; a minor
bump adds names or optional arguments, a major bump removes or changes one.
"""

from __future__ import annotations

from meet_core.db import Base
from meet_core.db.config import database_sessions
from meet_core.db.request_session import request_db_session
from meet_core.http import API_PREFIX
from meet_core.http.body import read_json_object
from meet_core.http.errors import ApiError, FieldErrors, not_authenticated, not_found, permission_denied
from meet_core.http.openapi import NON_BLANK, ActionError, Detail, Message, error_responses, request_body
from meet_core.http.pagination import Page, envelope, resolve_page
from meet_core.http.raw import cookie, header
from meet_core.http.responses import JSON_OBJECT, json_response
from meet_core.identity.livekit_auth import LiveKitCaller, livekit_caller
from meet_core.identity.sessions import provide_user
from meet_core.livekit.color import generate_color
from meet_core.meeting.access import (
    livekit_room_name,
    participant_room,
    privileged_room,
    read_privileged_room,
)
from meet_core.meeting.livekit_participants import LiveKitFailure, is_in_meeting
from meet_core.meeting.mail import MailError, build_message
from meet_core.meeting.mail import send as send_mail
from meet_core.pipelined_valkey import PipelinedValkey, Script
from meet_core.plugins.hookspecs import hookimpl, hookspec
from meet_core.plugins.manager import PluginError
from meet_core.plugins.types import JoinDecision
from meet_core.rooms.join import can_join_directly, livekit_config
from meet_core.rooms.lookup import (
    ROOM_NOT_FOUND,
    get_room_and_role_or_404,
    get_room_or_404,
    parse_uuid,
    require_privileged,
)
from meet_core.rooms.models import PRIVILEGED_ROLES, AccessLevel, ResourceAccess, Role, Room
from meet_core.rooms.schemas import RoomInput, validate_room_input
from meet_core.rooms.service import create_room, read_room
from meet_core.settings import Settings
from meet_core.state import hooks, livekit_api, metrics, pipelined_valkey, settings, valkey_client
from meet_core.throttle import THROTTLE_LUA, Throttle, client_ip, count_hit, parse_rate, throttled
from meet_core.users.models import User

#: The plugin API's version, ``MAJOR.MINOR`` (see :func:`require`).
VERSION = "1.2"


class ApiVersionError(ImportError):
    """The running core's plugin API does not satisfy a plugin's :func:`require`."""


def require(version: str) -> None:
    """Fail unless this core offers plugin API ``version`` (``"MAJOR.MINOR"``) or a compatible one.

    Compatible means the same major and a minor at least as high: a plugin written for
    ``1.0`` runs on ``1.3``, not on ``2.0``; one written for ``1.3`` does not run on ``1.0``.
    Call it at the top of the plugin's module, so an incompatible plugin stops start-up with
    :class:`ApiVersionError` naming both versions instead of failing later on a missing name.
    """
    try:
        wanted = tuple(int(part) for part in version.split("."))
    except ValueError:
        raise ValueError(f"meet_core.api.require: {version!r} is not MAJOR.MINOR") from None
    if len(wanted) != 2:
        raise ValueError(f"meet_core.api.require: {version!r} is not MAJOR.MINOR")
    major, minor = (int(part) for part in VERSION.split("."))
    if wanted[0] != major or wanted[1] > minor:
        raise ApiVersionError(
            f"this plugin needs the Meet plugin API {version} (same major, at least that minor); "
            f"the installed meet-core offers {VERSION}: install a meet-core (or a plugin version) "
            "that matches"
        )


__all__ = [
    "API_PREFIX",
    "JSON_OBJECT",
    "NON_BLANK",
    "PRIVILEGED_ROLES",
    "ROOM_NOT_FOUND",
    "THROTTLE_LUA",
    "VERSION",
    "AccessLevel",
    "ActionError",
    "ApiError",
    "ApiVersionError",
    "Base",
    "Detail",
    "FieldErrors",
    "JoinDecision",
    "LiveKitCaller",
    "LiveKitFailure",
    "MailError",
    "Message",
    "Page",
    "PipelinedValkey",
    "PluginError",
    "ResourceAccess",
    "Role",
    "Room",
    "RoomInput",
    "Script",
    "Settings",
    "Throttle",
    "User",
    "build_message",
    "can_join_directly",
    "client_ip",
    "cookie",
    "count_hit",
    "create_room",
    "database_sessions",
    "envelope",
    "error_responses",
    "generate_color",
    "get_room_and_role_or_404",
    "get_room_or_404",
    "header",
    "hookimpl",
    "hooks",
    "hookspec",
    "is_in_meeting",
    "json_response",
    "livekit_api",
    "livekit_caller",
    "livekit_config",
    "livekit_room_name",
    "metrics",
    "not_authenticated",
    "not_found",
    "parse_rate",
    "parse_uuid",
    "participant_room",
    "permission_denied",
    "pipelined_valkey",
    "privileged_room",
    "provide_user",
    "read_json_object",
    "read_privileged_room",
    "read_room",
    "request_body",
    "request_db_session",
    "require",
    "require_privileged",
    "resolve_page",
    "send_mail",
    "settings",
    "throttled",
    "validate_room_input",
    "valkey_client",
]
