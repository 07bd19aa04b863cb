"""A bounded load of realistic requests on a real ``meet serve``, while a part goes down and back.

:func:`run_outage` seeds a database, starts ``meet serve`` (granian, two workers) and sends a
mix of requests at a fixed rate over keep-alive connections on loopback; meanwhile it stops
one part (Valkey, PostgreSQL or LiveKit), checks that ``/__heartbeat__`` names it, starts it
again and waits for the heartbeat to be green, all without touching the server. Every answer
is recorded with the phase it was sent in; the test asserts on the :class:`Report`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from meet_core.testing.server import ServerProcess
from meet_core.testing.webhooks import sign_webhook, webhook_body

API = "/api/v1.0"
#: The answers of a part that is down (errors.py, meeting/livekit_participants.py).
DATABASE_DOWN = (503, {"detail": "Database is unavailable, please retry later."})
VALKEY_DOWN = (503, {"detail": "Valkey is unavailable, please retry later."})
LIVEKIT_DOWN = (502, {"detail": "LiveKit is unavailable, please retry later."})
MUTE_FAILED = (502, {"error": "Failed to mute participant"})
ROOMS_WITHOUT_OWNER = (
    "SELECT r.slug FROM meet_room r WHERE NOT EXISTS"
    " (SELECT 1 FROM meet_resource_access a WHERE a.resource_id = r.id AND a.role = 'owner')"
)
#: Phases of the run, in order: a request belongs to the phase it was sent in (one sent
#: before the outage and answered after the part stopped belongs to the outage).
BEFORE, OUTAGE, RESTARTING, AFTER = "before", "outage", "restarting", "after"


@dataclass(frozen=True)
class Seed:
    """What the requests need: a logged-in owner, a public and a restricted room."""

    session_id: str
    csrf: str
    public_slug: str
    restricted_id: str
    finished_id: str
    track_sid: str


@dataclass
class Answer:
    phase: str
    kind: str
    status: int  # 0: no HTTP answer (connection error or timeout)
    body: Any


@dataclass
class Report:
    part: str
    answers: list[Answer] = field(default_factory=list)
    heartbeat_down: tuple[int, Any] | None = None
    outage_seconds: float = 0.0
    recovery_seconds: float = 0.0  # from the restart to a green heartbeat
    duration: float = 0.0

    def by_status(self, *phases: str) -> dict[int, int]:
        counts = collections.Counter(a.status for a in self.answers if not phases or a.phase in phases)
        return dict(sorted(counts.items()))

    def failures(self, *phases: str) -> list[Answer]:
        return [a for a in self.answers if a.phase in phases and not 200 <= a.status < 300]

    def summary(self) -> str:
        sent = len(self.answers)
        return (
            f"{self.part}: {sent} requests in {self.duration:.1f} s ({sent / self.duration:.0f}/s); "
            f"by status {self.by_status()}; during the outage {self.by_status(OUTAGE, RESTARTING)}; "
            f"outage {self.outage_seconds:.1f} s, heartbeat green {self.recovery_seconds:.1f} s after "
            f"the restart; errors after recovery: {len(self.failures(AFTER))} "
            f"of {sum(a.phase == AFTER for a in self.answers)}; heartbeat while down: {self.heartbeat_down}"
        )


def server_env(database_url: str, redis_url: str, livekit: Any, data_dir: Path) -> dict[str, str]:
    """``meet serve`` with the lobby, on these parts; throttles out of the load's way."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LIVEKIT_API_URL": livekit.url,
        "LIVEKIT_API_KEY": livekit.api_key,
        "LIVEKIT_API_SECRET": livekit.api_secret,
        "MEET_DATA_DIR": str(data_dir),
        "MEET_ENV_FILE": "/dev/null",
        "MEET_PLUGINS": "lobby",
        "REQUEST_ENTRY_THROTTLE_RATES": "1000000/minute",
        "REQUEST_ENTRY_ADDRESS_THROTTLE_RATES": "1000000/minute",
        "CREATION_CALLBACK_THROTTLE_RATES": "1000000/minute",
    }


async def seed(database_url: str, redis_url: str, livekit: Any) -> Seed:
    """A user owning a restricted room (with a participant in LiveKit) and a public room, and
    the user's session in Valkey (as the OIDC login stores it)."""
    import valkey.asyncio as valkey
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from meet_core.identity.sessions import SessionData, new_secret, store_session
    from meet_core.rooms.models import ResourceAccess, Room
    from meet_core.users.models import User

    engine = create_async_engine(database_url)
    token = uuid.uuid4().hex[:8]
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            user = User(sub=f"faults-{token}", email=f"owner-{token}@example.com", full_name="Owner")
            rooms = [
                Room(name=f"{kind} {token}", slug=f"{kind}-{token}", access_level=level, configuration={})
                for kind, level in (
                    ("public", "public"),
                    ("restricted", "restricted"),
                    ("finished", "public"),
                )
            ]
            session.add_all([user, *rooms])
            await session.flush()
            session.add_all([ResourceAccess(resource_id=r.id, user_id=user.id, role="owner") for r in rooms])
            await session.commit()
    finally:
        await engine.dispose()
    client = valkey.Valkey.from_url(redis_url)
    try:
        data = SessionData(user_id=str(user.id), csrf=new_secret())
        session_id = await store_session(client, None, data, 3600)
    finally:
        await client.aclose()
    guest = livekit.add_participant(str(rooms[1].id), "guest", tracks=["microphone"])
    return Seed(
        session_id, data.csrf or "", rooms[0].slug, str(rooms[1].id), str(rooms[2].id), guest.tracks[0].sid
    )


