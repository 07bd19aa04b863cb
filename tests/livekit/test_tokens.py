"""LiveKit token minting: decoded claims must match services.md §1.2."""

from __future__ import annotations

import base64
import calendar
import datetime
import json
import uuid
from typing import Any

import jwt
import pytest
from livekit.api import TokenVerifier, VideoGrants

from meet_core.livekit.color import generate_color
from meet_core.livekit.tokens import (
    DEFAULT_TTL,
    display_name,
    is_privileged,
    mint_token,
    resolve_sources,
)

API_KEY = "devkey"
API_SECRET = "secret-that-is-long-enough-for-hs256-0123456789"
DEFAULTS = ["camera", "microphone", "screen_share", "screen_share_audio"]
ROOM = "5c1b2a4e-8d3f-4f0a-9b7e-2f1d3c4b5a69"


def _mint(**overrides: Any) -> str:
    kwargs: dict[str, Any] = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "room_name": ROOM,
        "identity": "user-sub-123",
        "name": "Alice",
        "role": "member",
        "is_authenticated": True,
        "sources": DEFAULTS,
        "color": generate_color("user-sub-123"),
    }
    kwargs.update(overrides)
    return mint_token(**kwargs)


def _decode(token: str) -> dict[str, Any]:
    return jwt.decode(token, API_SECRET, algorithms=["HS256"], issuer=API_KEY)


def test_anonymous_without_role_claims_exactly() -> None:
    """The decoded claim set of services.md §1.2, key for key."""
    identity = "00000000-0000-0000-0000-000000000000"
    token = _mint(
        identity=identity,
        name="Anonymous",
        role=None,
        is_authenticated=False,
        color=generate_color(identity),
    )
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}
    claims = _decode(token)
    assert set(claims) == {"name", "video", "attributes", "sub", "iss", "nbf", "exp"}
    assert claims["sub"] == identity
    assert claims["iss"] == API_KEY
    assert claims["name"] == "Anonymous"
    assert claims["video"] == {
        "roomAdmin": False,
        "roomJoin": True,
        "room": ROOM,
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
        "canPublishSources": DEFAULTS,
        "canUpdateOwnMetadata": False,
    }
    assert claims["attributes"] == {
        "color": "hsl(351, 72%, 53%)",
        "room_role": None,
        "is_authenticated": "false",
    }


def test_null_room_role_is_json_null_in_payload() -> None:
    """Guards the livekit-api behaviour the module relies on (None kept inside attributes)."""
    token = _mint(role=None)
    payload = token.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert '"room_role": null' in raw or '"room_role":null' in raw


def test_member_claims() -> None:
    claims = _decode(_mint())
    assert claims["sub"] == "user-sub-123"
    assert claims["name"] == "Alice"
    assert claims["video"]["roomAdmin"] is False
    assert claims["video"]["canPublish"] is True
    assert claims["video"]["canPublishSources"] == DEFAULTS
    assert claims["attributes"] == {
        "color": "hsl(292, 59%, 39%)",
        "room_role": "member",
        "is_authenticated": "true",
    }


@pytest.mark.parametrize("role", ["owner", "administrator"])
def test_privileged_claims(role: str) -> None:
    sources = resolve_sources(role, {"can_publish_sources": []}, DEFAULTS)
    claims = _decode(_mint(role=role, sources=sources))
    assert claims["video"]["roomAdmin"] is True
    assert claims["video"]["canPublish"] is True
    assert claims["video"]["canPublishSources"] == DEFAULTS
    assert claims["attributes"]["room_role"] == role


def test_ungranted_video_fields_absent() -> None:
    video = _decode(_mint(role="owner"))["video"]
    for key in ("hidden", "recorder", "agent", "roomCreate", "roomList", "roomRecord"):
        assert key not in video


def test_empty_sources_cannot_publish() -> None:
    sources = resolve_sources("member", {"can_publish_sources": []}, DEFAULTS)
    assert sources == []
    video = _decode(_mint(sources=sources))["video"]
    assert video["canPublish"] is False
    assert video["canPublishSources"] == []
    assert video["canSubscribe"] is True
    assert video["canPublishData"] is True


def test_default_ttl_is_six_hours() -> None:
    before = calendar.timegm(datetime.datetime.now(datetime.UTC).utctimetuple())
    # A room of its own: with the other tests' inputs, the worker would hand out a token they
    # had minted up to 30 s earlier (RecentTokens), whose nbf is older than ``before``.
    claims = _decode(_mint(room_name=f"ttl-{uuid.uuid4()}"))
    after = calendar.timegm(datetime.datetime.now(datetime.UTC).utctimetuple())
    assert datetime.timedelta(hours=6) == DEFAULT_TTL
    assert before <= claims["nbf"] <= after
    # The SDK reads the clock twice (nbf, exp): allow the two reads to straddle a second.
    assert claims["exp"] - claims["nbf"] in (21600, 21601)


def test_custom_ttl() -> None:
    claims = _decode(_mint(ttl=datetime.timedelta(seconds=300)))
    assert claims["exp"] - claims["nbf"] in (300, 301)


