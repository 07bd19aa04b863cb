"""Forged and altered LiveKit participant tokens never act on a meeting (issue 18, part 5).

Every route that takes a participant's LiveKit token (``Authorization: Bearer <JWT>``, verified
with the LiveKit key and secret, meet_core/identity/livekit_auth.py) gets each tampered token
through the full app: the answer is the documented 403 (api.md §0.2: no ``WWW-Authenticate``,
``{"detail": ...}``), never a 200 or a 500, and LiveKit is asked to change nothing. The token
the core mints for the room (``mint_token``) works on every route first, so a refusal comes
from the tampering alone. docs/security.md lists what each case answers.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from meet_core.testing import FakeLiveKit, mint_token
from meet_core.testing.harness import MeetTestApp
from meet_lobby.plugin import LobbyPlugin
from meet_subtitles import SubtitlesPlugin

IDENTITY = "guest-1"
TARGET = "target"
ANOTHER_SECRET = "another-deployments-secret-of-32-bytes-or-more"
FORBIDDEN = "You do not have permission to perform this action."
#: The LiveKit calls that change a meeting: none may follow a refused token.
CHANGES = ("UpdateParticipant", "MutePublishedTrack", "CreateDispatch", "DeleteDispatch")


@dataclass
class Meeting:
    meet: MeetTestApp
    livekit: FakeLiveKit
    room_id: str
    other_room_id: str
    track_sid: str

    def token(self, **change: Any) -> str:
        """The core's token for the room (``room`` and ``secret`` may be changed)."""
        return mint_token(
            api_key=self.livekit.api_key,
            api_secret=change.get("secret", self.livekit.api_secret),
            room_name=change.get("room", self.room_id),
            identity=IDENTITY,
            name="Guest",
            role=None,
            is_authenticated=False,
            sources=["camera", "microphone"],
            color="#123456",
        )

    def claims(self) -> dict[str, Any]:
        decoded: dict[str, Any] = jwt.decode(
            self.token(), self.livekit.api_secret, algorithms=["HS256"], issuer=self.livekit.api_key
        )
        return decoded

    def routes(self) -> dict[str, dict[str, Any] | None]:
        """Every route taking a participant's LiveKit token, with a body it accepts."""
        return {
            "toggle-hand": {"raised": True},
            "rename": {"name": "Mallory"},
            "mute-participant": {"participant_identity": TARGET, "track_sid": self.track_sid},
            "start-subtitle": None,  # the subtitles plugin
            "stop-subtitle": None,
        }

    async def post(self, route: str, headers: dict[str, str]) -> Any:
        async with self.meet.new_client() as client:
            path = f"/api/v1.0/rooms/{self.room_id}/{route}/"
            return await client.post(path, json=self.routes()[route], headers=headers)


@pytest.fixture
async def meeting(meet_app: Any, livekit: FakeLiveKit) -> Meeting:
    """Two rooms; the token's holder and a target with a camera are in the first meeting."""
    meet = await meet_app(plugins=[SubtitlesPlugin])
    owner = await meet.create_user()
    room = await meet.create_room("Tampered", accesses=[(owner, "owner")])
    other = await meet.create_room("Another", accesses=[(owner, "owner")])
    livekit.add_participant(str(room.id), IDENTITY)
    livekit.add_participant(str(other.id), IDENTITY)
    target = livekit.add_participant(str(room.id), TARGET, tracks=["camera"])
    return Meeting(meet, livekit, str(room.id), str(other.id), str(target.tracks[0].sid))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _edited(token: str, **claims: Any) -> str:
    """The token with its payload changed after signing (header and signature kept)."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for name, value in claims.items():
        if isinstance(value, dict):
            decoded[name] = {**decoded.get(name, {}), **value}
        else:
            decoded[name] = value
    return f"{header}.{_b64(json.dumps(decoded).encode())}.{signature}"


def _signed(m: Meeting, drop: tuple[str, ...] = (), **claims: Any) -> str:
    """The room's claims, changed, then signed with the real secret (as a key holder would)."""
    changed = {k: v for k, v in {**m.claims(), **claims}.items() if k not in drop}
    return jwt.encode(changed, m.livekit.api_secret, algorithm=claims.pop("alg", "HS256"))


