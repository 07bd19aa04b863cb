"""GET /config/: every key of api.md §5, the settings behind them, and plugin fragments."""

from __future__ import annotations

import json

from meet_core.plugins.hookspecs import hookimpl

URL = "/api/v1.0/config/"


async def test_defaults_exactly(meet_app, livekit):
    meet = await meet_app()
    response = await meet.client.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "LANGUAGE_CODE": "en-us",
        "recording": {
            "is_enabled": False,
            "available_modes": [],
            "expiration_days": None,
            "max_duration": None,
        },
        "background_image": {
            "upload_is_enabled": False,
            "max_count_by_user": 10,
            "max_size": 2097152,
            "allowed_extensions": [".jpeg", ".jpg", ".png"],
            "allowed_mimetypes": ["image/jpeg", "image/png"],
        },
        "telephony": {"enabled": False},
        "resource": {"default_access_level": "public"},
        "subtitle": {"enabled": False},
        "diagnostics": {"connection_test_enabled": False},
        "livekit": {
            "url": livekit.url,
            "force_wss_protocol": False,
            "enable_firefox_proxy_workaround": False,
            "default_sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
        },
        "authenticated_users_can_edit_display_name": True,
        "custom_css_url": None,
        "analytics": {},
        "support": {},
        "silence_livekit_debug_logs": False,
        "is_silent_login_enabled": False,  # no OIDC provider configured
        "idle_disconnect_warning_delay": None,
        "feedback": {},
        "documentation_url": None,
        "external_home_url": None,
        "use_french_gov_footer": False,
        "use_proconnect_button": False,
        "manifest_link": None,
        "transcription_destination": None,
        "max_participants_for_sound": 5,
        "auto_mute_on_join_threshold": 50,
    }


