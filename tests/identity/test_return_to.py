"""``returnTo`` is honoured only for this server and the allowed hosts (no open redirect).

The silent-login round trip (the provider answers ``login_required`` at once) shows where a
login would end without logging anyone in.
"""

from __future__ import annotations

import pytest

from tests.identity.conftest import HOME


async def ends_on(meet, browser_for, return_to: str) -> str:
    browser = browser_for(meet)
    start = await browser.start(silent="true", returnTo=return_to)
    response = await browser.finish(await browser.authorize(start.headers["location"], None))
    assert response.status_code == 302
    return response.headers["location"]


@pytest.mark.parametrize(
    "return_to",
    [
        "http://testserver.local/abc-defg-hij",
        "https://testserver.local/abc-defg-hij?x=1",
        "/abc-defg-hij",
        "http://localhost:3000/abc-defg-hij",
        "http://frontend.example/room",
    ],
)
async def test_allowed_return_to_is_honoured(meet_app, oidc_provider, browser_for, return_to):
    meet = await meet_app(
        env=oidc_provider.env(OIDC_REDIRECT_ALLOWED_HOSTS="localhost:3000,https://frontend.example")
    )
    assert await ends_on(meet, browser_for, return_to) == return_to


@pytest.mark.parametrize(
    "return_to",
    [
        "http://evil.example/",
        "https://evil.example/abc-defg-hij",
        "//evil.example/path",
        "///evil.example/path",
        "/\\evil.example/path",
        "\\\\evil.example",
        "http://testserver.local@evil.example/",
        "http://localhost:4000/room",
        "javascript:alert(1)",
        "http:evil.example",
        "ftp://testserver.local/file",
        "http://testserver.local.evil.example/",
        "http://frontend.example.evil/room",
    ],
)
async def test_foreign_return_to_is_ignored(meet_app, oidc_provider, browser_for, return_to):
    meet = await meet_app(
        env=oidc_provider.env(OIDC_REDIRECT_ALLOWED_HOSTS="localhost:3000,https://frontend.example")
    )
    assert await ends_on(meet, browser_for, return_to) == HOME


async def test_require_https_refuses_plain_http_return_to(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_REDIRECT_REQUIRE_HTTPS="true"))
    assert await ends_on(meet, browser_for, "http://testserver.local/room") == HOME
    assert (
        await ends_on(meet, browser_for, "https://testserver.local/room") == "https://testserver.local/room"
    )


async def test_return_to_field_name_is_configurable(meet_app, oidc_provider, browser_for):
    meet = await meet_app(env=oidc_provider.env(OIDC_REDIRECT_FIELD_NAME="next"))
    browser = browser_for(meet)
    start = await browser.start(silent="true", next="/room")
    response = await browser.finish(await browser.authorize(start.headers["location"], None))
    assert response.headers["location"] == "/room"
