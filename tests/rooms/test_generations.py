"""The logged-in caches across workers: generation stamps in Valkey (``meet_core.generations``).

Two applications on the same database and Valkey are two workers (or two hosts). Worker B
warms its caches (the room, then the caller's view of it: a third request reads nothing
from the database), worker A changes something through the API (or ``meet users``), and
B's very next request must show it. A change made behind both workers' backs (raw SQL)
shows within ``LOGGED_IN_CACHE_TTL``.
"""

from __future__ import annotations

import asyncio

from click.testing import CliRunner
from sqlalchemy import delete

from meet_core.cli import main
from meet_core.rooms.models import ResourceAccess
from meet_core.testing.factories import session_maker

API = "/api/v1.0"
CACHED = {"ROOM_CACHE_TTL": "30", "LOGGED_IN_CACHE_TTL": "30"}


async def _two_workers(meet_app, **env):
    worker_a = await meet_app(env={**CACHED, **env})
    worker_b = await meet_app(env={**CACHED, **env})
    return worker_a, worker_b


async def _room(meet):
    owner = await meet.create_user(full_name="Olive Owner")
    admin = await meet.create_user(full_name="Ada Admin")
    member = await meet.create_user(full_name="Max Member")
    accesses = [(owner, "owner"), (admin, "administrator"), (member, "member")]
    room = await meet.create_room("Stamped", access_level="restricted", accesses=accesses)
    return room, owner, admin, member


async def _access_id(meet, room, user) -> str:
    async with session_maker(meet.app)() as session:
        access = await session.scalar(
            ResourceAccess.__table__.select()
            .with_only_columns(ResourceAccess.__table__.c.id)
            .where(ResourceAccess.resource_id == room.id, ResourceAccess.user_id == user.id)
        )
    return str(access)


async def test_a_revoked_access_is_seen_by_the_other_worker(meet_app, served_from_cache):
    worker_a, worker_b = await _two_workers(meet_app)
    room, owner, admin, _ = await _room(worker_a)
    await worker_a.login(owner)
    await worker_b.login(admin)
    assert "accesses" in await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/{room.slug}/")
    access = await _access_id(worker_a, room, admin)
    assert (await worker_a.client.delete(f"{API}/resource-accesses/{access}/")).status_code == 204
    body = (await worker_b.client.get(f"{API}/rooms/{room.slug}/")).json()
    assert set(body) == {"id", "name", "slug", "configuration", "access_level"}  # a stranger now


async def test_a_role_change_is_seen_by_the_other_worker(meet_app, served_from_cache):
    worker_a, worker_b = await _two_workers(meet_app)
    room, owner, _, member = await _room(worker_a)
    await worker_a.login(owner)
    await worker_b.login(member)
    assert "accesses" not in await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/{room.id}/")
    access = await _access_id(worker_a, room, member)
    url = f"{API}/resource-accesses/{access}/"
    response = await worker_a.client.patch(url, json={"role": "administrator"})
    assert response.status_code == 200
    body = (await worker_b.client.get(f"{API}/rooms/{room.id}/")).json()
    roles = {a["user"]["id"]: a["role"] for a in body["accesses"]}
    assert roles[str(member.id)] == "administrator"


async def test_a_room_deleted_on_one_worker_is_gone_on_the_other(meet_app, served_from_cache):
    worker_a, worker_b = await _two_workers(meet_app)
    room, owner, *_ = await _room(worker_a)
    await worker_a.login(owner)
    await worker_b.login(owner)
    await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/{room.id}/")
    assert (await worker_a.client.delete(f"{API}/rooms/{room.id}/")).status_code == 204
    assert (await worker_b.client.get(f"{API}/rooms/{room.id}/")).status_code == 404


