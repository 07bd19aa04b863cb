"""Every name this plugin takes from ``meet_core``, in one place (tests use ``meet_core.testing``).

Only this module imports ``meet_core``: when the core publishes its plugin API, this is the
one file to point at it.
"""

from meet_core.app import database_config, load_settings
from meet_core.db import Base
from meet_core.db.request_session import request_db_session
from meet_core.http import API_PREFIX
from meet_core.http.body import read_json_object
from meet_core.http.errors import ApiError, FieldErrors
from meet_core.plugins import hookimpl
from meet_core.rooms.models import Room
from meet_core.settings import Settings
from meet_core.state import livekit_api, settings
from meet_core.throttle import parse_rate, throttle

__all__ = [
    "API_PREFIX",
    "ApiError",
    "Base",
    "FieldErrors",
    "Room",
    "Settings",
    "database_config",
    "hookimpl",
    "livekit_api",
    "load_settings",
    "parse_rate",
    "read_json_object",
    "request_db_session",
    "settings",
    "throttle",
]
