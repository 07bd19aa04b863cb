"""Identity: sessions, the current user, CSRF, LiveKit-bearer authentication and OIDC login."""
