"""Third step of the rooms authentication chain: OIDC token introspection (RFC 7662, services.md §8.3).

The old system's django-lasuite ``ResourceServerAuthentication``, plain-JSON responses only
(the encrypted/signed JWT response variant is not supported, docs/compatibility.md). The token is
posted to ``OIDC_OP_INTROSPECTION_ENDPOINT`` with HTTP Basic client authentication; a token the
provider does not vouch for (inactive, without one of ``OIDC_RS_SCOPES`` or without the audience
claim) is a 400, as the old ``SuspiciousOperation``. An unreachable or failing provider is a
503/502 JSON answer, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from typing import Any

import httpx
from litestar import Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import ApiError, User
from meet_core.api import settings as app_settings
from meet_external_api.auth import normalized_scopes
from meet_external_api.settings import ExternalApiSettings

logger = logging.getLogger(__name__)

UNREACHABLE = "The identity provider could not be reached to introspect the token."
BAD_ANSWER = "The identity provider gave an invalid introspection answer."
#: Length of ``meet_user.sub``.
SUB_MAX_LENGTH = 255


def suspicious(message: str) -> ApiError:
    return ApiError(400, {"detail": message})


def decoded_bearer(token: str) -> str:
    """The bearer value, base64-decoded when it decodes to text (as the old authenticator)."""
    with contextlib.suppress(binascii.Error, ValueError):
        return base64.b64decode(token, validate=True).decode("utf-8")
    return token


def scopes_of(raw: Any, prefix: str | None) -> set[str]:
    """``scope`` (string or list), lower-cased, de-duplicated, ``<prefix>:`` stripped (§8.4)."""
    scopes = normalized_scopes(raw)
    if not prefix:
        return scopes
    lead = f"{prefix.lower()}:"
    return {scope.removeprefix(lead) for scope in scopes}


async def introspect(
    request: Request[Any, Any, Any], token: str, config: ExternalApiSettings
) -> dict[str, Any]:
    """The provider's verdict on ``token``, checked for ``active``, a scope and the audience claim."""
    core = app_settings(request).core
    assert config.oidc_op_introspection_endpoint and config.oidc_rs_client_secret
    try:
        async with httpx.AsyncClient(
            timeout=core.oidc_timeout, verify=core.oidc_verify_ssl, proxy=core.oidc_proxy or None
        ) as client:
            response = await client.post(
                config.oidc_op_introspection_endpoint,
                data={"token": token},
                auth=(config.oidc_rs_client_id, config.oidc_rs_client_secret),
                headers={"Accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        logger.warning("token introspection failed: %s", exc)
        raise ApiError(503, {"detail": UNREACHABLE}) from exc
    if response.status_code != 200:
        logger.warning("token introspection answered %s", response.status_code)
        raise ApiError(502, {"detail": BAD_ANSWER})
    try:
        verdict = response.json()
    except ValueError as exc:
        raise ApiError(502, {"detail": BAD_ANSWER}) from exc
    if not isinstance(verdict, dict):
        raise ApiError(502, {"detail": BAD_ANSWER})
    if verdict.get("active") is not True:
        raise suspicious("The token is not active.")
    wanted = {scope.lower() for scope in config.oidc_rs_scopes}
    if not wanted & scopes_of(verdict.get("scope"), None):
        raise suspicious("The token has none of the required scopes.")
    if not verdict.get(config.oidc_rs_audience_claim):
        raise suspicious("The token has no audience claim.")
    return verdict


async def user_by_sub(
    request: Request[Any, Any, Any], db_session: AsyncSession, verdict: dict[str, Any]
) -> User | None:
    """The user of the token's ``sub``, created with only ``sub`` when ``OIDC_CREATE_USER``."""
    sub = verdict.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > SUB_MAX_LENGTH:
        raise suspicious("The token has no subject.")
    query = select(User).where(User.sub == sub)
    user = (await db_session.execute(query)).scalar_one_or_none()
    core = app_settings(request).core
    if user is not None or not core.oidc_create_user:
        return user
    user = User(sub=sub, language=core.language_code, timezone=core.time_zone)
    try:
        async with db_session.begin_nested():
            db_session.add(user)
    except IntegrityError:
        # Another request created it first: use that one.
        return (await db_session.execute(query)).scalar_one_or_none()
    return user