def _requests(seed: Seed, livekit: Any) -> list[tuple[str, str, str, dict[str, Any], bool]]:
    """(kind, method, path, keyword arguments, as the owner) of the mix, one of each per round."""
    finished = webhook_body("room_finished", room={"name": seed.finished_id, "sid": "RM_faults"})
    signature = sign_webhook(finished, livekit.api_key, livekit.api_secret)
    restricted = f"{API}/rooms/{seed.restricted_id}"
    return [
        ("join", "GET", f"{API}/rooms/{seed.public_slug}/", {}, False),
        ("join", "GET", f"{API}/rooms/{seed.public_slug}/?username=Guest", {}, False),
        ("retrieve", "GET", f"{restricted}/", {}, True),
        ("create", "POST", f"{API}/rooms/", {"json": {"name": "x", "callback_id": "cb"}}, True),
        ("request-entry", "POST", f"{restricted}/request-entry/", {"json": {"username": "Guest"}}, False),
        ("waiting", "GET", f"{restricted}/waiting-participants/", {}, True),
        ("mute", "POST", f"{restricted}/mute-participant/", {"json": {}}, True),
        ("webhook", "POST", f"{API}/rooms/webhooks-livekit/", {"content": finished,
         "headers": {"Authorization": signature, "Content-Type": "application/webhook+json"}}, False),
    ]  # fmt: skip


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except json.JSONDecodeError:
        return response.text[:200]


async def _heartbeat(client: httpx.AsyncClient) -> tuple[int, Any]:
    try:
        response = await client.get("/__heartbeat__", timeout=10)
    except httpx.HTTPError as exc:
        return 0, repr(exc)
    return response.status_code, response.json()


async def run_outage(
    server: ServerProcess,
    seed: Seed,
    livekit: Any,
    part: str,
    stop: Callable[[], None],
    start: Callable[[], None],
    *,
    rate: float = 300,
    concurrency: int = 16,
    before: float = 2.5,
    outage: float = 3.0,
    after: float = 3.0,
) -> Report:
    """Load ``server`` at ``rate`` requests per second; stop the part ``before`` seconds in,
    start it again ``outage`` seconds later, wait for a green heartbeat, load ``after`` more."""
    report = Report(part)
    phase = BEFORE
    done = asyncio.Event()
    mix = _requests(seed, livekit)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    owner_headers = {"X-CSRFToken": seed.csrf}
    owner_cookies = {"sessionid": seed.session_id, "csrftoken": seed.csrf}
    anonymous = httpx.AsyncClient(base_url=server.url, limits=limits, timeout=20)
    owner = httpx.AsyncClient(
        base_url=server.url, limits=limits, timeout=20, headers=owner_headers, cookies=owner_cookies
    )
    probe = httpx.AsyncClient(base_url=server.url, timeout=10)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    sent = 0

    async def user(number: int) -> None:
        nonlocal sent
        while not done.is_set():
            slot, sent = sent, sent + 1
            delay = t0 + slot / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            kind, method, path, kwargs, as_owner = mix[slot % len(mix)]
            if kind == "mute":
                kwargs = {"json": {"participant_identity": "guest", "track_sid": seed.track_sid}}
            if kind == "create":
                kwargs = {"json": {"name": f"load {uuid.uuid4().hex}", "callback_id": uuid.uuid4().hex}}
            sent_in = phase
            try:
                response = await (owner if as_owner else anonymous).request(method, path, **kwargs)
                status, body = response.status_code, _body(response)
            except httpx.HTTPError as exc:
                status, body = 0, repr(exc)
            # A request in flight when the part stopped belongs to the outage.
            report.answers.append(
                Answer(OUTAGE if sent_in == BEFORE != phase else sent_in, kind, status, body)
            )

    async def control() -> None:
        nonlocal phase
        await asyncio.sleep(before)
        phase = OUTAGE
        down_at = loop.time()
        await asyncio.to_thread(stop)
        # The heartbeat says which part is down (bounded: a loaded machine may be slow).
        deadline = loop.time() + 30
        while loop.time() < deadline:
            status, body = await _heartbeat(probe)
            if status == 503:
                report.heartbeat_down = (status, body)
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, down_at + outage - loop.time()))
        phase = RESTARTING
        restart_at = loop.time()
        await asyncio.to_thread(start)
        report.outage_seconds = loop.time() - down_at
        deadline = loop.time() + 60
        while (await _heartbeat(probe))[0] != 200:
            assert loop.time() < deadline, "the heartbeat did not come back within 60 s of the restart"
            await asyncio.sleep(0.1)
        report.recovery_seconds = loop.time() - restart_at
        phase = AFTER
        await asyncio.sleep(after)
        done.set()

    try:
        await asyncio.gather(control(), *(user(n) for n in range(concurrency)))
    finally:
        done.set()
        report.duration = loop.time() - t0
        for client in (anonymous, owner, probe):
            await client.aclose()
    return report


async def half_written(database_url: str, redis_url: str) -> dict[str, list[str]]:
    """Rows a torn write would leave: rooms without an owner access, lobby entries whose room
    does not exist. Empty lists when every write was whole."""
    import valkey.asyncio as valkey
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            orphan_rooms = list((await connection.execute(text(ROOMS_WITHOUT_OWNER))).scalars())
            ids = (await connection.execute(text("SELECT id FROM meet_room"))).scalars()
            rooms = {str(i).replace("-", "") for i in ids}
    finally:
        await engine.dispose()
    client = valkey.Valkey.from_url(redis_url)
    try:
        keys = [key.decode() async for key in client.scan_iter(match="lobby:*")]
    finally:
        await client.aclose()
    lost = sorted({key for key in keys if key.split("{")[1].split("}")[0].replace("-", "") not in rooms})
    return {"rooms without owner": orphan_rooms, "lobby entries without room": lost}
