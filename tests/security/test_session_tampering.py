"""Forged, broken and replayed sessions are anonymous; CSRF holds on unsafe methods (issue 18, part 5).

Sessions live in Valkey under ``session:<cookie>`` (meet_core/identity/sessions.py). Whatever
the ``sessionid`` cookie or the stored value, the caller is either the session's active user
or anonymous: a 401 with ``WWW-Authenticate: Session`` where a user is required, the
anonymous answer elsewhere (api.md §0.2), never a 500 and never another user's data. A
logged-in unsafe request without the session's CSRF token is a 403 ``CSRF Failed: ...``.
The genuine session works first, so each refusal comes from the tampering alone.
docs/security.md lists what each case answers.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import delete, update

from meet_core.identity.sessions import SessionData, store_session
from meet_core.state import valkey_client
from meet_core.testing.factories import session_maker
from meet_core.testing.harness import MeetTestApp
from meet_core.users.models import User
from meet_lobby.plugin import LobbyPlugin

API = "/api/v1.0"
NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}
AGE = 3600


@dataclass
class Site:
    meet: MeetTestApp
    victim: User
    room_id: str

    async def session(self, data: SessionData | None = None) -> str:
        """A session stored for the victim (or ``data``): its cookie value."""
        data = data or SessionData(user_id=str(self.victim.id), csrf=secrets.token_urlsafe(32))
        return await store_session(valkey_client(self.meet.app), None, data, AGE)

    def client(self, cookies: dict[str, str], headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        """A browser sending exactly these cookies (a raw header: any bytes) and headers."""
        client = self.meet.new_client()
        if cookies:
            raw = "; ".join(f"{name}={value}" for name, value in cookies.items())
            client.headers.update(httpx.Headers([(b"Cookie", raw.encode())]))
        client.headers.update(headers or {})
        return client

    async def reads(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """What the caller sees: who they are, their rooms, the victim's room and its lobby."""
        answers = {}
        for name, path in [
            ("me", f"{API}/users/me/"),
            ("rooms", f"{API}/rooms/"),
            ("room", f"{API}/rooms/{self.room_id}/"),
            ("lobby", f"{API}/rooms/{self.room_id}/waiting-participants/"),  # the one-statement path
        ]:
            response = await client.get(path)
            assert response.status_code < 500, (name, response.text)
            answers[name] = (response.status_code, response.json(), response.headers.get("www-authenticate"))
        return answers


@pytest.fixture
async def site(meet_app: Any) -> Site:
    meet = await meet_app(plugins=[LobbyPlugin])
    victim = await meet.create_user(email="victim@example.com", full_name="Victim")
    room = await meet.create_room("Victim's room", accesses=[(victim, "owner")], access_level="restricted")
    return Site(meet, victim, str(room.id))


async def _anonymous(site: Site) -> dict[str, Any]:
    async with site.client({}) as client:
        answers = await site.reads(client)
    assert answers["me"] == (401, NOT_AUTHENTICATED, "Session")
    assert answers["rooms"][1]["count"] == 0
    assert answers["lobby"] == (401, NOT_AUTHENTICATED, "Session")
    return answers


async def _assert_anonymous(
    site: Site, cookies: dict[str, str], headers: dict[str, str] | None = None
) -> None:
    """The caller reads what an anonymous one reads and creates nothing."""
    anonymous = await _anonymous(site)
    async with site.client(cookies, headers) as client:
        assert await site.reads(client) == anonymous
        response = await client.post(f"{API}/rooms/", json={"name": "forged"})
        assert (response.status_code, response.json()) == (401, NOT_AUTHENTICATED)


async def test_the_genuine_session_reads_and_writes(site: Site) -> None:
    """The baseline every case below departs from."""
    session_id = await site.session()
    csrf = await _csrf_of(site, session_id)
    async with site.client({"sessionid": session_id, "csrftoken": csrf}, {"X-CSRFToken": csrf}) as client:
        answers = await site.reads(client)
        assert answers["me"][:2] == (200, answers["me"][1]) and answers["me"][1]["id"] == str(site.victim.id)
        assert answers["rooms"][1]["count"] == 1
        assert answers["lobby"][0] == 200
        response = await client.post(f"{API}/rooms/", json={"name": "mine"})
        assert response.status_code == 201, response.text


