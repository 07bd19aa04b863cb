"""OIDC login and logout for browsers (spec/api.md §2.15, spec/services.md §10).

* ``GET authenticate/?returnTo=&silent=``: remember a one-time login state (state, nonce,
  PKCE verifier, return URL, silent flag) in the pre-login session and send the browser to
  the provider.
* ``GET callback/``: consume that state, exchange the code, verify the ID token, read the
  userinfo, find or create the user, start a new session (id and CSRF secret rotate) and
  go to ``returnTo`` (or ``LOGIN_REDIRECT_URL``). Every refusal goes to
  ``LOGIN_REDIRECT_URL_FAILURE`` without a session, except during a silent login, which
  goes back to the success URL so the frontend carries on anonymously.
* ``GET|POST logout/``: end the session here at once, then visit the provider's
  end-session endpoint (with the stored ID token) when configured, else
  ``LOGOUT_REDIRECT_URL``. ``logout-callback/`` is where the provider sends the browser back.
* ``POST backchannel-logout/``: see :mod:`meet_core.identity.backchannel`.

These are browser (and provider) routes, not JSON API operations: like the old system's
Django views they stay out of the OpenAPI schema.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import Request, get, route
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Redirect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http import API_PREFIX
from meet_core.http.errors import detail, permission_denied
from meet_core.identity.backchannel import backchannel_logout, remember_login
from meet_core.identity.oidc import OidcError, new_code_verifier, new_nonce, new_state, oidc_client
from meet_core.identity.redirects import safe_return_url
from meet_core.identity.sessions import (
    SessionData,
    delete_session,
    load_session,
    login,
    save_session,
    session_cookies,
)
from meet_core.state import core_settings, valkey_client
from meet_core.users.service import LoginRefused, user_from_claims

log = logging.getLogger("meet_core.identity")

#: Login states kept per session (several tabs may log in at once); the oldest go first.
MAX_LOGIN_STATES = 10
_STATES = "oidc_states"
_TRUE = frozenset({"true", "1", "yes", "on"})


def _absolute(request: Request[Any, Any, Any], path: str) -> str:
    """This server's URL for ``path`` (the redirect URIs registered at the provider)."""
    return str(request.base_url).rstrip("/") + path


def _callback_url(request: Request[Any, Any, Any]) -> str:
    return _absolute(request, f"{API_PREFIX}/callback/")


