"""The add-ons session exchange: an add-on (Outlook...) gets a token for the user who signs in.

api.md §2.13, services.md §8.6. The add-on calls ``init/`` (a pending session, its id in the
``addonsSid`` cookie, a transit token and a CSRF token bound to the session id), opens the
sign-in page with the transit token, where the logged-in user calls ``exchange/``; meanwhile
the add-on polls ``poll/`` until it reads the token, once.

State in Valkey, each transition one Lua script so that concurrent calls cannot both win:
the session ``addons_<sid prefix>_<sid>`` (``pending`` -> ``authenticated``, deleted by the
poll that reads it) and the transit ``addons_<transit prefix>_<t>`` (``pending`` ->
``consumed``; redeemed twice, it is deleted with its session).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency

from meet_core.api import (
    API_PREFIX,
    ApiError,
    Script,
    Throttle,
    User,
    client_ip,
    cookie,
    count_hit,
    error_responses,
    header,
    pipelined_valkey,
    read_json_object,
)
from meet_external_api.settings import ExternalApiSettings
from meet_external_api.token_route import external_settings
from meet_external_api.tokens import addons_token

SESSIONS = f"{API_PREFIX}/addons/sessions"
SESSION_NOT_FOUND = "Session not found."
INVALID_SESSION = "Invalid or expired session."
INVALID_TRANSIT = "Invalid or expired transit token."

#: KEYS[1] the transit; ARGV[1] the session key prefix. Redeem once: pending -> consumed.
CONSUME_TRANSIT = Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local ok, data = pcall(cjson.decode, raw)
if not ok or type(data) ~= 'table' or type(data['session_id']) ~= 'string' then
  redis.call('DEL', KEYS[1])
  return false
end
if data['state'] ~= 'pending' then
  redis.call('DEL', KEYS[1], ARGV[1] .. data['session_id'])
  return false
end
data['state'] = 'consumed'
redis.call('SET', KEYS[1], cjson.encode(data), 'KEEPTTL')
return data['session_id']
""")

#: KEYS[1] the session; ARGV: transit token, now, the authenticated session. pending -> authenticated.
AUTHENTICATE = Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return 'missing' end
local ok, data = pcall(cjson.decode, raw)
if not ok or type(data) ~= 'table' or data['state'] ~= 'pending' or data['transit_token'] ~= ARGV[1]
   or tonumber(data['expires_at']) == nil or tonumber(data['expires_at']) < tonumber(ARGV[2]) then
  return 'invalid'
end
redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
return 'ok'
""")

#: KEYS[1] the session: its value, deleted when it holds the token (read once).
READ_ONCE = Script.of("""
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local ok, data = pcall(cjson.decode, raw)
if ok and type(data) == 'table' and data['state'] == 'authenticated' then
  redis.call('DEL', KEYS[1])
end
return raw
""")


def _session_key(config: ExternalApiSettings, sid: str = "") -> str:
    return f"addons_{config.addons_cache_prefix_session}_{sid}"


def _transit_key(config: ExternalApiSettings, transit: str) -> str:
    return f"addons_{config.addons_cache_prefix_transit}_{transit}"


def csrf_token(config: ExternalApiSettings, sid: str) -> str:
    """Hex HMAC-SHA256 of the session id under ``ADDONS_CSRF_SECRET``."""
    assert config.addons_csrf_secret
    return hmac.new(config.addons_csrf_secret.encode(), sid.encode(), hashlib.sha256).hexdigest()


def _detail(status: int, message: str) -> ApiError:
    return ApiError(status, {"detail": message})


async def _enabled(request: Request[Any, Any, Any]) -> ExternalApiSettings:
    """The settings, after the address's throttle and the ``ADDONS_ENABLED`` flag (404)."""
    config = external_settings(request)
    await count_hit(request, Throttle("addons_sessions", client_ip(request), config.addons_throttle_rates))
    if not config.addons_enabled:
        raise _detail(404, "Not found.")
    return config


def _session_cookie(config: ExternalApiSettings, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=config.addons_session_id_cookie,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=True,
        samesite="none",
    )