async def test_a_room_renamed_on_one_worker_shows_on_the_other(meet_app, served_from_cache):
    worker_a, worker_b = await _two_workers(meet_app)
    room, owner, *_ = await _room(worker_a)
    await worker_a.login(owner)
    await worker_b.login(owner)
    await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/{room.id}/")
    response = await worker_a.client.patch(f"{API}/rooms/{room.id}/", json={"access_level": "public"})
    assert response.status_code == 200
    assert (await worker_b.client.get(f"{API}/rooms/{room.id}/")).json()["access_level"] == "public"


async def test_a_user_deactivated_by_the_command_line_is_anonymous_on_every_worker(
    meet_app, meet_env, served_from_cache
):
    worker_a, worker_b = await _two_workers(meet_app)
    room, owner, *_ = await _room(worker_a)
    await worker_b.login(owner)
    await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/{room.id}/")
    for _ in range(2):
        assert (await worker_b.client.get(f"{API}/users/me/")).status_code == 200
    env = {**meet_env, **CACHED}
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["users", "deactivate", str(owner.id)], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (await worker_b.client.get(f"{API}/users/me/")).status_code == 401
    body = (await worker_b.client.get(f"{API}/rooms/{room.id}/")).json()
    assert set(body) == {"id", "name", "slug", "configuration", "access_level"}


async def test_a_user_change_shows_in_me_and_in_the_rooms_accesses_on_the_other_worker(
    meet_app, served_from_cache
):
    worker_a, worker_b = await _two_workers(meet_app)
    room, owner, admin, _ = await _room(worker_a)
    await worker_a.login(admin)
    await worker_b.login(owner)
    async with worker_b.new_client() as admin_on_b:
        await worker_b.login(admin, admin_on_b)
        for _ in range(2):
            assert (await admin_on_b.get(f"{API}/users/me/")).json()["timezone"] == "UTC"
        await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/{room.id}/")
        response = await worker_a.client.patch(f"{API}/users/{admin.id}/", json={"timezone": "Europe/Paris"})
        assert response.status_code == 200
        assert (await admin_on_b.get(f"{API}/users/me/")).json()["timezone"] == "Europe/Paris"
    body = (await worker_b.client.get(f"{API}/rooms/{room.id}/")).json()
    users = {a["user"]["id"]: a["user"] for a in body["accesses"]}
    assert users[str(admin.id)]["timezone"] == "Europe/Paris"


async def test_a_raw_sql_change_shows_within_the_ttl(meet_app):
    """Behind every worker's back (no stamp bumped): within ``LOGGED_IN_CACHE_TTL`` seconds."""
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30", "LOGGED_IN_CACHE_TTL": "0.5"})
    room, _, admin, _ = await _room(meet)
    await meet.login(admin)
    for _ in range(2):
        assert "accesses" in (await meet.client.get(f"{API}/rooms/{room.id}/")).json()
    async with session_maker(meet.app)() as session:
        await session.execute(delete(ResourceAccess).where(ResourceAccess.user_id == admin.id))
        await session.commit()
    # Still cached: the point of the cache (and why the TTL is the bound for such writes).
    assert "accesses" in (await meet.client.get(f"{API}/rooms/{room.id}/")).json()
    await asyncio.sleep(0.6)
    assert "accesses" not in (await meet.client.get(f"{API}/rooms/{room.id}/")).json()


async def test_odd_sessions_are_anonymous_with_the_caches_on(meet_app):
    """The session read by the stamps' script: a list under its key, or JSON without a user."""
    from meet_core.state import valkey_client

    meet = await meet_app(env=CACHED)
    room, *_ = await _room(meet)
    valkey = valkey_client(meet.app)
    await valkey.rpush("session:listed", "a", "b")
    await valkey.set("session:nouser", b'{"user_id": null, "csrf": "x"}')
    await valkey.set("session:garbage", b"{not json")
    for session_id in ("listed", "nouser", "garbage"):
        meet.client.cookies.set("sessionid", session_id, domain="testserver.local")
        assert (await meet.client.get(f"{API}/users/me/")).status_code == 401
        body = (await meet.client.get(f"{API}/rooms/{room.id}/")).json()
        assert set(body) == {"id", "name", "slug", "configuration", "access_level"}