def _redirect(url: str, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(path=url, status_code=302, cookies=cookies or [])


@get(f"{API_PREFIX}/authenticate", include_in_schema=False)
async def authenticate(request: Request[Any, Any, Any]) -> Redirect:
    """Send the browser to the provider; the login state waits in the pre-login session."""
    core = core_settings(request)
    params = request.query_params
    return_to = safe_return_url(request, params.get(core.oidc_redirect_field_name))
    silent = (params.get("silent") or "").lower() in _TRUE
    state = new_state()
    nonce = new_nonce() if core.oidc_use_nonce else None
    verifier = new_code_verifier(core.oidc_pkce_code_verifier_size) if core.oidc_use_pkce else None
    extra: dict[str, str] = {}
    if silent:
        extra["prompt"] = "none"
    if params.get("login_hint"):
        extra["login_hint"] = params["login_hint"]
    try:
        url = oidc_client(request).authorization_url(
            redirect_uri=_callback_url(request), state=state, nonce=nonce, code_verifier=verifier, extra=extra
        )
    except OidcError as exc:
        log.error("OIDC login impossible: %s", exc)
        return _redirect(
            (return_to or core.login_redirect_url) if silent else core.login_redirect_url_failure
        )

    current = await load_session(request)
    session_id, data = current if current is not None else (None, SessionData())
    states: dict[str, Any] = data.data.setdefault(_STATES, {})
    states[state] = {
        "nonce": nonce,
        "code_verifier": verifier,
        "return_to": return_to,
        "silent": silent,
        "created": time.time(),
    }
    for old in sorted(states, key=lambda s: states[s].get("created", 0))[:-MAX_LOGIN_STATES]:
        del states[old]
    session_id = await save_session(request, session_id, data)
    return _redirect(url, session_cookies(request, session_id, data))


async def _take_state(request: Request[Any, Any, Any], state: str | None) -> dict[str, Any] | None:
    """The login state ``state`` of this browser's session, removed so that it works once."""
    current = await load_session(request)
    if not state or current is None:
        return None
    session_id, data = current
    entry = data.data.get(_STATES, {}).pop(state, None)
    if entry is None:
        return None
    await save_session(request, session_id, data)
    # Two concurrent replays may both have read the state: only the first one may use it.
    first = await valkey_client(request).set(
        f"oidc:state-used:{state}", "1", nx=True, ex=core_settings(request).session_cookie_age
    )
    return entry if first else None


@get(f"{API_PREFIX}/callback", include_in_schema=False)
async def callback(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Redirect:
    """Finish the login started by ``authenticate`` (see the module docstring)."""
    core = core_settings(request)
    params = request.query_params
    entry = await _take_state(request, params.get("state"))
    if entry is None:
        log.warning("OIDC callback with an unknown, used or missing state")
        return _redirect(core.login_redirect_url_failure)
    success_url = entry.get("return_to") or core.login_redirect_url
    failure_url = success_url if entry.get("silent") else core.login_redirect_url_failure

    if params.get("error"):
        log.info("OIDC provider refused the login: %s", params.get("error"))
        return _redirect(failure_url)
    code = params.get("code")
    if not code:
        return _redirect(failure_url)
    client = oidc_client(request)
    try:
        tokens = await client.exchange_code(
            code=code, redirect_uri=_callback_url(request), code_verifier=entry.get("code_verifier")
        )
        id_token = str(tokens["id_token"])
        id_claims = await client.verify_id_token(id_token, nonce=entry.get("nonce"))
        claims = await client.userinfo(tokens.get("access_token"), id_claims)
        user = await user_from_claims(db_session, claims, core)
    except (OidcError, LoginRefused) as exc:
        log.warning("OIDC login refused: %s", exc)
        await db_session.rollback()
        return _redirect(failure_url)
    except IntegrityError as exc:  # the same new user created by a concurrent login
        log.warning("OIDC login raced another one: %s", exc)
        await db_session.rollback()
        return _redirect(failure_url)
    await db_session.commit()  # a redirect is not a 2xx: the automatic commit would not happen
    pending = await _pending_states(request)
    cookies = await login(request, user, id_token=id_token if core.oidc_store_id_token else None)
    current = await load_session(request)
    if current is not None:
        await remember_login(request, user, current[0], id_claims.get("sid"))
        if pending:  # logins started in other tabs survive the session rotation
            current[1].data[_STATES] = pending
            await save_session(request, current[0], current[1])
    return _redirect(success_url, cookies)


async def _pending_states(request: Request[Any, Any, Any]) -> dict[str, Any]:
    current = await load_session(request)
    return dict(current[1].data.get(_STATES, {})) if current is not None else {}


def _with_query(url: str, extra: dict[str, str]) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    pairs = [*parse_qsl(query, keep_blank_values=True), *extra.items()]
    return urlunsplit((scheme, netloc, path, urlencode(pairs), fragment))


async def _check_logout_csrf(request: Request[Any, Any, Any], data: SessionData) -> None:
    """A POST logout of a logged-in session carries the CSRF token (header or form field)."""
    core = core_settings(request)
    token = request.headers.get(core.csrf_header_name)
    if not token and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        token = (await request.form()).get("csrfmiddlewaretoken")
    if not token:
        raise permission_denied("CSRF Failed: CSRF token missing.")
    if not data.csrf or not hmac.compare_digest(str(token).encode(), data.csrf.encode()):
        raise permission_denied("CSRF Failed: CSRF token incorrect.")


@route(f"{API_PREFIX}/logout", http_method=["GET", "POST"], include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    """End the session; then the provider's end-session endpoint or ``LOGOUT_REDIRECT_URL``."""
    core = core_settings(request)
    if request.method == "GET" and not core.allow_logout_get_method:
        raise detail(405, 'Method "GET" not allowed.', {"Allow": "POST"})
    target = core.logout_redirect_url
    current = await load_session(request)
    if current is not None:
        session_id, data = current
        if data.user_id and request.method == "POST":
            await _check_logout_csrf(request, data)
        await delete_session(request, session_id)
        if data.user_id and data.id_token and core.oidc_op_logout_endpoint:
            target = _with_query(
                core.oidc_op_logout_endpoint,
                {
                    "id_token_hint": data.id_token,
                    "post_logout_redirect_uri": _absolute(request, f"{API_PREFIX}/logout-callback/"),
                    "client_id": core.oidc_rp_client_id,
                },
            )
    response = _redirect(target)
    response.delete_cookie(core.session_cookie_name, path="/")
    response.delete_cookie(core.csrf_cookie_name, path="/")
    return response


@get(f"{API_PREFIX}/logout-callback", include_in_schema=False)
async def logout_callback(request: Request[Any, Any, Any]) -> Redirect:
    """The session already ended at ``logout/``: only go to ``LOGOUT_REDIRECT_URL``."""
    return _redirect(core_settings(request).logout_redirect_url)


ROUTES = [authenticate, callback, logout, logout_callback, backchannel_logout]