def _unsigned(m: Meeting) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(m.claims()).encode())}."


def _invalid(reason: str) -> str:
    return f"Invalid LiveKit token: {reason}"


def _now() -> int:
    return int(time.time())


def _with_header(token: str, header: dict[str, Any]) -> str:
    """The token with another header (payload and signature kept)."""
    _, payload, signature = token.split(".")
    return f"{_b64(json.dumps(header).encode())}.{payload}.{signature}"


#: Each tampering: the forger, the 403's ``detail``. The LiveKit leeway is 60 s.
CASES: dict[str, tuple[Callable[[Meeting], str], str]] = {
    # Forged without the secret.
    "alg none (unsigned)": (_unsigned, _invalid("The specified alg value is not allowed")),
    "alg none, signature kept": (
        lambda m: _with_header(m.token(), {"alg": "none", "typ": "JWT"}),
        _invalid("The specified alg value is not allowed"),
    ),
    "no alg in the header": (
        lambda m: _with_header(m.token(), {"typ": "JWT"}),
        _invalid("Algorithm not specified"),
    ),
    "signed with a wrong key": (
        lambda m: m.token(secret=ANOTHER_SECRET),
        _invalid("Signature verification failed"),
    ),
    # Edited after signing: the signature no longer matches.
    "edited room": (
        lambda m: _edited(m.token(), video={"room": m.other_room_id}),
        _invalid("Signature verification failed"),
    ),
    "edited identity": (lambda m: _edited(m.token(), sub=TARGET), _invalid("Signature verification failed")),
    "edited grants (roomAdmin)": (
        lambda m: _edited(m.token(), video={"roomAdmin": True, "roomRecord": True}),
        _invalid("Signature verification failed"),
    ),
    "edited expiry": (
        lambda m: _edited(m.token(), exp=_now() + 10 * 365 * 86400),
        _invalid("Signature verification failed"),
    ),
    # Broken.
    "truncated signature": (lambda m: m.token()[:-10], _invalid("Invalid crypto padding")),
    "signature dropped": (lambda m: m.token().rsplit(".", 1)[0], _invalid("Not enough segments")),
    "garbled": (lambda m: "not-a-jwt", _invalid("Not enough segments")),
    "garbled segments": (lambda m: "a.b.c", _invalid("Invalid header padding")),
    # Signed with the real secret, but not acceptable (a key holder's mistakes, or replays).
    "expired": (
        lambda m: _signed(m, nbf=_now() - 7200, exp=_now() - 120),
        _invalid("Signature has expired"),
    ),
    "not yet valid": (lambda m: _signed(m, nbf=_now() + 600), _invalid("The token is not yet valid (nbf)")),
    "no exp": (lambda m: _signed(m, drop=("exp",)), _invalid('Token is missing the "exp" claim')),
    "wrong issuer (API key)": (lambda m: _signed(m, iss="another-api-key"), _invalid("Invalid issuer")),
    "no issuer": (lambda m: _signed(m, drop=("iss",)), _invalid('Token is missing the "iss" claim')),
    "another algorithm (HS512)": (
        lambda m: _signed(m, alg="HS512"),
        _invalid("The specified alg value is not allowed"),
    ),
    "no identity": (lambda m: _signed(m, drop=("sub",)), _invalid("no identity")),
    # Valid, for another room.
    "for another room": (lambda m: m.token(room=m.other_room_id), FORBIDDEN),
    "for the room's slug": (lambda m: m.token(room="tampered"), FORBIDDEN),
}


def _changes(livekit: FakeLiveKit) -> list[str]:
    return [call.method for call in livekit.calls if call.method in CHANGES]


