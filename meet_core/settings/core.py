"""The core's settings section: the old system's variable names and defaults (spec/api.md §6)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import msgspec

from meet_core.valkey_sentinel import is_sentinel_url, parse_sentinel_url

AccessLevel = Literal["public", "trusted", "restricted"]

DEFAULT_SOURCES = ["camera", "microphone", "screen_share", "screen_share_audio"]
LANGUAGES = ["en-us", "fr-fr", "nl-nl", "de-de"]


class CoreSettings(msgspec.Struct, kw_only=True, rename="upper"):
    """Settings of the core. Field ``foo`` is read from ``FOO`` (or ``DJANGO_FOO``, ``FOO_FILE``)."""

    # --- plugins -------------------------------------------------------------------------
    # Names replace the default set; ``+name`` / ``-name`` add to / remove from it. A plugin's
    # own legacy flag (``ROOM_SUBTITLE_ENABLED``...) is its class's ``enabled_by``, not a field.
    meet_plugins: list[str] | None = None

    # --- server and storage --------------------------------------------------------------
    meet_data_dir: str = "data"
    # A built frontend (its dist/ folder) served at / beside the API, with the SPA fallback to
    # index.html (meet_core/http/frontend.py); unset: the API only. `meet serve --frontend DIR`.
    meet_frontend_dist: str | None = None
    database_url: str | None = None
    db_engine: str | None = None
    db_name: str | None = None
    db_user: str | None = None
    db_password: str | None = None
    db_host: str | None = None
    db_port: int | None = None
    db_echo: bool = False
    db_pool_size: int = 20
    # Off: a ping costs BEGIN/SELECT/ROLLBACK on every checkout; a dead connection fails one
    # request (503) and SQLAlchemy then drops the stale pool.
    db_pool_pre_ping: bool = False
    redis_url: str | None = None
    secret_key: str | None = None
    debug: bool = False
    # Hosts served (Django's ALLOWED_HOSTS: "*", "meet.example.com", ".example.com"); unset or
    # empty: any host. Others get 400 {"detail": "Invalid host header."}.
    allowed_hosts: list[str] | None = None
    # Reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For / X-Forwarded-Host
    # are believed; empty: the socket peer is the client (meet_core/http/proxies.py).
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    # Largest request body in bytes (Django's name and default): 413 beyond.
    data_upload_max_memory_size: int = 2621440
    version: str = "0.1.0"
    commit: str = ""

    # --- operations: metrics, errors, logs (docs/configuration.md, "Operations") ---------
    # Prometheus metrics at /metrics (off: no route and nothing on the request path).
    metrics_enabled: bool = False
    # A port of its own for /metrics (then not served on the API's port); None: the API's port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # Bearer token /metrics requires (401 without it); unset: no token.
    metrics_token: str | None = None
    # Sentry (the old system's setting): unhandled errors, with their route and no personal data.
    sentry_dsn: Annotated[str | None, msgspec.Meta(extra={"secret": True})] = None
    sentry_environment: str | None = None
    sentry_release: str | None = None
    # "json": one JSON object per log line, and one line per request (with its X-Request-ID).
    log_format: Literal["text", "json"] = "text"

    # --- object storage (S3 API), shared by the plugins that store media -----------------
    # The old system's names: the files plugin (background images) and recordings read them.
    aws_s3_endpoint_url: str | None = None
    aws_s3_access_key_id: str | None = None
    aws_s3_secret_access_key: str | None = None
    aws_s3_region_name: str | None = None
    #: Temporary credentials: sent as ``X-Amz-Security-Token`` (signed requests, egress uploads).
    aws_session_token: Annotated[str | None, msgspec.Meta(extra={"secret": True})] = None
    aws_storage_bucket_name: str = "meet-media-storage"
    aws_s3_signature_version: str = "s3v4"
    # Seconds a presigned upload URL handed to a browser stays valid.
    aws_s3_upload_policy_expiration: int = 60
    # Public origin put in presigned URLs instead of AWS_S3_ENDPOINT_URL's (e.g. behind a proxy).
    aws_s3_domain_replace: str | None = None
    # Prefix of media URLs given to the frontend (``<MEDIA_BASE_URL>/media/<key>``).
    media_base_url: str = ""

    # --- rooms and users -----------------------------------------------------------------
    allow_unsecure_user_listing: bool = False
    allow_unregistered_rooms: bool = True
    resource_default_access_level: AccessLevel = "public"
    authenticated_participants_can_edit_display_name: bool = True
    participant_forbidden_permission_fields: list[str] = msgspec.field(
        default_factory=lambda: ["hidden", "recorder", "agent"]
    )
    language_code: str = "en-us"
    languages: list[str] = msgspec.field(default_factory=lambda: list(LANGUAGES))
    time_zone: str = "UTC"
    room_creation_callback_cache_timeout: int = 600
    # Seconds a worker reuses a room read by GET /rooms/{key}/ (0: read the database every time).
    room_cache_ttl: float = 1.0
    # Seconds at most a worker reuses a logged-in read validated by generation stamps (0: off).
    logged_in_cache_ttl: float = 5.0
    creation_callback_throttle_rates: str = "600/minute"

    # --- LiveKit -------------------------------------------------------------------------
    livekit_api_url: str = "http://localhost:7880"
    livekit_api_key: str = "devkey"
    livekit_api_secret: str = "secret"
    livekit_verify_ssl: bool = True
    livekit_force_wss_protocol: bool = False
    livekit_enable_firefox_proxy_workaround: bool = False
    livekit_default_sources: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_SOURCES))
    livekit_webhook_events_filter_regex: str | None = None
    livekit_webhook_replay_ttl: int = 3600
    connection_test_room_prefix: str = "connection-test"

    # --- sessions, CSRF, CORS ------------------------------------------------------------
    session_cookie_name: str = "sessionid"
    session_cookie_age: int = 43200
    session_cookie_secure: bool = False
    csrf_cookie_name: str = "csrftoken"
    csrf_header_name: str = "X-CSRFToken"
    csrf_cookie_secure: bool = False
    csrf_trusted_origins: list[str] = msgspec.field(default_factory=list)
    cors_allowed_origins: list[str] = msgspec.field(default_factory=list)
    cors_allowed_origin_regexes: list[str] = msgspec.field(default_factory=list)
    cors_allow_all_origins: bool = False

    # --- OIDC login (identity) -----------------------------------------------------------
    oidc_create_user: bool = True
    oidc_verify_ssl: bool = True
    oidc_fallback_to_email_for_identification: bool = False
    oidc_user_sub_field_immutable: bool = True
    oidc_timeout: float = 5.0
    oidc_proxy: str | None = None
    oidc_rp_sign_algo: str = "RS256"
    oidc_rp_client_id: str = "meet"
    oidc_rp_client_secret: str | None = None
    oidc_op_jwks_endpoint: str | None = None
    oidc_op_authorization_endpoint: str | None = None
    oidc_op_token_endpoint: str | None = None
    oidc_op_user_endpoint: str | None = None
    oidc_op_logout_endpoint: str | None = None
    oidc_op_url: str | None = None
    oidc_auth_request_extra_params: dict[str, Any] = msgspec.field(default_factory=dict)
    oidc_rp_scopes: str = "openid email"
    oidc_use_pkce: bool = False
    oidc_pkce_code_challenge_method: str = "S256"
    oidc_pkce_code_verifier_size: int = 64
    oidc_use_nonce: bool = True
    oidc_redirect_require_https: bool = False
    oidc_redirect_allowed_hosts: list[str] = msgspec.field(default_factory=list)
    oidc_store_id_token: bool = True
    allow_logout_get_method: bool = True
    oidc_redirect_field_name: str = "returnTo"
    oidc_userinfo_fullname_fields: list[str] = msgspec.field(
        default_factory=lambda: ["given_name", "usual_name"]
    )
    oidc_userinfo_shortname_field: str = "given_name"
    oidc_userinfo_essential_claims: list[str] = msgspec.field(default_factory=list)
    oidc_op_user_endpoint_format: Literal["AUTO", "JSON", "JWT"] = "AUTO"
    oidc_token_use_basic_auth: bool = False
    login_redirect_url: str = "/"
    login_redirect_url_failure: str = "/"
    logout_redirect_url: str = "/"

    # --- email (invitations) -------------------------------------------------------------
    email_from: str = "from@example.com"
    email_brand_name: str | None = None
    email_support_email: str | None = None
    email_logo_img: str | None = None
    email_domain: str | None = None
    email_app_base_url: str | None = None
    email_host: str | None = None
    email_port: int | None = None
    email_host_user: str | None = None
    email_host_password: str | None = None
    email_use_tls: bool = False
    email_use_ssl: bool = False
    email_timeout: float = 10.0

    # --- frontend (/config/) -------------------------------------------------------------
    frontend_custom_css_url: str | None = None
    frontend_analytics: dict[str, Any] = msgspec.field(default_factory=dict)
    frontend_support: dict[str, Any] = msgspec.field(default_factory=dict)
    frontend_silence_livekit_debug: bool = False
    frontend_is_silent_login_enabled: bool = True
    frontend_idle_disconnect_warning_delay: int | None = None
    frontend_feedback: dict[str, Any] = msgspec.field(default_factory=dict)
    frontend_documentation_url: str | None = None
    frontend_external_home_url: str | None = None
    frontend_use_french_gov_footer: bool = False
    frontend_use_proconnect_button: bool = False
    frontend_manifest_link: str | None = None
    frontend_transcription_destination: str | None = None
    frontend_max_participants_for_sound: int = 5
    frontend_auto_mute_on_join_threshold: int = 50
    connection_test_enabled: bool = False
    # The connection test (POST /diagnostics/connection/): its token's lifetime, the age past
    # it at which `meet diagnostics clean` deletes the room, and its rate per user or IP.
    connection_test_token_ttl_seconds: int = 300
    connection_test_room_extra_age_seconds: int = 10
    connection_test_throttle_rates: str = "30/minute"

    def __post_init__(self) -> None:
        parse_networks(self.trusted_proxies)  # ValueError -> reported at start-up
        dist = self.meet_frontend_dist
        if dist and not os.path.isfile(os.path.join(dist, "index.html")):
            raise ValueError(f"MEET_FRONTEND_DIST: {dist} has no index.html (not a built frontend)")
        if self.connection_test_token_ttl_seconds <= 0:
            raise ValueError("CONNECTION_TEST_TOKEN_TTL_SECONDS must be a positive number of seconds")
        if self.metrics_port is not None and not 0 < self.metrics_port < 65536:
            raise ValueError("METRICS_PORT must be a TCP port (1-65535)")
        if self.data_upload_max_memory_size <= 0:
            raise ValueError("DATA_UPLOAD_MAX_MEMORY_SIZE must be a positive number of bytes")
        if self.redis_url and is_sentinel_url(self.redis_url):
            try:
                parse_sentinel_url(self.redis_url)
            except ValueError as exc:
                raise ValueError(f"REDIS_URL: {exc}") from None

    def build_database_url(self) -> str:
        """``DATABASE_URL``, else the old ``DB_*`` variables, else a SQLite file in the data folder."""
        if self.database_url:
            url = self.database_url
            for sync, async_ in (
                ("postgres://", "postgresql+asyncpg://"),
                ("postgresql://", "postgresql+asyncpg://"),
                ("sqlite:///", "sqlite+aiosqlite:///"),
            ):
                if url.startswith(sync):
                    return async_ + url[len(sync) :]
            return url
        # The old system's DB_ENGINE defaulted to PostgreSQL: DB_HOST alone means PostgreSQL.
        engine = self.db_engine or ("postgresql" if self.db_host else "")
        if "postgres" in engine:
            from urllib.parse import quote

            auth = quote(self.db_user or "", safe="")
            if self.db_password:
                auth += ":" + quote(self.db_password, safe="")
            host = self.db_host or "localhost"
            port = f":{self.db_port}" if self.db_port else ""
            return f"postgresql+asyncpg://{auth}@{host}{port}/{self.db_name or 'meet'}"
        if self.db_engine and "sqlite" in self.db_engine and self.db_name:
            return f"sqlite+aiosqlite:///{self.db_name}"
        return f"sqlite+aiosqlite:///{self.meet_data_dir}/meet.sqlite3"


def parse_networks(entries: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``["10.0.0.0/8", "192.0.2.1"]`` (``TRUSTED_PROXIES``) -> networks; ValueError names a bad entry."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or network: {exc}") from None
    return tuple(networks)
