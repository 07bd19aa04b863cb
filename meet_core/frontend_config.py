"""``GET /api/v1.0/config/``: what the frontend needs to know (spec/api.md §5).

Every object the frontend dereferences is present. The features that plugins provide
(``recording``, ``telephony``, ``subtitle``, ``background_image``) are answered off by
:data:`FEATURES_OFF`: plain data, the frontend's contract, not knowledge of any plugin. An
enabled plugin's ``meet_frontend_config`` fragment replaces them (each plugin fills its own
keys; the core names none). The core part is computed once per application (``create_app``);
only the plugin fragments run per request.
"""

from __future__ import annotations

import copy
from typing import Any

from litestar import Request, get

from meet_core.http import API_PREFIX
from meet_core.settings import Settings
from meet_core.state import frontend_config, hooks, settings

#: The features the frontend dereferences, as answered when nothing provides them.
FEATURES_OFF: dict[str, Any] = {
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
    "subtitle": {"enabled": False},
}


def core_frontend_config(settings: Settings) -> dict[str, Any]:
    """The core's keys, and :data:`FEATURES_OFF` (copied: a response may be changed downstream)."""
    core = settings.core
    config: dict[str, Any] = {
        "LANGUAGE_CODE": core.language_code,
        **copy.deepcopy(FEATURES_OFF),
        "resource": {"default_access_level": core.resource_default_access_level},
        "diagnostics": {"connection_test_enabled": core.connection_test_enabled},
        "livekit": {
            "url": core.livekit_api_url,
            "force_wss_protocol": core.livekit_force_wss_protocol,
            "enable_firefox_proxy_workaround": core.livekit_enable_firefox_proxy_workaround,
            "default_sources": list(core.livekit_default_sources),
        },
        "authenticated_users_can_edit_display_name": core.authenticated_participants_can_edit_display_name,
    }
    frontend = {
        "custom_css_url": core.frontend_custom_css_url,
        "analytics": core.frontend_analytics,
        "support": core.frontend_support,
        "silence_livekit_debug_logs": core.frontend_silence_livekit_debug,
        # Silent login needs a provider: without one, the frontend would loop on /authenticate/.
        "is_silent_login_enabled": core.frontend_is_silent_login_enabled
        and bool(core.oidc_op_authorization_endpoint),
        "idle_disconnect_warning_delay": core.frontend_idle_disconnect_warning_delay,
        "feedback": core.frontend_feedback,
        "documentation_url": core.frontend_documentation_url,
        "external_home_url": core.frontend_external_home_url,
        "use_french_gov_footer": core.frontend_use_french_gov_footer,
        "use_proconnect_button": core.frontend_use_proconnect_button,
        "manifest_link": core.frontend_manifest_link,
        "transcription_destination": core.frontend_transcription_destination,
        "max_participants_for_sound": core.frontend_max_participants_for_sound,
        "auto_mute_on_join_threshold": core.frontend_auto_mute_on_join_threshold,
    }
    config.update(frontend)
    return config


@get(f"{API_PREFIX}/config", summary="Frontend configuration", tags=["config"])
async def get_frontend_configuration(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The frontend configuration: core keys, then the enabled plugins' fragments."""
    base = frontend_config(request)
    fragments = await hooks(request).frontend_config(settings(request))
    return {**base, **fragments} if fragments else base


ROUTES = [get_frontend_configuration]