@pytest.mark.parametrize("case", list(CASES))
# "another algorithm" signs HS512 with the LiveKit secret: its length is not the point.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_a_tampered_token_is_refused_on_every_route(
    meeting: Meeting, livekit: FakeLiveKit, case: str
) -> None:
    forge, detail = CASES[case]
    token = forge(meeting)
    for route in meeting.routes():
        response = await meeting.post(route, {"Authorization": f"Bearer {token}"})
        assert (response.status_code, response.json()) == (403, {"detail": detail}), (case, route)
        assert "www-authenticate" not in response.headers
    assert _changes(livekit) == []
    # The genuine token works on every route: the refusals came from the tampering.
    for route in meeting.routes():
        response = await meeting.post(route, {"Authorization": f"Bearer {meeting.token()}"})
        assert response.status_code == 200, (route, response.text)
    assert sorted(set(_changes(livekit))) == sorted(CHANGES)


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer", "Authorization header must be: Bearer <token>"),
        ("Basic Z3Vlc3Q6Z3Vlc3Q=", "Authorization header must be: Bearer <token>"),
        ("Bearer two tokens", "Authorization header must be: Bearer <token>"),
    ],
)
async def test_a_missing_or_malformed_header_is_refused(
    meeting: Meeting, livekit: FakeLiveKit, header: str | None, detail: str
) -> None:
    for route in meeting.routes():
        response = await meeting.post(route, {"Authorization": header} if header is not None else {})
        assert (response.status_code, response.json()) == (403, {"detail": detail}), route
    assert _changes(livekit) == []


async def test_a_token_of_the_real_key_never_grants_admin_powers(meet_app: Any, livekit: FakeLiveKit) -> None:
    """An owner's own token (``roomAdmin``) still mutes nobody where only administrators may,
    and opens none of the administrators' routes, which take the session only."""
    meet = await meet_app(plugins=[LobbyPlugin])
    owner = await meet.create_user()
    room = await meet.create_room(
        "Locked", accesses=[(owner, "owner")], configuration={"everyone_can_mute": False}
    )
    name = str(room.id)
    livekit.add_participant(name, owner.sub)
    sid = livekit.add_participant(name, TARGET, tracks=["camera"]).tracks[0].sid
    token = mint_token(
        api_key=livekit.api_key, api_secret=livekit.api_secret, room_name=name, identity=owner.sub,
        name="Owner", role="owner", is_authenticated=True, sources=[], color="#123456",
    )  # fmt: skip
    assert jwt.decode(token, options={"verify_signature": False})["video"]["roomAdmin"] is True
    bearer = {"Authorization": f"Bearer {token}"}
    body = {"participant_identity": TARGET, "track_sid": sid}
    response = await meet.client.post(f"/api/v1.0/rooms/{name}/mute-participant/", json=body, headers=bearer)
    assert (response.status_code, response.json()) == (403, {"detail": FORBIDDEN})
    for route, admin_body in [
        ("update-participant", {"participant_identity": TARGET, "name": "Renamed"}),
        ("remove-participant", {"participant_identity": TARGET}),
        ("update-participant-role", {"participant_identity": TARGET, "role": "administrator"}),
    ]:
        response = await meet.client.post(f"/api/v1.0/rooms/{name}/{route}/", json=admin_body, headers=bearer)
        assert response.status_code == 401, (route, response.text)
        assert response.json() == {"detail": "Authentication credentials were not provided."}
    response = await meet.client.get(f"/api/v1.0/rooms/{name}/waiting-participants/", headers=bearer)
    assert response.status_code == 401
    assert [c.method for c in livekit.calls if c.method in (*CHANGES, "RemoveParticipant")] == []
    # The session, with the CSRF token, is what administers: the same mute then succeeds.
    await meet.login(owner)
    response = await meet.client.post(f"/api/v1.0/rooms/{name}/mute-participant/", json=body)
    assert response.status_code == 200, response.text
    assert livekit.last_call("MutePublishedTrack").request.identity == TARGET
