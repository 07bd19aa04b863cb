"""Disabled or not enabled: no routes, no configuration keys; the old flag enables it."""

from __future__ import annotations

SESSIONS = "/api/v1.0/addons/sessions"


async def test_disabled_plugin_serves_nothing(kit, meet_app):
    meet = await meet_app(env=kit.ENV)  # the plugin's flags set, the plugin not enabled
    user = await meet.create_user()
    assert (await meet.client.post(kit.TOKEN_URL, json={})).status_code == 404
    assert (await meet.client.get(kit.ROOMS_URL)).status_code == 404
    assert (await meet.client.post(kit.ROOMS_URL, json={})).status_code == 404
    assert (await meet.client.post(f"{SESSIONS}/init/")).status_code == 404
    await meet.login(user)
    assert (await meet.client.post(f"{SESSIONS}/exchange/", json={"transit_token": "x"})).status_code == 404
    enabled = await kit.app()
    assert set((await meet.client.get("/api/v1.0/config/")).json()) == set(
        (await enabled.client.get("/api/v1.0/config/")).json()
    )


async def test_the_old_flag_enables_the_installed_plugin(kit, meet_app):
    meet = await meet_app(env={**kit.ENV, "EXTERNAL_API_ENABLED": "true"}, plugins=None)
    registered = await kit.register(meet)
    user = await meet.create_user()
    assert (await kit.request_token(meet, registered, user.email)).status_code == 200


async def test_meet_plugins_without_it_ignores_the_old_flag(kit, meet_app):
    meet = await meet_app(
        env={**kit.ENV, "EXTERNAL_API_ENABLED": "true", "MEET_PLUGINS": "lobby"}, plugins=None
    )
    assert (await meet.client.post(kit.TOKEN_URL, json={})).status_code == 404


async def test_a_missing_signing_key_stops_start_up(kit):
    import pytest

    from meet_core.testing import SettingsError

    for env in ({"APPLICATION_JWT_SECRET_KEY": ""}, {"APPLICATION_JWT_SECRET_KEY": "short"},
                {"ADDONS_CSRF_SECRET": ""}, {"APPLICATION_JWT_ALG": "none"}):  # fmt: skip
        with pytest.raises(SettingsError):
            await kit.app(**env)
