"""Who calls ``/external-api/v1.0/rooms/``: the authentication chain and the scopes (services.md §8.3-8.4).

In order: an application token (when ``APPLICATION_ENABLED``), then an add-ons token (when
``ADDONS_ENABLED``), then OIDC token introspection (when ``OIDC_OP_INTROSPECTION_ENDPOINT``,
meet_external_api.introspection). Each failure is a 401 with ``WWW-Authenticate: Bearer``, but
a token the provider does not vouch for is a 400 (as the old system). Every request reads the
application and the user again, so a deactivated application or an inactive user stops its
tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import ApiError, User, header, parse_uuid, permission_denied
from meet_external_api.applications import by_client_id
from meet_external_api.settings import ExternalApiSettings
from meet_external_api.tokens import NotOurs, Refused, decode

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}
NO_CREDENTIALS = "Authentication credentials were not provided."


@dataclass
class Caller:
    """An authenticated caller: the delegated user, the token's claims, which authenticator."""

    user: User
    claims: dict[str, Any]
    source: str
    scopes: set[str] = field(default_factory=set)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, {"detail": message}, dict(CHALLENGE))


def normalized_scopes(raw: Any) -> set[str]:
    """``scope`` as a space-separated string or a list, lower-cased and de-duplicated."""
    if isinstance(raw, str):
        items = raw.split()
    elif isinstance(raw, list):
        items = [item for item in raw if isinstance(item, str)]
    else:
        return set()
    return {item.strip().lower() for item in items if item.strip()}


async def _user(db_session: AsyncSession, claims: dict[str, Any]) -> User:
    raw = claims.get("user_id")
    user_id = parse_uuid(raw) if isinstance(raw, str) else None
    if user_id is None:
        raise unauthorized("Invalid token claims.")
    user = await db_session.get(User, user_id)
    if user is None:
        raise unauthorized("User not found.")
    if not user.is_active:
        raise unauthorized("User account is disabled.")
    return user


async def _application_caller(db_session: AsyncSession, claims: dict[str, Any]) -> Caller:
    client_id = claims.get("client_id")
    if not isinstance(client_id, str) or not client_id or "user_id" not in claims:
        raise unauthorized("Invalid token claims.")
    application = await by_client_id(db_session, client_id)
    if application is None:
        raise unauthorized("Application not found.")
    if not application.is_active:
        raise unauthorized("Application is disabled.")
    if claims.get("delegated") is not True:
        raise unauthorized("Invalid token type.")
    user = await _user(db_session, claims)
    # The application's scopes now bound the token's: removing a scope takes effect at once.
    scopes = normalized_scopes(claims.get("scope")) & {s.lower() for s in application.scopes}
    return Caller(user, claims, "application", scopes)


async def authenticate(
    request: Request[Any, Any, Any], db_session: AsyncSession, config: ExternalApiSettings
) -> Caller:
    """The caller of a rooms request, or a 401."""
    raw = header(request, b"authorization")
    if not raw:
        raise unauthorized(NO_CREDENTIALS)
    parts = raw.split()
    if not parts or parts[0].lower() != "bearer":
        raise unauthorized(NO_CREDENTIALS)
    if len(parts) != 2:
        raise unauthorized("Invalid token header.")
    token = parts[1]
    try:
        if config.application_enabled:
            assert config.application_jwt_secret_key
            try:
                claims = decode(
                    token,
                    config.application_jwt_secret_key,
                    config.application_jwt_alg,
                    config.application_jwt_issuer,
                    config.application_jwt_audience,
                )
            except NotOurs:
                pass
            else:
                return await _application_caller(db_session, claims)
        if config.addons_enabled:
            assert config.addons_token_secret_key
            try:
                claims = decode(
                    token,
                    config.addons_token_secret_key,
                    config.addons_token_alg,
                    config.addons_token_issuer,
                    config.addons_token_audience,
                )
            except NotOurs:
                pass
            else:
                user = await _user(db_session, claims)
                return Caller(user, claims, "addons", normalized_scopes(claims.get("scope")))
    except Refused as exc:
        raise unauthorized(str(exc)) from exc
    if config.oidc_op_introspection_endpoint:
        return await _introspected_caller(request, db_session, config, token)
    raise unauthorized("Invalid token.")


async def _introspected_caller(
    request: Request[Any, Any, Any], db_session: AsyncSession, config: ExternalApiSettings, token: str
) -> Caller:
    """Ask the identity provider about an opaque (or foreign) token: the chain's third step."""
    from meet_external_api.introspection import decoded_bearer, introspect, scopes_of, user_by_sub

    verdict = await introspect(request, decoded_bearer(token), config)
    user = await user_by_sub(request, db_session, verdict)
    if user is None:
        raise unauthorized("User not found.")
    if not user.is_active:
        raise unauthorized("User account is disabled.")
    scopes = scopes_of(verdict.get("scope"), config.oidc_rs_scopes_prefix)
    return Caller(user, verdict, "introspection", scopes)


def require_scope(caller: Caller, scope: str) -> None:
    """403 unless the token carries ``scope`` (services.md §8.4)."""
    if not caller.scopes:
        raise permission_denied("Insufficient permissions.")
    if scope not in caller.scopes:
        raise permission_denied(f"Insufficient permissions. Required scope: {scope}")
