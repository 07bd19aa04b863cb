"""The OpenID Connect relying party: authorization URL, code exchange, ID token and userinfo.

One :class:`OidcClient` per application (opened in the lifespan, closed on shutdown) holds
the only HTTP client used to talk to the provider, and the provider's JWKS: fetched once,
and again when a token names an unknown key id or fails the cached keys (key rotation).
The protocol work is done by maintained libraries: authlib for the authorization URL, PKCE
and the code exchange, joserfc for JWS signature and claims validation. Nothing here
touches sessions or the database; failures raise :class:`OidcError` with a reason for the
logs.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
from authlib.common.security import generate_token
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, OctKey
from joserfc.jwt import JWTClaimsRegistry

from meet_core.settings.core import CoreSettings

with warnings.catch_warnings():
    # authlib warns that it prefers the "httpx2" distribution; plain httpx works the same.
    import authlib.deprecate  # noqa: F401 - installs its own "always" filter, ours goes first

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger("meet_core.identity.oidc")

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Clock skew allowed on ``exp``/``iat``/``nbf`` (seconds).
CLOCK_LEEWAY = 60


class OidcError(Exception):
    """The provider answered something we cannot accept (logged, the login is refused)."""


class OidcClient:
    """The application's relying-party client (see the module docstring)."""

    def __init__(self, core: CoreSettings) -> None:
        self.core = core
        # AsyncOAuth2Client *is* an httpx.AsyncClient: the one client for every provider call.
        # Its own token slot is written by fetch_token() but never read: every other request
        # passes ``withhold_token=True`` and explicit headers, so concurrent logins do not mix.
        self.http = AsyncOAuth2Client(
            client_id=core.oidc_rp_client_id,
            client_secret=core.oidc_rp_client_secret or "",
            token_endpoint_auth_method=(
                "client_secret_basic" if core.oidc_token_use_basic_auth else "client_secret_post"
            ),
            code_challenge_method=core.oidc_pkce_code_challenge_method,
            timeout=core.oidc_timeout,
            verify=core.oidc_verify_ssl,
            proxy=core.oidc_proxy or None,
        )
        self._jwks: KeySet | None = None
        self._jwks_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- authorization request ----------------------------------------------------------

    def authorization_url(
        self,
        *,
        redirect_uri: str,
        state: str,
        nonce: str | None,
        code_verifier: str | None,
        extra: dict[str, str],
    ) -> str:
        """The provider URL the browser is sent to (state, nonce, PKCE challenge, extras)."""
        core = self.core
        if not core.oidc_op_authorization_endpoint:
            raise OidcError("OIDC_OP_AUTHORIZATION_ENDPOINT is not configured")
        params: dict[str, Any] = {str(k): str(v) for k, v in core.oidc_auth_request_extra_params.items()}
        params.update(extra)
        params["scope"] = core.oidc_rp_scopes
        params["redirect_uri"] = redirect_uri
        if nonce:
            params["nonce"] = nonce
        if code_verifier and core.oidc_pkce_code_challenge_method.lower() == "plain":
            params["code_challenge"] = code_verifier
            params["code_challenge_method"] = "plain"
            code_verifier = None
        url, _ = self.http.create_authorization_url(
            core.oidc_op_authorization_endpoint, state=state, code_verifier=code_verifier, **params
        )
        return str(url)

    # --- callback ------------------------------------------------------------------------

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, Any]:
        """Trade the authorization code for tokens at the token endpoint."""
        if not self.core.oidc_op_token_endpoint:
            raise OidcError("OIDC_OP_TOKEN_ENDPOINT is not configured")
        extra: dict[str, Any] = {"client_id": self.core.oidc_rp_client_id}
        if code_verifier:
            extra["code_verifier"] = code_verifier
        try:
            token = await self.http.fetch_token(
                self.core.oidc_op_token_endpoint,
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                **extra,
            )
        except httpx.HTTPError as exc:
            raise OidcError(f"token endpoint unreachable: {exc!r}") from exc
        except Exception as exc:  # authlib raises OAuthError and friends for error answers
            raise OidcError(f"token endpoint refused the code: {exc}") from exc
        if not isinstance(token, dict) or not token.get("id_token"):
            raise OidcError("token endpoint answered without an id_token")
        return dict(token)

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        """Check the ID token's signature (JWKS or client secret) and claims; return its claims."""
        claims = await self._decode(id_token)
        options: dict[str, Any] = {
            "aud": {"essential": True, "value": self.core.oidc_rp_client_id},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        try:
            JWTClaimsRegistry(leeway=CLOCK_LEEWAY, **options).validate(claims)
        except JoseError as exc:
            raise OidcError(f"invalid ID token claims: {exc}") from exc
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.core.oidc_rp_client_id:
            raise OidcError("ID token for several audiences without our client as azp")
        return claims

    async def userinfo(self, access_token: str | None, id_claims: dict[str, Any]) -> dict[str, Any]:
        """Claims from the userinfo endpoint (JSON or a signed JWT), else the ID token's."""
        url = self.core.oidc_op_user_endpoint
        if not url:
            return dict(id_claims)
        if not access_token:
            raise OidcError("token endpoint answered without an access_token")
        try:
            response = await self.http.request(
                "GET", url, headers={"Authorization": f"Bearer {access_token}"}, withhold_token=True
            )
        except httpx.HTTPError as exc:
            raise OidcError(f"userinfo endpoint unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise OidcError(f"userinfo endpoint answered {response.status_code}")
        fmt = self.core.oidc_op_user_endpoint_format
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if fmt == "JWT" or (fmt == "AUTO" and content_type == "application/jwt"):
            claims = await self._decode(response.text.strip())
        else:
            try:
                claims = response.json()
            except ValueError as exc:
                raise OidcError("userinfo is not JSON") from exc
        if not isinstance(claims, dict):
            raise OidcError("userinfo is not a JSON object")
        if claims.get("sub") != id_claims.get("sub"):
            raise OidcError("userinfo sub differs from the ID token's")
        return claims

    # --- keys ----------------------------------------------------------------------------

    async def _decode(self, token: str) -> dict[str, Any]:
        """Verify a JWS with the configured algorithm; the key comes from the JWKS by ``kid``."""
        algorithm = self.core.oidc_rp_sign_algo
        try:
            if algorithm.upper().startswith("HS"):
                key: Any = OctKey.import_key(self.core.oidc_rp_client_secret or "")
                return jwt.decode(token, key, algorithms=[algorithm]).claims
            keys = await self._keyset()
            try:
                return _verify(token, keys, algorithm)
            except (InvalidKeyIdError, BadSignatureError):
                # The provider may have rotated its keys (tokens without a "kid" show it as a
                # bad signature): fetch the JWKS again, once, and retry.
                keys = await self._keyset(stale=keys)
            return _verify(token, keys, algorithm)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"invalid token signature: {type(exc).__name__}: {exc}") from exc

    async def verify_logout_token(self, token: str) -> dict[str, Any]:
        """Check a back-channel logout token (OIDC Back-Channel Logout 1.0, §2.6)."""
        claims = await self._decode(token)
        options: dict[str, Any] = {
            "aud": {"essential": True, "value": self.core.oidc_rp_client_id},
            "iat": {"essential": True},
            "events": {"essential": True},
        }
        try:
            JWTClaimsRegistry(leeway=CLOCK_LEEWAY, **options).validate(claims)
        except JoseError as exc:
            raise OidcError(f"invalid logout token claims: {exc}") from exc
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
            raise OidcError("logout token without the back-channel logout event")
        if "nonce" in claims:
            raise OidcError("logout token with a nonce")
        if not (isinstance(claims.get("sub"), str) or isinstance(claims.get("sid"), str)):
            raise OidcError("logout token with neither sub nor sid")
        return claims

    async def _keyset(self, stale: KeySet | None = None) -> KeySet:
        """The cached JWKS, fetched again when it is still ``stale`` (a key id was missing).

        Concurrent logins that all miss a key after a rotation share one new fetch: the
        ones that wait on the lock find a key set other than the one they tried.
        """
        async with self._jwks_lock:
            if self._jwks is None or (stale is not None and self._jwks is stale):
                self._jwks = await self._fetch_jwks()
            return self._jwks

    async def _fetch_jwks(self) -> KeySet:
        url = self.core.oidc_op_jwks_endpoint
        if not url:
            raise OidcError("OIDC_OP_JWKS_ENDPOINT is not configured")
        try:
            response = await self.http.request("GET", url, withhold_token=True)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise OidcError(f"cannot read the provider's JWKS: {exc!r}") from exc


def _verify(token: str, keys: KeySet, algorithm: str) -> dict[str, Any]:
    """The token's claims once its signature checks out against one of ``keys``.

    A token naming its key (``kid``) is checked with that key only; one that does not is
    checked with each key in turn (providers with a single key often omit the kid).
    """
    header = jws.extract_compact(token.encode()).headers()
    if header.get("kid") or len(keys.keys) <= 1:
        return jwt.decode(token, keys, algorithms=[algorithm]).claims
    for key in keys.keys:
        try:
            return jwt.decode(token, key, algorithms=[algorithm]).claims
        except JoseError:
            continue
    raise BadSignatureError()


def new_state() -> str:
    return generate_token(32)


def new_nonce() -> str:
    return generate_token(32)


def new_code_verifier(size: int) -> str:
    """A PKCE verifier: RFC 7636 allows 43 to 128 unreserved characters."""
    return generate_token(min(max(size, 43), 128))


@asynccontextmanager
async def oidc_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the application's :class:`OidcClient` and close its HTTP client on shutdown."""
    client = OidcClient(app.state.settings.core)
    app.state.oidc = client
    try:
        yield
    finally:
        await client.aclose()


def oidc_client(holder: Any) -> OidcClient:
    """The application's OIDC client (``holder`` is a request or the app)."""
    app = getattr(holder, "app", holder)
    return app.state.oidc  # type: ignore[no-any-return]
