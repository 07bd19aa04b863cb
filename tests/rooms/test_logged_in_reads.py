"""The logged-in read paths (issue #18): one statement, no ORM, and never stale.

The session's user, their role and the room's accesses are read together, on every request,
outside any transaction (``service.user_role_and_accesses``); these tests pin what that
must keep: the exact payload, and changes made behind the worker's back (another worker,
the command line) seen by the very next request. They run with the logged-in caches off
(``LOGGED_IN_CACHE_TTL=0`` in the test environment); with them on, the same guarantees across
workers come from the generation stamps (``tests/rooms/test_generations.py``).
"""

from __future__ import annotations

from sqlalchemy import delete, update

from meet_core.rooms.models import ResourceAccess
from meet_core.testing.factories import session_maker
from meet_core.users.models import User

API = "/api/v1.0"
USER_KEYS = {
    "id",
    "email",
    "full_name",
    "short_name",
    "timezone",
    "language",
    "default_room_access_level",
    "default_room_configuration",
}


async def _crowded_room(meet, level: str = "restricted"):
    owner = await meet.create_user(full_name="Olive Owner", short_name="Olive", timezone="Europe/Paris")
    admin = await meet.create_user(full_name="Ada Admin")
    members = [await meet.create_user(full_name=f"Member {i}") for i in range(3)]
    accesses = [(owner, "owner"), (admin, "administrator")] + [(m, "member") for m in members]
    room = await meet.create_room("Crowded", access_level=level, accesses=accesses)
    return room, owner, admin, members


async def _write(meet, *statements) -> None:
    """Change the database behind the app's back, as another worker or ``meet users`` would."""
    async with session_maker(meet.app)() as session:
        for statement in statements:
            await session.execute(statement)
        await session.commit()


async def test_owner_retrieve_is_one_statement_once_the_room_is_cached(meet_app, count_queries):
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30"})
    room, owner, *_ = await _crowded_room(meet)
    await meet.login(owner)
    await meet.client.get(f"{API}/rooms/{room.slug}/")  # the room enters the worker cache
    with count_queries(meet) as statements:
        response = await meet.client.get(f"{API}/rooms/{room.slug}/")
    assert response.status_code == 200
    assert len(response.json()["accesses"]) == 5
    assert len(statements) == 1, statements  # user, role and accesses together
    assert not any(s.strip().upper().startswith(("BEGIN", "COMMIT")) for s in statements)


async def test_nested_accesses_keep_their_exact_shape(meet_app):
    meet = await meet_app()
    room, owner, admin, members = await _crowded_room(meet)
    await meet.login(owner)
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    by_user = {access["user"]["id"]: access for access in body["accesses"]}
    assert set(by_user) == {str(u.id) for u in [owner, admin, *members]}
    for access in body["accesses"]:
        assert set(access) == {"id", "user", "resource", "role"}
        assert set(access["user"]) == USER_KEYS
        assert access["resource"] == str(room.id)
    assert by_user[str(owner.id)]["role"] == "owner"
    assert by_user[str(owner.id)]["user"] == {
        "id": str(owner.id),
        "email": owner.email,
        "full_name": "Olive Owner",
        "short_name": "Olive",
        "timezone": "Europe/Paris",
        "language": owner.language,
        "default_room_access_level": None,
        "default_room_configuration": {},
    }
    # The same accesses as the resource-accesses endpoint shows, newest first.
    async with session_maker(meet.app)() as session:
        ids = [
            str(i)
            for i in (
                await session.scalars(
                    ResourceAccess.__table__.select()
                    .with_only_columns(ResourceAccess.__table__.c.id)
                    .where(ResourceAccess.__table__.c.resource_id == room.id)
                    .order_by(ResourceAccess.__table__.c.created_at.desc(), ResourceAccess.__table__.c.id)
                )
            ).all()
        ]
    assert [access["id"] for access in body["accesses"]] == ids


async def test_a_revoked_access_is_seen_by_the_next_request(meet_app):
    meet = await meet_app()
    room, _, admin, _ = await _crowded_room(meet)
    await meet.login(admin)
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    assert "accesses" in body and "livekit" in body
    await _write(meet, delete(ResourceAccess).where(ResourceAccess.user_id == admin.id))
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    # A stranger to a restricted room now: no accesses, no token, no pin code.
    assert set(body) == {"id", "name", "slug", "configuration", "access_level"}


async def test_a_role_change_is_seen_by_the_next_request(meet_app):
    meet = await meet_app()
    room, _, admin, members = await _crowded_room(meet)
    await meet.login(members[0])
    assert "accesses" not in (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    await _write(
        meet,
        update(ResourceAccess).where(ResourceAccess.user_id == members[0].id).values(role="administrator"),
        update(ResourceAccess).where(ResourceAccess.user_id == admin.id).values(role="member"),
    )
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    roles = {access["user"]["id"]: access["role"] for access in body["accesses"]}
    assert roles[str(members[0].id)] == "administrator"
    assert roles[str(admin.id)] == "member"


async def test_a_deactivated_user_is_anonymous_at_once(meet_app):
    meet = await meet_app()
    room, owner, *_ = await _crowded_room(meet, level="trusted")
    await meet.login(owner)
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 200
    assert "accesses" in (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    await _write(meet, update(User).where(User.id == owner.id).values(is_active=False))
    assert (await meet.client.get(f"{API}/users/me/")).status_code == 401
    body = (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()
    assert "accesses" not in body and "livekit" not in body  # trusted: logged-in users only
    listing = (await meet.client.get(f"{API}/rooms/")).json()
    assert listing["count"] == 0


async def test_a_room_deleted_on_this_worker_is_gone_at_once(meet_app):
    meet = await meet_app(env={"ROOM_CACHE_TTL": "30"})
    room, owner, *_ = await _crowded_room(meet)
    await meet.login(owner)
    for key in (room.slug, room.id):  # both keys cached
        assert (await meet.client.get(f"{API}/rooms/{key}/")).json()["id"] == str(room.id)
    assert (await meet.client.delete(f"{API}/rooms/{room.id}/")).status_code == 204
    assert (await meet.client.get(f"{API}/rooms/{room.id}/")).status_code == 404
    # The slug now names an unregistered room (ALLOW_UNREGISTERED_ROOMS), not the deleted one.
    assert (await meet.client.get(f"{API}/rooms/{room.slug}/")).json()["id"] is None
    assert (await meet.client.get(f"{API}/rooms/")).json()["count"] == 0


async def test_the_session_user_still_updates_and_creates(meet_app):
    """The user is read without the ORM session; writes that use it still work."""
    meet = await meet_app()
    me = await meet.create_user(default_room_access_level="trusted")
    await meet.login(me)
    response = await meet.client.patch(f"{API}/users/{me.id}/", json={"timezone": "Europe/Berlin"})
    assert response.status_code == 200
    assert (await meet.client.get(f"{API}/users/me/")).json()["timezone"] == "Europe/Berlin"
    created = await meet.client.post(f"{API}/rooms/", json={"name": "Mine"})
    assert created.status_code == 201
    body = created.json()
    assert body["access_level"] == "trusted"  # the user's default
    [access] = body["accesses"]
    assert access["role"] == "owner" and access["user"]["id"] == str(me.id)
    assert access["user"]["timezone"] == "Europe/Berlin"