@post(
    f"{SESSIONS}/init",
    status_code=201,
    tags=["addons"],
    summary="Start an add-on sign-in: a pending session, its transit and CSRF tokens",
    responses=error_responses(404, 429),
)
async def init_session(request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
    config = await _enabled(request)
    size = config.addons_random_token_byte_length
    sid, transit = secrets.token_urlsafe(size), secrets.token_urlsafe(size)
    session = {
        "state": "pending",
        "expires_at": time.time() + config.addons_session_ttl,
        "transit_token": transit,
    }
    valkey = pipelined_valkey(request)
    await valkey.execute(
        "SET", _session_key(config, sid), json.dumps(session), "EX", config.addons_session_ttl
    )
    transit_data = {"session_id": sid, "state": "pending"}
    await valkey.execute(
        "SET", _transit_key(config, transit), json.dumps(transit_data), "EX", config.addons_transit_token_ttl
    )
    return Response(
        {"transit_token": transit, "csrf_token": csrf_token(config, sid)},
        status_code=201,
        cookies=[_session_cookie(config, sid, config.addons_session_ttl)],
    )


def _decode(raw: Any) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@get(
    f"{SESSIONS}/poll",
    tags=["addons"],
    summary="The add-on's session: 202 while pending, then its token once",
    responses=error_responses(400, 401, 404, 429),
)
async def poll_session(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    config = await _enabled(request)
    sid = cookie(request, config.addons_session_id_cookie)
    if not sid:
        raise _detail(401, "Missing credentials.")
    token = header(request, b"x-csrftoken")
    if not token:
        raise _detail(400, "Missing CSRF token.")
    if not hmac.compare_digest(token.encode(), csrf_token(config, sid).encode()):
        raise _detail(400, "Invalid CSRF token.")
    raw = await pipelined_valkey(request).run_script(READ_ONCE, [_session_key(config, sid)], [])
    if raw is None:
        raise _detail(404, SESSION_NOT_FOUND)
    data = _decode(raw)
    expires_at = data.get("expires_at") if data is not None else None
    if data is None or not isinstance(expires_at, int | float) or expires_at < time.time():
        raise _detail(400, INVALID_SESSION)
    if data.get("state") == "pending":
        return Response({"state": "pending"}, status_code=202)
    if data.get("state") != "authenticated" or not isinstance(data.get("access_token"), str):
        raise _detail(400, INVALID_SESSION)
    answer = {
        "state": "authenticated",
        "access_token": data["access_token"],
        "token_type": config.addons_token_type,
        "expires_in": config.addons_token_ttl,
        "scope": config.addons_token_scope,
    }
    return Response(answer, status_code=200, cookies=[_session_cookie(config, "", 0)])


@post(
    f"{SESSIONS}/exchange",
    status_code=200,
    tags=["addons"],
    summary="The logged-in user redeems a transit token: the add-on's session gets a token",
    responses=error_responses(400, 401, 403, 404, 429),
)
async def exchange_session(
    request: Request[Any, Any, Any], current_user: NamedDependency[User]
) -> dict[str, str]:
    """Session authentication (401, CSRF 403) comes before the flag, as in the old system."""
    config = await _enabled(request)
    transit = (await read_json_object(request)).get("transit_token")
    if not isinstance(transit, str) or not transit.strip():
        raise _detail(400, "Missing transit_token.")
    valkey = pipelined_valkey(request)
    sid = await valkey.run_script(CONSUME_TRANSIT, [_transit_key(config, transit)], [_session_key(config)])
    if sid is None:
        raise _detail(400, INVALID_TRANSIT)
    session_key = _session_key(config, sid.decode() if isinstance(sid, bytes) else str(sid))
    authenticated = {
        "state": "authenticated",
        "expires_at": time.time() + config.addons_session_ttl,
        "access_token": addons_token(config, current_user.id),
    }
    outcome = await valkey.run_script(
        AUTHENTICATE, [session_key], [transit, repr(time.time()), json.dumps(authenticated)]
    )
    if outcome == b"missing":
        raise _detail(404, SESSION_NOT_FOUND)
    if outcome != b"ok":
        raise _detail(400, INVALID_SESSION)
    return {"status": "ok"}


ROUTES = [init_session, poll_session, exchange_session]
