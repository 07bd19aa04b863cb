"""POST /rooms/ without ``meet_room_created`` implementations: one guarded insert, no ORM.

The caller may come from the worker's stamped user cache, so the insert itself must refuse a
user deactivated or deleted behind the server's back; the rows are committed before the
response, the owner's access with the room, and the stamps bumped (another worker's caches
see the new room at once).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, func, select, update

from meet_core.rooms.models import ResourceAccess, Room
from meet_core.state import valkey_client
from meet_core.testing.factories import session_maker
from meet_core.users.models import User
from meet_telephony import TelephonyPlugin

API = "/api/v1.0"
CACHED = {"ROOM_CACHE_TTL": "30", "LOGGED_IN_CACHE_TTL": "30"}


async def _rows(meet, slug: str) -> tuple[list[Room], list[ResourceAccess]]:
    async with session_maker(meet.app)() as session:
        rooms = list((await session.scalars(select(Room).where(Room.slug == slug))).all())
        ids = [room.id for room in rooms]
        found = await session.scalars(select(ResourceAccess).where(ResourceAccess.resource_id.in_(ids)))
        accesses = list(found.all())
    return rooms, accesses


async def _count(meet, model) -> int:
    async with session_maker(meet.app)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _cached_then_changed_behind_the_back(meet, statement_of, client=None) -> None:
    """Log in (on ``client``, else the main one), let the worker cache the user (a GET), then
    change the user's row with raw SQL."""
    client = client or meet.client
    user = await meet.create_user()
    await meet.login(user, client)
    for _ in range(2):
        assert (await client.get(f"{API}/users/me/")).status_code == 200
    async with session_maker(meet.app)() as session:
        await session.execute(statement_of(user))
        await session.commit()
    # Still cached for GETs (no stamp was bumped): the insert must refuse the user by itself.
    assert (await client.get(f"{API}/users/me/")).status_code == 200


async def test_a_deactivated_users_session_cannot_create_even_from_the_cache(meet_app):
    meet = await meet_app(env=CACHED)
    await _cached_then_changed_behind_the_back(meet, _deactivate)
    rooms, accesses = await _count(meet, Room), await _count(meet, ResourceAccess)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Never Made"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert (await _count(meet, Room), await _count(meet, ResourceAccess)) == (rooms, accesses)


async def test_a_deleted_users_session_cannot_create_even_from_the_cache(meet_app):
    meet = await meet_app(env=CACHED)
    await _cached_then_changed_behind_the_back(meet, lambda user: delete(User).where(User.id == user.id))
    rooms = await _count(meet, Room)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Never Made"})
    assert response.status_code == 401
    assert await _count(meet, Room) == rooms


async def test_a_deactivated_user_cannot_create_without_caches(meet_app):
    meet = await meet_app(env={"LOGGED_IN_CACHE_TTL": "0"})
    user = await meet.create_user(is_active=False)
    await meet.login(user)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Never Made"})
    assert response.status_code == 401
    assert await _count(meet, Room) == 0


async def test_the_owner_access_is_stored_with_the_room(meet_app):
    meet = await meet_app()
    user = await meet.create_user(full_name="Olga Owner")
    await meet.login(user)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Owned"})
    assert response.status_code == 201
    body = response.json()
    [room], [access] = await _rows(meet, "owned")
    assert str(room.id) == body["id"]
    assert (access.user_id, access.role, str(access.id)) == (user.id, "owner", body["accesses"][0]["id"])
    assert body["accesses"][0]["user"]["full_name"] == "Olga Owner"
    assert room.created_at is not None and room.updated_at is not None


