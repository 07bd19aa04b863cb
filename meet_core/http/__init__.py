"""HTTP conventions shared by every endpoint: error shapes, JSON bodies, routes paths."""

API_PREFIX = "/api/v1.0"
