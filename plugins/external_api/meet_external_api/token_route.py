"""``POST /external-api/v1.0/application/token/``: client credentials for a delegated user's JWT.

services.md §8.2. Order: throttle per address (429) -> ``APPLICATION_ENABLED`` (404) -> body
(415, 400 field errors) -> throttle per client id -> credentials (401, the same answer for an
unknown client and a wrong secret, both costing one argon2 verification) -> inactive (401,
only after a correct secret) -> e-mail (400) -> domain (403) -> user (404, 409) -> 200.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl

from email_validator import EmailNotValidError, validate_email
from litestar import Request, post
from litestar.di import NamedDependency
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import (
    ApiError,
    FieldErrors,
    Throttle,
    User,
    client_ip,
    count_hit,
    error_responses,
    header,
    read_json_object,
)
from meet_core.api import settings as app_settings
from meet_external_api.applications import (
    by_client_id,
    domains_of,
    email_domain_allowed,
    verify_secret_in_thread,
)
from meet_external_api.settings import PLUGIN_NAME, ExternalApiSettings
from meet_external_api.tokens import application_token

EXTERNAL_PREFIX = "/external-api/v1.0"
FIELDS = ("client_id", "client_secret", "grant_type", "scope")
INVALID_CREDENTIALS = "Invalid credentials"
EMAIL_MAX_LENGTH = 254


def external_settings(request: Request[Any, Any, Any]) -> ExternalApiSettings:
    return app_settings(request).section(PLUGIN_NAME, ExternalApiSettings)


def _error(status: int, message: str) -> ApiError:
    return ApiError(status, {"error": message})


async def read_token_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The body as JSON or form-urlencoded (multipart and the rest: 415); 400 when malformed."""
    content_type = header(request, b"content-type") or ""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, {"detail": "Form body is not valid UTF-8."}) from exc
        # Django's QueryDict: the last value of a repeated key wins.
        return dict(parse_qsl(text, keep_blank_values=True))
    if media and media != "application/json" and not media.endswith("+json"):
        raise ApiError(415, {"detail": f'Unsupported media type "{content_type}" in request.'})
    return await read_json_object(request)


def _char_field(body: dict[str, Any], name: str) -> tuple[str | None, str | None]:
    """DRF ``CharField``: trimmed text, required, not blank, no NUL; (value, error)."""
    if name not in body:
        return None, "This field is required."
    value = body[name]
    if value is None:
        return None, "This field may not be null."
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, "Not a valid string."
    text = str(value).strip()
    if not text:
        return None, "This field may not be blank."
    if "\x00" in text:
        return None, "Null characters are not allowed."
    return text, None


def validate_token_body(body: dict[str, Any]) -> dict[str, str]:
    """The four fields, or every field error at once (400)."""
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name in FIELDS:
        value, error = _char_field(body, name)
        if error:
            errors[name] = [error]
        else:
            assert value is not None
            values[name] = value
    if "grant_type" in values and values["grant_type"] != "client_credentials":
        errors["grant_type"] = [f'"{values["grant_type"]}" is not a valid choice.']
    if errors:
        raise FieldErrors(errors)
    return values


def _valid_email(text: str) -> bool:
    if len(text) > EMAIL_MAX_LENGTH:
        return False
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


async def delegated_user(
    request: Request[Any, Any, Any], db_session: AsyncSession, email: str, config: ExternalApiSettings
) -> User:
    """The user of ``email`` (case-insensitive), created provisional only when allowed (§9.3)."""
    query = select(User).where(func.lower(User.email) == email.lower()).limit(2)
    found = list((await db_session.execute(query)).scalars())
    if len(found) > 1:
        raise _error(400, "Several accounts share this email address.")
    if found:
        return found[0]
    core = app_settings(request).core
    if not (
        config.application_allow_user_creation
        and core.oidc_fallback_to_email_for_identification
        and not core.oidc_user_sub_field_immutable
    ):
        raise ApiError(404, {"detail": "User not found."})
    user = User(sub=None, email=email, language=core.language_code, timezone=core.time_zone)
    try:
        async with db_session.begin_nested():
            db_session.add(user)
    except IntegrityError as exc:
        raise _error(409, "Failed to create or retrieve provisional user.") from exc
    return user


def _bucket(client_id: str) -> str:
    """A bounded, printable throttle key for any client id a caller sends."""
    return hashlib.sha256(client_id.encode()).hexdigest()[:32]


@post(
    f"{EXTERNAL_PREFIX}/application/token",
    status_code=200,
    tags=["external-api"],
    summary="Exchange an application's credentials for a token acting for one user",
    responses=error_responses(400, 401, 403, 404, 409, 415, 429),
)
async def application_token_view(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> dict[str, Any]:
    """``{"access_token", "token_type", "expires_in", "scope"}`` for the user whose e-mail is ``scope``."""
    config = external_settings(request)
    rate = config.external_api_token_throttle_rates
    await count_hit(request, Throttle("external_api_token", client_ip(request), rate))
    if not config.application_enabled:
        raise ApiError(404, {"detail": "Not found."})
    fields = validate_token_body(await read_token_body(request))
    await count_hit(request, Throttle("external_api_token_client", _bucket(fields["client_id"]), rate))

    application = await by_client_id(db_session, fields["client_id"])
    hashed = application.client_secret if application is not None else None
    if not await verify_secret_in_thread(hashed, fields["client_secret"]) or application is None:
        raise ApiError(401, {"detail": INVALID_CREDENTIALS})
    if not application.is_active:
        raise ApiError(401, {"detail": "Application is inactive"})

    email = fields["scope"]
    if not _valid_email(email):
        raise _error(400, "Scope should be a valid email address.")
    domains = (await domains_of(db_session, [application.id])).get(application.id, [])
    if not email_domain_allowed(email, domains):
        raise _error(403, "This application is not authorized for this email domain.")
    user = await delegated_user(request, db_session, email, config)
    if not user.is_active:
        raise _error(403, "User account is disabled.")

    scopes = list(application.scopes)
    answer: dict[str, Any] = {
        "access_token": application_token(config, user.id, application.client_id, scopes),
        "token_type": config.application_jwt_token_type,
        "expires_in": config.application_jwt_expiration_seconds,
    }
    if scopes:
        answer["scope"] = " ".join(scopes)
    return answer
