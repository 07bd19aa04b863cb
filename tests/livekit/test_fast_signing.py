"""The fast signing path of ``mint_token`` must sign exactly what ``AccessToken`` signs."""

from __future__ import annotations

import datetime
import itertools
import time
import warnings
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from livekit.api import VideoGrants

from meet_core.livekit.tokens import claims_dict, mint_token, sign_claims, sign_with_access_token

KEY = "devkey"
SECRET = "secret-that-is-long-enough-for-hs256-0123456789"


def _decode(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], issuer=KEY, options={"verify_nbf": False})


def _grants(variant: int, room: str, sources: list[str], admin: bool) -> VideoGrants:
    grants = VideoGrants(
        room=room,
        room_join=True,
        room_admin=admin,
        can_update_own_metadata=False,
        can_publish=bool(sources),
        can_publish_sources=list(sources),
        can_subscribe=True,
    )
    if variant == 1:  # what a plugin's grants hook may do
        grants.hidden = True
        grants.can_publish_data = False
    elif variant == 2:
        grants.recorder = False
        grants.can_subscribe_metrics = True
        grants.destination_room = "other"
    return grants


NAMES = ["Alice", "", "Zoé 🎥", "Anonymous"]
IDENTITIES = ["user-sub-123", "0b1c9f2e-3f1f-4c39-a6c0-5b1d0f4c2e11"]
SOURCES = [["camera", "microphone", "screen_share", "screen_share_audio"], ["camera"], []]
ATTRIBUTES = [
    {"color": "hsl(1, 50%, 30%)", "room_role": None, "is_authenticated": "false"},
    {"color": "hsl(311, 68%, 44%)", "room_role": "owner", "is_authenticated": "true", "extra": ""},
]
TTLS = [datetime.timedelta(hours=6), datetime.timedelta(seconds=300), datetime.timedelta(seconds=90.5)]


@pytest.mark.parametrize(
    ("name", "identity", "sources", "attributes", "ttl", "variant", "admin"),
    list(itertools.product(NAMES, IDENTITIES, SOURCES, ATTRIBUTES, TTLS, [0, 1, 2], [False, True])),
)
def test_fast_claims_equal_access_token_claims(name, identity, sources, attributes, ttl, variant, admin):
    room = "5c1b2a4e-8d3f-4f0a-9b7e-2f1d3c4b5a69"
    lifetime = ttl.total_seconds()
    while True:  # both clocks must give the same whole second for nbf, and for exp (90.5 s!)
        start = time.time()
        reference = sign_with_access_token(
            KEY, SECRET, identity, name, _grants(variant, room, sources, admin), attributes, ttl
        )
        fast = sign_claims(
            KEY, SECRET, identity, name, _grants(variant, room, sources, admin), attributes, ttl
        )
        end = time.time()
        if int(start) == int(end) and int(start + lifetime) == int(end + lifetime):
            break
    assert _decode(fast) == _decode(reference)
    if name.isascii():
        # Same keys in the same order: the tokens are byte-identical (json.dumps escapes
        # non-ASCII text as \\u sequences where msgspec writes UTF-8: same claims, other bytes).
        assert fast == reference


def test_mint_token_uses_the_fast_path_and_matches():
    token = mint_token(
        api_key=KEY, api_secret=SECRET, room_name="room", identity="alice", name="Alice", role=None,
        is_authenticated=False, sources=["camera"], color="hsl(311, 68%, 44%)",
    )  # fmt: skip
    claims = _decode(token)
    assert claims["video"]["room"] == "room"
    assert claims["attributes"]["room_role"] is None


def test_joining_needs_identity_and_room():
    with pytest.raises(ValueError, match="identity and room"):
        claims_dict(KEY, "", "x", VideoGrants(room="r", room_join=True), {}, datetime.timedelta(hours=1))
    with pytest.raises(ValueError, match="identity and room"):
        claims_dict(KEY, "i", "x", VideoGrants(room="", room_join=True), {}, datetime.timedelta(hours=1))


def test_a_short_secret_warns_once_per_secret_as_pyjwt_would():
    grants = VideoGrants(room="r", room_join=True)
    attributes = {"color": "c", "room_role": None, "is_authenticated": "false"}
    ttl = datetime.timedelta(hours=1)
    with pytest.warns(InsecureKeyLengthWarning):
        token = sign_claims(KEY, "short-secret-once", "i", "n", grants, attributes, ttl)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sign_claims(KEY, "short-secret-once", "i", "n", grants, attributes, ttl).count(".") == 2
    with warnings.catch_warnings():  # PyJWT's own check of the short key, the one this test mimics
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims = jwt.decode(token, "short-secret-once", algorithms=["HS256"], options={"verify_nbf": False})
    assert claims["sub"] == "i"