async def _csrf_of(site: Site, session_id: str) -> str:
    raw = await valkey_client(site.meet.app).get(f"session:{session_id}")
    csrf = msgspec.json.decode(raw, type=SessionData).csrf
    assert csrf
    return csrf


#: Cookie values naming no session: random, of other formats, lengths and characters.
FORGED_IDS = {
    "random id": secrets.token_urlsafe(32),
    "empty": "",
    "one character": "a",
    "very long": "a" * 4000,
    "a Valkey pattern": "*",
    "a key prefix": "session:x",
    "another key's name": "oidc:state-used:x",
    "a uuid": str(uuid.uuid4()),
    "percent-encoded": "%00%0d%0a",
    "non-ASCII": "sessión-ünïcode",
    "quoted": '"quoted value"',
    "backslashes": "\\\\x00",
}


@pytest.mark.parametrize("value", list(FORGED_IDS))
async def test_a_forged_session_cookie_is_anonymous(site: Site, value: str) -> None:
    await site.session()  # a real session exists: a forged id must not find it
    await _assert_anonymous(site, {"sessionid": FORGED_IDS[value]})


#: Stored values that are no usable session (written behind the server's back).
GARBAGE: dict[str, Callable[[Site], bytes]] = {
    "not JSON": lambda s: b"not json at all",
    "invalid UTF-8": lambda s: b"\xff\xfe\x00\x01",
    "a JSON list": lambda s: b"[]",
    "a JSON string": lambda s: b'"user"',
    "user_id of the wrong type": lambda s: b'{"user_id": 5}',
    "user_id not a uuid": lambda s: b'{"user_id": "victim"}',
    "user_id of nobody": lambda s: f'{{"user_id": "{uuid.uuid4()}"}}'.encode(),
    "data of the wrong type": lambda s: f'{{"user_id": "{s.victim.id}", "data": []}}'.encode(),
    "a login in progress": lambda s: b'{"user_id": null, "data": {"oidc_states": {}}}',
}


@pytest.mark.parametrize("garbage", list(GARBAGE))
async def test_a_garbage_session_value_is_anonymous(site: Site, garbage: str) -> None:
    session_id = secrets.token_urlsafe(32)
    await valkey_client(site.meet.app).set(f"session:{session_id}", GARBAGE[garbage](site), ex=AGE)
    await _assert_anonymous(site, {"sessionid": session_id})


async def test_a_session_key_of_another_valkey_type_is_anonymous(site: Site) -> None:
    """A list under the session's key: Valkey answers WRONGTYPE to GET."""
    session_id = secrets.token_urlsafe(32)
    await valkey_client(site.meet.app).rpush(f"session:{session_id}", "a", "b")
    await _assert_anonymous(site, {"sessionid": session_id})


async def _change_victim(site: Site, change: Callable[[Any], Awaitable[Any]]) -> None:
    async with session_maker(site.meet.app)() as db:
        await change(db)
        await db.commit()


@pytest.mark.parametrize("fate", ["deactivated", "deleted"])
async def test_the_session_of_a_deactivated_or_deleted_user_is_anonymous(site: Site, fate: str) -> None:
    session_id = await site.session()
    async with site.client({"sessionid": session_id}) as client:
        assert (await client.get(f"{API}/users/me/")).status_code == 200
    if fate == "deactivated":
        statement: Any = update(User).where(User.id == site.victim.id).values(is_active=False)
    else:
        statement = delete(User).where(User.id == site.victim.id)
    await _change_victim(site, lambda db: db.execute(statement))
    csrf = await _csrf_of(site, session_id)
    await _assert_anonymous(site, {"sessionid": session_id, "csrftoken": csrf}, {"X-CSRFToken": csrf})


async def test_a_session_cookie_replayed_after_logout_is_anonymous(site: Site) -> None:
    session_id = await site.session()
    csrf = await _csrf_of(site, session_id)
    async with site.client({"sessionid": session_id, "csrftoken": csrf}, {"X-CSRFToken": csrf}) as client:
        assert (await client.get(f"{API}/users/me/")).status_code == 200
        response = await client.post(f"{API}/logout/")
        assert response.status_code == 302
    assert await valkey_client(site.meet.app).get(f"session:{session_id}") is None
    await _assert_anonymous(site, {"sessionid": session_id, "csrftoken": csrf}, {"X-CSRFToken": csrf})


