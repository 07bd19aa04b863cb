"""The official frontend in headless Chromium against a real ``meet serve`` (issue #17).

One origin on loopback, as behind Meet's nginx: ``meet serve`` serves the built frontend
(``MEET_FRONTEND_DIST``) and the API; the real OpenID provider (``oidc-provider-mock``) and the
fake LiveKit server (Twirp API and enough signalling for a page to join) run beside it.
Playwright drives Debian's ``chromium`` (``MEET_CHROMIUM`` overrides the path) and never
downloads a browser. Not collected when ``MEET_FRONTEND_DIST`` is unset (the root conftest says
so in one line). On failure, a screenshot and the console log of every page go to
``build/browser-artifacts/``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from meet_core.testing.fake_livekit import FakeLiveKit
from meet_core.testing.s3_server import S3TestServer
from meet_core.testing.server import ServerProcess

if not os.environ.get("MEET_FRONTEND_DIST"):
    collect_ignore_glob = ["test_*.py"]
else:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from oidc_provider_mock import run_server_in_thread

API = "/api/v1.0"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "browser-artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
RECORDINGS_BUCKET = "meet-recordings"


class Meet:
    """The running stack: the server's URL, the provider's, the fake LiveKit."""

    def __init__(self, server: ServerProcess, provider_url: str, livekit: FakeLiveKit) -> None:
        self.url = server.url
        self.provider_url = provider_url
        self.livekit = livekit

    def add_user(self, sub: str, given_name: str, family_name: str) -> None:
        """A person the provider knows (logging in as ``sub`` gives these claims)."""
        claims = {
            "email": f"{sub}@example.com",
            "given_name": given_name,
            "family_name": family_name,
            "name": f"{given_name} {family_name}",
        }
        response = httpx.put(f"{self.provider_url}/users/{sub}", json=claims)
        assert response.status_code == 204, response.text

    def api(self, context: BrowserContext) -> httpx.Client:
        """An HTTP client holding ``context``'s cookies (and CSRF header): the server's state as
        that browser's user sees it."""
        cookies = {c["name"]: c["value"] for c in context.cookies(self.url)}
        headers = {"X-CSRFToken": cookies["csrftoken"]} if "csrftoken" in cookies else {}
        return httpx.Client(base_url=self.url + API, cookies=cookies, headers=headers, timeout=10)


# Module scope, not session: sync Playwright keeps an event loop running in this thread while it is
# started, which async tests of other modules sharing the worker could not run beside.
@pytest.fixture(scope="module")
def meet(fake_livekit: FakeLiveKit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Meet]:
    """``meet serve --migrate`` with the frontend, OIDC and the telephony, subtitle and recording
    plugins (recordings stored in a loopback S3, moto)."""
    data = tmp_path_factory.mktemp("browser-meet")
    with run_server_in_thread() as provider, S3TestServer() as s3:
        s3.create_bucket(RECORDINGS_BUCKET)
        provider_url = f"http://localhost:{provider.server_port}"
        env = {
            "MEET_FRONTEND_DIST": os.environ["MEET_FRONTEND_DIST"],
            "MEET_DATA_DIR": str(data),
            "DATABASE_URL": f"sqlite+aiosqlite:///{data}/meet.sqlite3",
            "REDIS_URL": "",  # a private Valkey in the data folder
            "SECRET_KEY": "browser-tests-" + "x" * 40,
            "LIVEKIT_API_URL": fake_livekit.url,
            "LIVEKIT_API_KEY": fake_livekit.api_key,
            "LIVEKIT_API_SECRET": fake_livekit.api_secret,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{provider_url}/oauth2/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{provider_url}/oauth2/token",
            "OIDC_OP_USER_ENDPOINT": f"{provider_url}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{provider_url}/jwks",
            "OIDC_OP_LOGOUT_ENDPOINT": f"{provider_url}/oauth2/end_session",
            "OIDC_RP_CLIENT_ID": "meet",
            "OIDC_RP_CLIENT_SECRET": "meet-client-secret-for-tests",
            "OIDC_RP_SCOPES": "openid email profile",
            "ROOM_TELEPHONY_ENABLED": "true",
            "ROOM_TELEPHONY_PHONE_NUMBER": "+33123456789",
            "ROOM_TELEPHONY_DEFAULT_COUNTRY": "FR",
            "ROOM_SUBTITLE_ENABLED": "true",
            "RECORDING_ENABLE": "true",
            **s3.env(RECORDINGS_BUCKET),
        }
        with ServerProcess(env, migrate=True, log_path=data / "server.log") as server:
            yield Meet(server, provider_url, fake_livekit)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = os.environ.get("MEET_CHROMIUM") or shutil.which("chromium")
    if not executable:
        raise RuntimeError("browser tests need Debian's chromium (apt-get install chromium) or MEET_CHROMIUM")
    browser = playwright.chromium.launch(
        executable_path=executable,
        headless=True,
        # The join screen previews camera and microphone: fake devices, no permission prompt.
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            # Plain host candidates (not mDNS names) for the fake LiveKit's aiortc peer (fake_rtc).
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ],
    )
    yield browser
    browser.close()


def _loopback_only(route: Any) -> None:
    """Nothing leaves the machine: the provider's page links a CDN stylesheet, for one."""
    host = urlsplit(route.request.url).hostname or ""
    if host in LOOPBACK or host.startswith("127."):
        route.continue_()
    else:
        route.abort()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def new_page(
    browser: Browser, meet: Meet, livekit: FakeLiveKit, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Page]]:
    """``new_page()``: a page in a fresh browser context (another person), its console recorded."""
    contexts: list[tuple[BrowserContext, Page, list[str]]] = []

    def make() -> Page:
        # A time zone other than the user's default (UTC): the frontend syncs it on login.
        context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Europe/Paris")
        context.route("**/*", _loopback_only)
        page = context.new_page()
        page.set_default_timeout(15_000)
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        contexts.append((context, page, console))
        return page

    yield make
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for index, (_, page, console) in enumerate(contexts):
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
            except Exception as exc:  # a crashed page still gets its console log
                console.append(f"screenshot failed: {exc}")
            (ARTIFACTS / f"{name}-{index}.log").write_text(f"url: {page.url}\n" + "\n".join(console))
    for context, _, _ in contexts:
        context.close()


def jwt_claims(token: str) -> dict[str, Any]:
    """A LiveKit token's claims, read as the frontend would hand them to LiveKit."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]
