"""HTTP conventions shared by every endpoint: error shapes, JSON bodies, routes paths."""

#: The path prefix of every API route (the old system's).
API_PREFIX = "/api/v1.0"