async def test_anonymous_and_no_trailing_slash(meet_app):
    meet = await meet_app()
    response = await meet.client.get(URL.rstrip("/"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_objects_the_frontend_dereferences_are_present(meet_app):
    """frontend-client.md B.3: these objects are read without a guard."""
    meet = await meet_app()
    config = (await meet.client.get(URL)).json()
    assert set(config["livekit"]) >= {
        "url",
        "force_wss_protocol",
        "enable_firefox_proxy_workaround",
        "default_sources",
    }
    assert "enabled" in config["telephony"]
    assert "enabled" in config["subtitle"]
    assert set(config["background_image"]) >= {
        "upload_is_enabled", "max_size", "max_count_by_user", "allowed_extensions", "allowed_mimetypes"
    }  # fmt: skip
    assert set(config["recording"]) >= {"is_enabled", "available_modes", "expiration_days", "max_duration"}
    assert "connection_test_enabled" in config["diagnostics"]
    assert "default_access_level" in config["resource"]
    for key in (
        "is_silent_login_enabled", "authenticated_users_can_edit_display_name", "external_home_url",
        "use_proconnect_button", "use_french_gov_footer", "custom_css_url", "analytics", "support",
        "feedback", "documentation_url", "manifest_link", "silence_livekit_debug_logs",
        "idle_disconnect_warning_delay", "transcription_destination", "max_participants_for_sound",
        "auto_mute_on_join_threshold", "LANGUAGE_CODE",
    ):  # fmt: skip
        assert key in config, key


async def test_settings_are_honoured(meet_app):
    env = {
        "LANGUAGE_CODE": "fr-fr",
        "RESOURCE_DEFAULT_ACCESS_LEVEL": "restricted",
        "CONNECTION_TEST_ENABLED": "true",
        "LIVEKIT_API_URL": "https://livekit.example.com",
        "LIVEKIT_FORCE_WSS_PROTOCOL": "true",
        "LIVEKIT_ENABLE_FIREFOX_PROXY_WORKAROUND": "true",
        "LIVEKIT_DEFAULT_SOURCES": "camera,microphone",
        "AUTHENTICATED_PARTICIPANTS_CAN_EDIT_DISPLAY_NAME": "false",
        "FRONTEND_CUSTOM_CSS_URL": "https://cdn.example.com/meet.css",
        "FRONTEND_ANALYTICS": json.dumps({"id": "phc_123", "host": "https://eu.posthog.com"}),
        "FRONTEND_SUPPORT": json.dumps({"id": "crisp-1"}),
        "FRONTEND_SILENCE_LIVEKIT_DEBUG": "true",
        "FRONTEND_IS_SILENT_LOGIN_ENABLED": "false",
        "FRONTEND_IDLE_DISCONNECT_WARNING_DELAY": "120000",
        "FRONTEND_FEEDBACK": json.dumps({"url": "https://feedback.example.com"}),
        "FRONTEND_DOCUMENTATION_URL": "https://docs.example.com",
        "FRONTEND_EXTERNAL_HOME_URL": "https://home.example.com",
        "FRONTEND_USE_FRENCH_GOV_FOOTER": "true",
        "FRONTEND_USE_PROCONNECT_BUTTON": "true",
        "FRONTEND_MANIFEST_LINK": "https://example.com/manifest",
        "FRONTEND_TRANSCRIPTION_DESTINATION": "https://docs.example.com/transcripts",
        "FRONTEND_MAX_PARTICIPANTS_FOR_SOUND": "9",
        "FRONTEND_AUTO_MUTE_ON_JOIN_THRESHOLD": "12",
    }
    meet = await meet_app(env=env)
    config = (await meet.client.get(URL)).json()
    assert config["LANGUAGE_CODE"] == "fr-fr"
    assert config["resource"] == {"default_access_level": "restricted"}
    assert config["diagnostics"] == {"connection_test_enabled": True}
    assert config["livekit"] == {
        "url": "https://livekit.example.com",
        "force_wss_protocol": True,
        "enable_firefox_proxy_workaround": True,
        "default_sources": ["camera", "microphone"],
    }
    assert config["authenticated_users_can_edit_display_name"] is False
    assert config["custom_css_url"] == "https://cdn.example.com/meet.css"
    assert config["analytics"] == {"id": "phc_123", "host": "https://eu.posthog.com"}
    assert config["support"] == {"id": "crisp-1"}
    assert config["silence_livekit_debug_logs"] is True
    assert config["is_silent_login_enabled"] is False
    assert config["idle_disconnect_warning_delay"] == 120000
    assert config["feedback"] == {"url": "https://feedback.example.com"}
    assert config["documentation_url"] == "https://docs.example.com"
    assert config["external_home_url"] == "https://home.example.com"
    assert config["use_french_gov_footer"] is True
    assert config["use_proconnect_button"] is True
    assert config["manifest_link"] == "https://example.com/manifest"
    assert config["transcription_destination"] == "https://docs.example.com/transcripts"
    assert config["max_participants_for_sound"] == 9
    assert config["auto_mute_on_join_threshold"] == 12


async def test_django_prefixed_names_are_accepted(meet_app):
    meet = await meet_app(env={"DJANGO_LANGUAGE_CODE": "de-de"})
    assert (await meet.client.get(URL)).json()["LANGUAGE_CODE"] == "de-de"


class SubtitlesOn:
    name = "subtitles_on"

    @hookimpl
    def meet_frontend_config(self, settings):
        return {"subtitle": {"enabled": True}}


class TelephonyOn:
    name = "telephony_on"

    @hookimpl
    async def meet_frontend_config(self, settings):
        return {
            "telephony": {
                "enabled": True,
                "default_country": "FR",
                "international_phone_number": "+33 1 23 45 67 89",
            }
        }


class Silent:
    name = "silent"

    @hookimpl
    def meet_frontend_config(self, settings):
        return None


async def test_plugin_fragments_replace_core_defaults(meet_app):
    meet = await meet_app(plugins=[SubtitlesOn(), TelephonyOn(), Silent()])
    config = (await meet.client.get(URL)).json()
    assert config["subtitle"] == {"enabled": True}
    assert config["telephony"] == {
        "enabled": True,
        "default_country": "FR",
        "international_phone_number": "+33 1 23 45 67 89",
    }
    # Untouched keys keep their core values.
    assert config["recording"]["is_enabled"] is False
    assert config["background_image"]["upload_is_enabled"] is False


async def test_fragment_does_not_leak_into_the_cached_core_part(meet_app):
    meet = await meet_app(plugins=[SubtitlesOn()])
    first = (await meet.client.get(URL)).json()
    second = (await meet.client.get(URL)).json()
    assert first == second
    other = await meet_app()
    assert (await other.client.get(URL)).json()["subtitle"] == {"enabled": False}


async def test_silent_login_is_offered_only_with_a_provider(meet_app) -> None:
    """The frontend falls back to /authenticate/?silent=true on 401: only useful with a provider."""
    provider = {"OIDC_OP_AUTHORIZATION_ENDPOINT": "https://id.example.com/authorize"}
    meet = await meet_app(env=provider)
    assert (await meet.client.get("/api/v1.0/config/")).json()["is_silent_login_enabled"] is True
    meet = await meet_app(env={**provider, "FRONTEND_IS_SILENT_LOGIN_ENABLED": "false"})
    assert (await meet.client.get("/api/v1.0/config/")).json()["is_silent_login_enabled"] is False
