"""The ``external_api`` settings section: the old system's names and defaults (spec/api.md §6).

Checked at start-up rather than at the first request (the old system answered 500 when a
secret was missing): with ``APPLICATION_ENABLED`` the token key must be set and at least 32
bytes, with ``ADDONS_ENABLED`` so must the add-ons token key and CSRF secret. Only HMAC
algorithms are accepted, since the keys are shared secrets.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from meet_core.api import AccessLevel, parse_rate

#: The plugin's short name: its entry point name and the key of its settings section.
PLUGIN_NAME = "external_api"

#: Scopes an application may hold (services.md §8.1); the rooms API serves the first three.
SCOPES = ("rooms:create", "rooms:list", "rooms:retrieve", "rooms:update", "rooms:delete")

#: JWT algorithms accepted for the tokens this plugin signs and verifies.
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")

MIN_KEY_BYTES = 32
MAX_CLIENT_ID_LENGTH = 100

Ttl = Annotated[int, msgspec.Meta(ge=1, le=30 * 86400)]


def _check_key(name: str, value: str | None) -> None:
    if not value:
        raise ValueError(f"{name} must be set")
    if len(value.encode()) < MIN_KEY_BYTES:
        raise ValueError(f"{name} must be at least {MIN_KEY_BYTES} bytes long")


class ExternalApiSettings(msgspec.Struct, kw_only=True, rename="upper"):
    """Field ``foo`` is read from ``FOO`` (or ``DJANGO_FOO``, ``FOO_FILE``)."""

    #: Whether applications get tokens (``POST /external-api/v1.0/application/token/``).
    application_enabled: bool = False
    #: Characters of a new client id (letters and digits).
    application_client_id_length: Annotated[int, msgspec.Meta(ge=20, le=MAX_CLIENT_ID_LENGTH)] = 40
    #: Characters of a new client secret (letters and digits).
    application_client_secret_length: Annotated[int, msgspec.Meta(ge=32, le=1024)] = 128
    #: The key the applications' tokens are signed with (HMAC, at least 32 bytes).
    application_jwt_secret_key: str | None = None
    application_jwt_alg: str = "HS256"
    application_jwt_issuer: str = "lasuite-meet"
    #: Always set and checked (the old system left it unset by default).
    application_jwt_audience: str = "meet-external-api"
    application_jwt_expiration_seconds: Ttl = 3600
    application_jwt_token_type: str = "Bearer"
    #: ``url`` of an external room is ``<APPLICATION_BASE_URL>/<slug>`` when set.
    application_base_url: str | None = None
    #: With the two OIDC settings (services.md §9.3): create unknown delegated users.
    application_allow_user_creation: bool = False
    #: Access level of a room created through the external API.
    external_api_default_access_level: str = "trusted"
    #: Whether an application may create public rooms.
    external_api_allow_public_access: bool = False
    #: Rate of token requests, per client address and per client id (new).
    external_api_token_throttle_rates: str = "60/minute"

    #: Whether the add-ons session exchange (``/api/v1.0/addons/sessions/...``) is served.
    addons_enabled: bool = False
    addons_session_ttl: Ttl = 3600
    addons_transit_token_ttl: Ttl = 120
    addons_csrf_secret: Annotated[str | None, msgspec.Meta(extra={"secret": True})] = None
    addons_cache_prefix_session: str = "sid"
    addons_cache_prefix_transit: str = "transit"
    addons_token_audience: str = "addons"
    addons_token_issuer: str = "lasuite-meet"
    addons_token_ttl: Ttl = 7200
    addons_token_alg: str = "HS256"
    addons_token_type: str = "Bearer"
    addons_token_secret_key: str | None = None
    addons_token_scope: str = "rooms:create"
    addons_random_token_byte_length: Annotated[int, msgspec.Meta(ge=16, le=256)] = 60
    addons_session_id_cookie: str = "addonsSid"
    #: Rate of ``init/`` and ``poll/`` calls per client address (new).
    addons_throttle_rates: str = "120/minute"

    #: OIDC token introspection (RFC 7662), the chain's third step: off unless set.
    oidc_op_introspection_endpoint: str | None = None
    #: HTTP Basic client credentials of the introspection request.
    oidc_rs_client_id: str = "meet"
    oidc_rs_client_secret: Annotated[str | None, msgspec.Meta(extra={"secret": True})] = None
    #: The claim of the introspection answer that must be present.
    oidc_rs_audience_claim: str = "client_id"
    #: The token must carry one of these scopes.
    oidc_rs_scopes: list[str] = msgspec.field(default_factory=lambda: ["lasuite_meet"])
    #: ``<prefix>:`` stripped from an introspected token's scopes before the rooms check.
    oidc_rs_scopes_prefix: str | None = None

    def __post_init__(self) -> None:
        parse_rate(self.external_api_token_throttle_rates)
        parse_rate(self.addons_throttle_rates)
        levels = tuple(level.value for level in AccessLevel)
        if self.external_api_default_access_level not in levels:
            raise ValueError(f"EXTERNAL_API_DEFAULT_ACCESS_LEVEL must be one of {', '.join(levels)}")
        for name, alg in (
            ("APPLICATION_JWT_ALG", self.application_jwt_alg),
            ("ADDONS_TOKEN_ALG", self.addons_token_alg),
        ):
            if alg not in HMAC_ALGORITHMS:
                raise ValueError(f"{name} must be one of {', '.join(HMAC_ALGORITHMS)}")
        if self.application_base_url:
            self.application_base_url = self.application_base_url.rstrip("/")
        if self.application_enabled:
            _check_key("APPLICATION_JWT_SECRET_KEY", self.application_jwt_secret_key)
        if self.addons_enabled:
            _check_key("ADDONS_TOKEN_SECRET_KEY", self.addons_token_secret_key)
            _check_key("ADDONS_CSRF_SECRET", self.addons_csrf_secret)
        if self.oidc_op_introspection_endpoint:
            if not self.oidc_op_introspection_endpoint.startswith(("http://", "https://")):
                raise ValueError("OIDC_OP_INTROSPECTION_ENDPOINT must be an http(s) URL")
            if not self.oidc_rs_client_secret:
                raise ValueError("OIDC_RS_CLIENT_SECRET must be set with OIDC_OP_INTROSPECTION_ENDPOINT")
            if not self.oidc_rs_scopes:
                raise ValueError("OIDC_RS_SCOPES must not be empty")

    @property
    def public_allowed(self) -> bool:
        """Public rooms are allowed explicitly, or by being the default (services.md §8.5)."""
        return self.external_api_allow_public_access or self.external_api_default_access_level == "public"