def test_extra_attributes_added_but_cannot_override_core() -> None:
    claims = _decode(
        _mint(
            role=None,
            extra_attributes={
                "handRaisedAt": "",
                "plugin_key": "v",
                "room_role": "owner",
                "color": "red",
                "is_authenticated": "true",
            },
            is_authenticated=False,
        )
    )
    assert claims["attributes"] == {
        "color": "hsl(292, 59%, 39%)",
        "room_role": None,
        "is_authenticated": "false",
        "handRaisedAt": "",
        "plugin_key": "v",
    }


def test_grants_hook_mutates_before_signing() -> None:
    seen: list[VideoGrants] = []

    def hook(grants: VideoGrants) -> None:
        seen.append(grants)
        grants.hidden = True
        grants.can_publish_data = False

    video = _decode(_mint(grants_hook=hook))["video"]
    assert len(seen) == 1
    assert video["hidden"] is True
    assert video["canPublishData"] is False


def test_sources_not_aliased() -> None:
    sources = ["camera"]

    def hook(grants: VideoGrants) -> None:
        assert grants.can_publish_sources is not None
        grants.can_publish_sources.append("microphone")

    _mint(sources=sources, grants_hook=hook)
    assert sources == ["camera"]


def test_token_verifier_roundtrip() -> None:
    claims = TokenVerifier(API_KEY, API_SECRET).verify(_mint(role="owner"))
    assert claims.identity == "user-sub-123"
    assert claims.name == "Alice"
    assert claims.video is not None
    assert claims.video.room == ROOM
    assert claims.video.room_join is True
    assert claims.video.room_admin is True
    assert claims.video.can_update_own_metadata is False
    assert claims.attributes == {
        "color": "hsl(292, 59%, 39%)",
        "room_role": "owner",
        "is_authenticated": "true",
    }


def test_wrong_secret_rejected() -> None:
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(API_KEY, "another-secret-that-is-long-enough-0123456789").verify(_mint())


@pytest.mark.parametrize(("key", "secret"), [("", API_SECRET), (API_KEY, "")])
def test_empty_credentials_rejected_even_with_env(
    monkeypatch: pytest.MonkeyPatch, key: str, secret: str
) -> None:
    """AccessToken would fall back to the environment; we refuse instead."""
    monkeypatch.setenv("LIVEKIT_API_KEY", "env-key")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "env-secret")
    with pytest.raises(ValueError, match="non-empty"):
        _mint(api_key=key, api_secret=secret)


def test_empty_identity_rejected() -> None:
    with pytest.raises(ValueError, match="identity"):
        _mint(identity="")


# --- resolve_sources -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "configuration", "expected"),
    [
        ("owner", {"can_publish_sources": ["camera"]}, DEFAULTS),
        ("administrator", {"can_publish_sources": []}, DEFAULTS),
        ("owner", None, DEFAULTS),
        ("member", {"can_publish_sources": ["camera"]}, ["camera"]),
        ("member", {"can_publish_sources": []}, []),
        ("member", {"can_publish_sources": None}, DEFAULTS),
        ("member", {"everyone_can_mute": True}, DEFAULTS),
        ("member", {}, DEFAULTS),
        ("member", None, DEFAULTS),
        (None, {"can_publish_sources": ["microphone"]}, ["microphone"]),
        (None, None, DEFAULTS),
    ],
)
def test_resolve_sources(role: str | None, configuration: dict[str, Any] | None, expected: list[str]) -> None:
    result = resolve_sources(role, configuration, tuple(DEFAULTS))
    assert result == expected
    assert isinstance(result, list)


def test_resolve_sources_returns_a_copy() -> None:
    configured = ["camera"]
    result = resolve_sources("member", {"can_publish_sources": configured}, DEFAULTS)
    result.append("microphone")
    assert configured == ["camera"]


def test_is_privileged() -> None:
    assert is_privileged("owner")
    assert is_privileged("administrator")
    assert not is_privileged("member")
    assert not is_privileged(None)


# --- display_name ----------------------------------------------------------------------------


def _name(**overrides: Any) -> str:
    kwargs: dict[str, Any] = {
        "user_full_name": "Alice Martin",
        "user_email": "alice@example.com",
        "user_id": "7d1c0b8e-0000-4000-8000-000000000001",
        "requested": None,
        "is_authenticated": True,
        "can_edit": True,
    }
    kwargs.update(overrides)
    return display_name(**kwargs)


def test_display_name_anonymous() -> None:
    anon = {"user_full_name": None, "user_email": None, "user_id": None, "is_authenticated": False}
    assert _name(**anon) == "Anonymous"
    assert _name(**anon, requested="") == "Anonymous"
    assert _name(**anon, requested="Bob") == "Bob"
    # Anonymous participants may always choose their name, even when users may not.
    assert _name(**anon, requested="Bob", can_edit=False) == "Bob"


def test_display_name_authenticated() -> None:
    assert _name() == "Alice Martin"
    assert _name(requested="Ali") == "Ali"
    assert _name(requested="Ali", can_edit=False) == "Alice Martin"
    assert _name(user_full_name=None) == "alice@example.com"
    assert _name(user_full_name="") == "alice@example.com"
    assert _name(user_full_name=None, user_email=None) == "7d1c0b8e-0000-4000-8000-000000000001"
    assert (
        _name(user_full_name=None, user_email="", user_admin_email="admin@example.com") == "admin@example.com"
    )
