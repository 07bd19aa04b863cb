"""The JWTs of the external API: application tokens and add-ons tokens (pyjwt).

Verification pins the one configured algorithm (so ``none`` and any other algorithm fail),
requires ``exp``, ``iat``, ``iss`` and ``aud`` and checks them, and refuses a token not yet
valid (``nbf`` or ``iat`` in the future). :func:`decode` sorts failures as the old chain did
(services.md §8.3): a token that is not ours (undecodable, another key or algorithm, another
audience) lets the next authenticator try; an expired one or one with the wrong issuer is a 401.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from meet_external_api.settings import ExternalApiSettings

REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud"]


class NotOurs(Exception):
    """The token was not signed by this authenticator: let the next one try."""


class Refused(Exception):
    """The token is ours but refused; the message is the 401's detail."""


def _encode(claims: dict[str, Any], key: str, alg: str) -> str:
    return jwt.encode(claims, key, algorithm=alg)


def application_token(
    config: ExternalApiSettings, user_id: uuid.UUID, client_id: str, scopes: list[str]
) -> str:
    """An application's token for a delegated user (services.md §8.2)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "exp": now + config.application_jwt_expiration_seconds,
        "user_id": str(user_id),
        "iss": config.application_jwt_issuer,
        "aud": config.application_jwt_audience,
        "client_id": client_id,
        "delegated": True,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    assert config.application_jwt_secret_key
    return _encode(claims, config.application_jwt_secret_key, config.application_jwt_alg)


def addons_token(config: ExternalApiSettings, user_id: uuid.UUID) -> str:
    """An add-on's token for the user who signed in (api.md §2.13)."""
    now = int(time.time())
    claims = {
        "iat": now,
        "exp": now + config.addons_token_ttl,
        "user_id": str(user_id),
        "iss": config.addons_token_issuer,
        "aud": config.addons_token_audience,
        "scope": config.addons_token_scope,
    }
    assert config.addons_token_secret_key
    return _encode(claims, config.addons_token_secret_key, config.addons_token_alg)


def decode(token: str, key: str, alg: str, issuer: str, audience: str) -> dict[str, Any]:
    """The verified claims; raises :class:`NotOurs` or :class:`Refused`."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=issuer,
            audience=audience,
            options={"require": REQUIRED_CLAIMS, "verify_signature": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Refused("Token expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise NotOurs from exc
    except (jwt.InvalidIssuerError, jwt.ImmatureSignatureError) as exc:
        raise Refused("Invalid token.") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise Refused("Invalid token claims.") from exc
    except jwt.InvalidTokenError as exc:  # bad signature, algorithm, format: not ours
        raise NotOurs from exc
    if not isinstance(claims, dict):
        raise NotOurs
    return claims
