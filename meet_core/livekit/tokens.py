"""LiveKit access-token minting (services.md §1.2/§1.3, api.md §4).

Pure functions: no settings, no request, no database. Callers resolve the identity (OIDC
``sub`` or an anonymous/lobby id), the display name (:func:`display_name`), the publish sources
(:func:`resolve_sources`) and the colour (``meet_core.livekit.color.generate_color``), then call
:func:`mint_token`. The token is the one ``livekit.api.AccessToken`` would sign (HS256,
``iss`` = API key), built faster (see "Speed" below); no crypto is written here.

Compatibility choices (for docs/compatibility.md):

* ``room_role`` without a role is emitted as JSON ``null`` inside ``attributes``, as the old
  backend did. livekit-api types ``with_attributes`` as ``dict[str, str]``, but
  ``Claims.asdict`` only drops None/"" from dataclass fields, not from inside the attributes
  dict, so a None value is serialized as ``null`` with no hack beyond a typing cast. The
  tokens are therefore claim-for-claim identical to the old ones and the frontend, which
  reads ``attributes.room_role``, sees what it always saw (LiveKit server's Go decoder turns
  the null into an empty string on the participant). A test guards this SDK behaviour.
* ``extra_attributes`` (from plugins) can add attributes but never override ``color``,
  ``room_role`` or ``is_authenticated``: a plugin must not be able to forge a role.
* An empty ``api_key``/``api_secret`` raises ``ValueError`` here, because ``AccessToken``
  would otherwise silently fall back to the ``LIVEKIT_API_KEY``/``LIVEKIT_API_SECRET``
  environment variables.

Speed (the join path mints one token per request): ``AccessToken.to_jwt`` spends more than
half of its ~170 µs in ``dataclasses.asdict`` (a deep copy of every grant). :func:`mint_token`
therefore builds the very same claims dict directly (:func:`claims_dict`: same keys, same
order, same dropping of None/"" values, same ``nbf``/``exp`` rounding) and signs it with
HS256 as ``to_jwt`` does (no hand-written crypto: PyJWT prepares the key, the standard
library's ``hmac`` signs). ``jwt.encode`` itself would prepare the key again on every call (a
PEM/DER probe, then a key-length check) and encode the claims with ``json.dumps``, so
:class:`_HS256Signer` prepares it once per secret, encodes with msgspec and joins the same
three segments ``PyJWS.encode`` joins. :func:`sign_with_access_token` keeps the SDK path; a
test checks that both give the same claims over many cases, byte for byte for ASCII text.
A logged-in caller's token is reused for the same claims for up to 30 s
(:class:`RecentTokens`): a page of rooms, or a polled room, costs no signing at all.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hmac
import json
import math
import time
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, cast

import msgspec
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode
from jwt.warnings import InsecureKeyLengthWarning
from livekit.api import AccessToken, VideoGrants

__all__ = [
    "ANONYMOUS_NAME",
    "DEFAULT_TTL",
    "PRIVILEGED_ROLES",
    "display_name",
    "is_privileged",
    "mint_token",
    "resolve_sources",
    "sign_claims",
    "sign_with_access_token",
]

#: Roles that administer a room: ``roomAdmin`` grant and always the default sources.
PRIVILEGED_ROLES: frozenset[str] = frozenset({"owner", "administrator"})

#: Display name given to anonymous participants who did not choose one.
ANONYMOUS_NAME = "Anonymous"

#: Token lifetime when none is given: the livekit-api default, as in the old backend.
DEFAULT_TTL = datetime.timedelta(hours=6)

_CORE_ATTRIBUTES = frozenset({"color", "room_role", "is_authenticated"})

_encode_json = msgspec.json.Encoder().encode


def is_privileged(role: str | None) -> bool:
    """Return whether ``role`` administers the room (owner or administrator)."""
    return role in PRIVILEGED_ROLES


def resolve_sources(
    role: str | None,
    configuration: Mapping[str, Any] | None,
    default_sources: Sequence[str],
) -> list[str]:
    """Return the track sources the participant may publish.

    Owners and administrators always get ``default_sources`` (``LIVEKIT_DEFAULT_SOURCES``),
    whatever the room configuration says, so they can never lock themselves out. Everyone
    else gets the room's ``can_publish_sources`` when present and not None, else the
    defaults. An empty list stays empty (it means "may not publish").
    """
    if not is_privileged(role) and configuration is not None:
        sources = configuration.get("can_publish_sources")
        if sources is not None:
            return list(sources)
    return list(default_sources)


def display_name(
    *,
    user_full_name: str | None,
    user_email: str | None,
    user_id: str | None,
    requested: str | None,
    is_authenticated: bool,
    can_edit: bool,
    user_admin_email: str | None = None,
) -> str:
    """Return the participant's display name (the token's ``name`` claim).

    A requested name (``?username=`` or the lobby body) is honoured when non-empty and the
    participant is anonymous or ``can_edit``
    (``AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME``). Otherwise anonymous participants
    are ``"Anonymous"`` and users fall back to full name, email, admin email, then id (the
    old ``User.__str__`` chain).
    """
    if requested and (not is_authenticated or can_edit):
        return requested
    if not is_authenticated:
        return ANONYMOUS_NAME
    return user_full_name or user_email or user_admin_email or user_id or ""


def mint_token(
    *,
    api_key: str,
    api_secret: str,
    room_name: str,
    identity: str,
    name: str,
    role: str | None,
    is_authenticated: bool,
    sources: Sequence[str],
    color: str,
    extra_attributes: Mapping[str, str] | None = None,
    ttl: datetime.timedelta | None = None,
    grants_hook: Callable[[VideoGrants], None] | None = None,
) -> str:
    """Return a signed LiveKit access token (JWT) to join ``room_name``.

    ``sources`` must already be resolved (:func:`resolve_sources`): ``canPublish`` is true
    only when it is non-empty. ``roomAdmin`` follows :func:`is_privileged`.
    ``canPublishData`` keeps the SDK default (true); hidden, recorder, agent, roomCreate,
    roomList and roomRecord are left unset. ``grants_hook`` may mutate the grants in place
    before signing (plugin hook). ``ttl`` defaults to 6 h; ``nbf`` is now and ``exp`` is
    now + ttl, in whole seconds.
    """
    if not api_key or not api_secret:
        raise ValueError("LiveKit api_key and api_secret must be non-empty")
    lifetime = DEFAULT_TTL if ttl is None else ttl
    # A logged-in caller asking again for the same token gets it again (RecentTokens); anonymous
    # callers have a fresh identity each time, and a grants hook may change anything.
    key: Hashable = None
    if is_authenticated and grants_hook is None:
        extra = tuple(extra_attributes.items()) if extra_attributes else ()
        key = (api_key, api_secret, room_name, identity, name, role, tuple(sources), color, extra, lifetime)
        recent = _recent_tokens.get(key, lifetime)
        if recent is not None:
            return recent

    grants = VideoGrants(
        room=room_name,
        room_join=True,
        room_admin=is_privileged(role),
        can_update_own_metadata=False,
        can_publish=bool(sources),
        can_publish_sources=list(sources),
        can_subscribe=True,
    )
    if grants_hook is not None:
        grants_hook(grants)

    attributes: dict[str, str | None] = {
        "color": color,
        "room_role": role,  # None -> JSON null, see the module docstring
        "is_authenticated": "true" if is_authenticated else "false",
    }
    if extra_attributes:
        attributes.update(
            (key, value) for key, value in extra_attributes.items() if key not in _CORE_ATTRIBUTES
        )

    token = sign_claims(api_key, api_secret, identity, name, grants, attributes, lifetime)
    if key is not None:
        _recent_tokens.put(key, token)
    return token


class RecentTokens:
    """A worker's tokens signed in the last seconds, handed out again for the very same inputs.

    A logged-in caller reading a page of 20 rooms, or polling a room, asks for the same tokens
    again and again: same identity, name, room, role, sources, colour and attributes; only
    ``nbf``/``exp`` would move. Signing costs more than the rest of a room's payload, so a
    token is reused while it is younger than ``min(REUSE_SECONDS, ttl / 100)``: its ``exp`` is
    then at most that much earlier than a fresh token's (30 s of a 6 h lifetime). The key is
    every input of :func:`mint_token`, so anything that changes a claim (a role, a name, a
    plugin's attribute) is a new token at once; tokens with a plugin's grants hook are never
    reused (the hook may change anything).
    """

    REUSE_SECONDS = 30.0
    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._tokens: dict[Hashable, tuple[float, str]] = {}

    def get(self, key: Hashable, ttl: datetime.timedelta) -> str | None:
        found = self._tokens.get(key)
        if found is None:
            return None
        if time.monotonic() - found[0] >= min(self.REUSE_SECONDS, ttl.total_seconds() / 100):
            return None
        return found[1]

    def put(self, key: Hashable, token: str) -> None:
        if len(self._tokens) >= self.MAX_ENTRIES:
            self._tokens.clear()
        self._tokens[key] = (time.monotonic(), token)


#: This process's recent tokens (a forked worker starts with its parent's: the same tokens).
_recent_tokens = RecentTokens()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


#: (attribute, claim key) of every VideoGrants field, in declaration order (the SDK's order).
_GRANT_FIELDS = tuple((f.name, _camel(f.name)) for f in dataclasses.fields(VideoGrants))


def claims_dict(
    api_key: str,
    identity: str,
    name: str,
    grants: VideoGrants,
    attributes: Mapping[str, Any],
    ttl: datetime.timedelta,
    now: float | None = None,
) -> dict[str, Any]:
    """The JWT claims ``AccessToken.to_jwt`` would sign for these values (None and "" dropped)."""
    if grants.room_join and (not identity or not grants.room):
        raise ValueError("identity and room must be set when joining a room")
    values = vars(grants)
    video: dict[str, Any] = {}
    for attribute, key in _GRANT_FIELDS:
        value = values[attribute]
        if value is not None and value != "":
            video[key] = list(value) if value.__class__ is list else value
    claims: dict[str, Any] = {}
    if name:
        claims["name"] = name
    claims["video"] = video
    claims["attributes"] = dict(attributes)
    moment = time.time() if now is None else now
    claims["sub"] = identity
    claims["iss"] = api_key
    claims["nbf"] = math.floor(moment)
    claims["exp"] = math.floor(moment + ttl.total_seconds())
    return claims


class _HS256Signer:
    """``jwt.encode(claims, secret, algorithm="HS256")`` with the key prepared once.

    Same header (sorted keys), same HMAC-SHA256 (PyJWT's ``HMACAlgorithm`` prepares the key;
    the one-shot ``hmac.digest`` computes what its ``sign`` computes), same base64url
    segments. The payload is compact JSON from msgspec: the bytes ``json.dumps`` gives for
    ASCII text, and the same claims once decoded for any text (msgspec writes UTF-8 where
    ``json.dumps`` writes ``\\u`` escapes).
    """

    _ALGORITHM = HMACAlgorithm(HMACAlgorithm.SHA256)
    _HEADER = base64url_encode(
        json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":"), sort_keys=True).encode()
    )

    def __init__(self, secret: str) -> None:
        self._key = self._ALGORITHM.prepare_key(secret)
        short = self._ALGORITHM.check_key_length(self._key)
        if short:  # PyJWT warns on every call; once per secret is enough.
            warnings.warn(short, InsecureKeyLengthWarning, stacklevel=3)

    def sign(self, claims: Mapping[str, Any]) -> str:
        signing_input = self._HEADER + b"." + base64url_encode(_encode_json(claims))
        signature = base64url_encode(hmac.digest(self._key, signing_input, "sha256"))
        return (signing_input + b"." + signature).decode("ascii")


@functools.lru_cache(maxsize=8)
def _signer(secret: str) -> _HS256Signer:
    return _HS256Signer(secret)


def sign_claims(
    api_key: str,
    api_secret: str,
    identity: str,
    name: str,
    grants: VideoGrants,
    attributes: Mapping[str, Any],
    ttl: datetime.timedelta,
) -> str:
    """The token ``sign_with_access_token`` would return for these values, byte for byte."""
    return _signer(api_secret).sign(claims_dict(api_key, identity, name, grants, attributes, ttl))


def sign_with_access_token(
    api_key: str,
    api_secret: str,
    identity: str,
    name: str,
    grants: VideoGrants,
    attributes: Mapping[str, Any],
    ttl: datetime.timedelta,
) -> str:
    """The same token through ``livekit.api.AccessToken`` (the reference the fast path must equal)."""
    token = (
        AccessToken(api_key=api_key, api_secret=api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_grants(grants)
        .with_attributes(cast("dict[str, str]", dict(attributes)))
        .with_ttl(ttl)
    )
    return token.to_jwt()
