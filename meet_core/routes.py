"""The core's route modules: each exposes ``ROUTES``, a list of Litestar route handlers."""

CORE_ROUTE_MODULES = [
    "meet_core.health",
    "meet_core.frontend_config",
    "meet_core.meeting.routes",
    "meet_core.rooms.routes",
    "meet_core.rooms.accesses",
    "meet_core.identity.routes",
    "meet_core.identity.me",
    "meet_core.users.routes",
    "meet_core.diagnostics.routes",
]