async def test_concurrent_creations_of_one_name_give_one_room(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    other = meet.new_client()
    async with other:
        await meet.login(await meet.create_user(), other)
        responses = await asyncio.gather(
            meet.client.post(f"{API}/rooms/", json={"name": "Race Room"}),
            other.post(f"{API}/rooms/", json={"name": "race room"}),
        )
    assert sorted(response.status_code for response in responses) == [201, 400]
    [lost] = [response for response in responses if response.status_code == 400]
    assert lost.json() == {"slug": ["Room with this Slug already exists."]}
    rooms, accesses = await _rows(meet, "race-room")
    assert len(rooms) == 1 and len(accesses) == 1
    assert await _count(meet, ResourceAccess) == 1  # no stray access of the loser


async def test_a_new_room_shows_in_the_list_on_another_worker_with_caches_on(meet_app):
    worker_a = await meet_app(env=CACHED)
    worker_b = await meet_app(env=CACHED)
    user = await worker_a.create_user()
    await worker_a.login(user)
    await worker_b.login(user)
    for _ in range(2):  # B caches the user under its stamp
        assert (await worker_b.client.get(f"{API}/users/me/")).status_code == 200
    assert (await worker_b.client.get(f"{API}/rooms/")).json()["count"] == 0
    valkey = valkey_client(worker_a.app)
    user_stamp = await valkey.get(f"gen:user:{user.id}")
    rooms_stamp = await valkey.get(f"gen:rooms-of:{user.id}")
    response = await worker_a.client.post(f"{API}/rooms/", json={"name": "Fresh"})
    assert response.status_code == 201
    room_id = response.json()["id"]
    # The stamps of the user's rooms and of the room replaced before the response: every
    # worker's cached lists are dropped. The user's own row did not change: its stamp stays.
    assert await valkey.get(f"gen:rooms-of:{user.id}") not in (None, rooms_stamp)
    assert await valkey.get(f"gen:room:{room_id}") is not None
    assert await valkey.get(f"gen:user:{user.id}") == user_stamp
    listed = (await worker_b.client.get(f"{API}/rooms/")).json()
    assert [room["id"] for room in listed["results"]] == [room_id]
    assert (await worker_b.client.get(f"{API}/rooms/fresh/")).json()["accesses"][0]["role"] == "owner"


async def test_repeated_creations_read_the_user_from_the_cache(meet_app, count_queries):
    """A creation changes no user row (the user's stamp stays): the next one reads no user."""
    meet = await meet_app(env=CACHED)
    await meet.login(await meet.create_user())
    assert (await meet.client.post(f"{API}/rooms/", json={"name": "First"})).status_code == 201
    with count_queries(meet) as statements:
        assert (await meet.client.post(f"{API}/rooms/", json={"name": "Second"})).status_code == 201
    # PostgreSQL: the one statement runs on the driver's connection (meet_core.db.driver), out
    # of SQLAlchemy's events; SQLite: the two inserts and the owner's row, in one transaction.
    postgres = meet.app.state.db_config.get_engine().dialect.name == "postgresql"
    assert len(statements) == (0 if postgres else 3), statements
    assert all("INSERT" in statement or "meet_user" in statement for statement in statements)


async def test_a_user_change_made_elsewhere_shows_in_the_creation(meet_app):
    """A stamp bumped between the session read and the creation: no stale re-caching."""
    worker_a = await meet_app(env=CACHED)
    worker_b = await meet_app(env=CACHED)
    user = await worker_a.create_user()
    await worker_a.login(user)
    await worker_b.login(user)
    assert (await worker_a.client.post(f"{API}/rooms/", json={"name": "One"})).status_code == 201
    response = await worker_b.client.patch(f"{API}/users/{user.id}/", json={"timezone": "Europe/Paris"})
    assert response.status_code == 200
    created = (await worker_a.client.post(f"{API}/rooms/", json={"name": "Two"})).json()
    assert created["accesses"][0]["user"]["timezone"] == "Europe/Paris"
    assert (await worker_a.client.get(f"{API}/users/me/")).json()["timezone"] == "Europe/Paris"


async def test_callback_is_readable_once_the_room_exists(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Handed Over", "callback_id": "cb-9"})
    assert response.status_code == 201
    async with meet.new_client() as poller:
        answer = await poller.post(f"{API}/rooms/creation-callback/", json={"callback_id": "cb-9"})
    assert answer.json() == {"status": "success", "room": {"slug": "handed-over"}}
    assert len((await _rows(meet, "handed-over"))[0]) == 1


async def test_a_room_created_hook_keeps_the_orm_path_and_telephony_sets_a_pin(meet_app):
    meet = await meet_app(plugins=[TelephonyPlugin])
    user = await meet.create_user()
    await meet.login(user)
    response = await meet.client.post(f"{API}/rooms/", json={"name": "Dial In"})
    assert response.status_code == 201
    body = response.json()
    assert body["pin_code"] and body["pin_code"].isdigit()
    assert body["accesses"][0]["role"] == "owner"
    assert (await meet.client.get(f"{API}/rooms/dial-in/")).json()["pin_code"] == body["pin_code"]
    inactive = await meet.create_user(is_active=False)
    await meet.login(inactive)
    assert (await meet.client.post(f"{API}/rooms/", json={"name": "Not Me"})).status_code == 401


async def test_concurrent_creations_each_get_their_own_answer(meet_app):
    """On PostgreSQL these share statements (meet_core.rooms.batched_insert): one refused room
    (a taken slug, an owner deactivated behind the cache's back) must not affect its neighbours."""
    meet = await meet_app(env=CACHED)
    owner = await meet.create_user(full_name="Busy Owner")
    await meet.login(owner)
    taken = await meet.client.post(f"{API}/rooms/", json={"name": "Taken Already"})
    assert taken.status_code == 201
    gone = meet.new_client()
    async with gone:
        await _cached_then_changed_behind_the_back(meet, _deactivate, gone)
        names = [f"Busy {n}" for n in range(8)]
        responses = await asyncio.gather(
            *(meet.client.post(f"{API}/rooms/", json={"name": name}) for name in names),
            meet.client.post(f"{API}/rooms/", json={"name": "taken already"}),
            meet.client.post(f"{API}/rooms/", json={"name": "Twice"}),
            meet.client.post(f"{API}/rooms/", json={"name": "twice"}),
            gone.post(f"{API}/rooms/", json={"name": "Never Made"}),
        )
    created, slug_taken, twice_a, twice_b, refused = responses[:8], responses[8], *responses[9:]
    for name, response in zip(names, created, strict=True):
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["name"] == name and body["slug"] == name.lower().replace(" ", "-")
        assert [(a["role"], a["user"]["full_name"]) for a in body["accesses"]] == [("owner", "Busy Owner")]
    assert slug_taken.status_code == 400
    assert slug_taken.json() == {"slug": ["Room with this Slug already exists."]}
    assert sorted([twice_a.status_code, twice_b.status_code]) == [201, 400]
    assert refused.status_code == 401
    # Every created room has its owner's access, and nothing else was written.
    for name in [*names, "Twice", "Taken Already"]:
        rooms, accesses = await _rows(meet, name.lower().replace(" ", "-"))
        assert len(rooms) == 1 and [(a.user_id, a.role) for a in accesses] == [(owner.id, "owner")]
    assert await _rows(meet, "never-made") == ([], [])
    assert (await _count(meet, Room), await _count(meet, ResourceAccess)) == (10, 10)
    listed = (await meet.client.get(f"{API}/rooms/")).json()
    assert listed["count"] == 10


def _deactivate(user):
    return update(User).where(User.id == user.id).values(is_active=False)