async def test_the_csrf_token_as_session_cookie_is_anonymous(site: Site) -> None:
    """The CSRF token is no session id: as a cookie it names no session."""
    session_id = await site.session()
    csrf = await _csrf_of(site, session_id)
    await _assert_anonymous(site, {"sessionid": csrf})


# ------------------------------------------------------------------------------------------ CSRF


def _unsafe_requests(site: Site) -> list[tuple[str, str, dict[str, Any], int]]:
    """Unsafe requests a logged-in victim may make (core routes and a plugin's, the lobby),
    with their status when the CSRF token is right (the lobby has nobody waiting: 404)."""
    decision = {"participant_id": str(uuid.uuid4()), "allow_entry": True}
    return [
        ("POST", f"{API}/rooms/", {"name": "csrf"}, 201),
        ("PATCH", f"{API}/users/{site.victim.id}/", {"full_name": "Mallory"}, 200),
        ("PATCH", f"{API}/rooms/{site.room_id}/", {"name": "Pwned"}, 200),
        ("POST", f"{API}/rooms/{site.room_id}/enter/", decision, 404),
        ("DELETE", f"{API}/rooms/{site.room_id}/", {}, 204),
    ]


async def _send(client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.request(method, path, json=body or None)


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("neither cookie nor header", "CSRF Failed: CSRF cookie not set."),
        ("cookie without the header", "CSRF Failed: CSRF token missing."),
        ("header mismatched", "CSRF Failed: CSRF token incorrect."),
        ("another user's token", "CSRF Failed: CSRF token incorrect."),
        ("header without the cookie", "CSRF Failed: CSRF cookie not set."),
        ("the session id as token", "CSRF Failed: CSRF token incorrect."),
        ("empty header", "CSRF Failed: CSRF token missing."),
    ],
)
async def test_unsafe_methods_need_the_sessions_csrf_token(site: Site, case: str, detail: str) -> None:
    session_id = await site.session()
    csrf = await _csrf_of(site, session_id)
    other = await site.meet.create_user(email="mallory@example.com")
    other_session = await site.session(SessionData(user_id=str(other.id), csrf=secrets.token_urlsafe(32)))
    other_csrf = await _csrf_of(site, other_session)
    cookies, headers = {
        "neither cookie nor header": ({}, {}),
        "cookie without the header": ({"csrftoken": csrf}, {}),
        "header mismatched": ({"csrftoken": csrf}, {"X-CSRFToken": secrets.token_urlsafe(32)}),
        "another user's token": ({"csrftoken": other_csrf}, {"X-CSRFToken": other_csrf}),
        "header without the cookie": ({}, {"X-CSRFToken": csrf}),
        "the session id as token": ({"csrftoken": session_id}, {"X-CSRFToken": session_id}),
        "empty header": ({"csrftoken": csrf}, {"X-CSRFToken": ""}),
    }[case]
    async with site.client({"sessionid": session_id, **cookies}, headers) as client:
        for method, path, body, _ in _unsafe_requests(site):
            response = await _send(client, method, path, body)
            assert (response.status_code, response.json()) == (403, {"detail": detail}), (method, path)
        # Safe methods are not checked: the session is the victim's.
        assert (await client.get(f"{API}/users/me/")).json()["id"] == str(site.victim.id)
    # Nothing changed; with the right token the same requests go through.
    async with site.client({"sessionid": session_id, "csrftoken": csrf}, {"X-CSRFToken": csrf}) as client:
        me = (await client.get(f"{API}/users/me/")).json()
        assert me["full_name"] == "Victim"
        assert (await client.get(f"{API}/rooms/{site.room_id}/")).json()["name"] == "Victim's room"
        for method, path, body, status in _unsafe_requests(site):
            response = await _send(client, method, path, body)
            assert response.status_code == status, (method, path, response.text)
        assert (await client.get(f"{API}/rooms/{site.room_id}/")).status_code == 404  # deleted last
