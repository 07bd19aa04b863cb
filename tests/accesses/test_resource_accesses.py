"""/resource-accesses/: listing, creation, update, deletion and the ownership invariants."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from meet_core.rooms.models import ResourceAccess
from meet_core.testing.factories import session_maker

URL = "/api/v1.0/resource-accesses/"
DEFAULT_403 = {"detail": "You do not have permission to perform this action."}
ONLY_OWNERS = {"detail": "Only owners of a room can assign other users as owners."}
KEEP_OWNER = {"detail": "A resource should keep at least one owner."}
NOT_ADMIN = {"detail": "You must be administrator or owner of a room to add accesses to it."}


async def _access(meet, room, user) -> ResourceAccess | None:
    async with session_maker(meet.app)() as session:
        return await session.scalar(
            select(ResourceAccess).where(
                ResourceAccess.resource_id == room.id, ResourceAccess.user_id == user.id
            )
        )


async def _world(meet):
    """A room with an owner, an administrator, a member; plus a stranger."""
    people = {
        name: await meet.create_user(full_name=name) for name in ("owner", "admin", "member", "stranger")
    }
    room = await meet.create_room(
        "Access Room",
        accesses=[
            (people["owner"], "owner"),
            (people["admin"], "administrator"),
            (people["member"], "member"),
        ],
    )
    return room, people


def _payload(access: ResourceAccess) -> dict[str, str]:
    return {
        "id": str(access.id),
        "user": str(access.user_id),
        "resource": str(access.resource_id),
        "role": access.role,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("POST", ""), ("GET", "x/"), ("PUT", "x/"), ("PATCH", "x/"), ("DELETE", "x/")],
)
async def test_anonymous_is_401(meet_app, method, path):
    meet = await meet_app()
    response = await meet.client.request(method, URL + path, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Session"


@pytest.mark.parametrize(("caller", "count"), [("owner", 3), ("admin", 3), ("member", 0), ("stranger", 0)])
async def test_list_shows_accesses_of_administered_rooms(meet_app, caller, count):
    meet = await meet_app()
    room, people = await _world(meet)
    await meet.create_room(
        "Other", accesses=[(await meet.create_user(), "owner"), (people["member"], "member")]
    )
    await meet.login(people[caller])
    response = await meet.client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == count
    assert body["next"] is None and body["previous"] is None
    assert all(item["resource"] == str(room.id) for item in body["results"])
    if count:
        owner_access = await _access(meet, room, people["owner"])
        assert _payload(owner_access) in body["results"]


async def test_list_default_pagination_ignores_page_size(meet_app):
    meet = await meet_app()
    owner = await meet.create_user()
    members = [await meet.create_user() for _ in range(22)]
    await meet.create_room("Big", accesses=[(owner, "owner")] + [(m, "member") for m in members])
    await meet.login(owner)
    body = (await meet.client.get(URL, params={"page_size": 5})).json()
    assert body["count"] == 23
    assert len(body["results"]) == 20
    assert body["next"] == "http://testserver.local/api/v1.0/resource-accesses/?page=2&page_size=5"
    page2 = (await meet.client.get(body["next"])).json()
    assert len(page2["results"]) == 3
    ids = {item["id"] for item in body["results"]} | {item["id"] for item in page2["results"]}
    assert len(ids) == 23


@pytest.mark.parametrize(
    ("caller", "status"), [("owner", 200), ("admin", 200), ("member", 403), ("stranger", 403)]
)
async def test_retrieve(meet_app, caller, status):
    meet = await meet_app()
    room, people = await _world(meet)
    access = await _access(meet, room, people["member"])
    await meet.login(people[caller])
    response = await meet.client.get(f"{URL}{access.id}/")
    assert response.status_code == status
    assert response.json() == (_payload(access) if status == 200 else DEFAULT_403)


async def test_retrieve_unknown(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    response = await meet.client.get(f"{URL}not-a-uuid/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    response = await meet.client.get(f"{URL}{uuid.uuid4()}/")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "No ResourceAccess matches the given query."},
    )


@pytest.mark.parametrize(
    ("caller", "role", "status", "error"),
    [
        ("owner", "member", 201, None),
        ("owner", "administrator", 201, None),
        ("owner", "owner", 201, None),
        ("admin", "member", 201, None),
        ("admin", "administrator", 201, None),
        ("admin", "owner", 403, ONLY_OWNERS),
        ("member", "member", 403, NOT_ADMIN),
        ("stranger", "member", 403, NOT_ADMIN),
    ],
)
async def test_create_rules(meet_app, caller, role, status, error):
    meet = await meet_app()
    room, people = await _world(meet)
    newcomer = await meet.create_user()
    await meet.login(people[caller])
    response = await meet.client.post(
        URL, json={"user": str(newcomer.id), "resource": str(room.id), "role": role}
    )
    assert response.status_code == status
    stored = await _access(meet, room, newcomer)
    if status == 201:
        assert response.json() == _payload(stored)
        assert stored.role == role
    else:
        assert response.json() == error
        assert stored is None


async def test_create_defaults_to_member(meet_app):
    meet = await meet_app()
    room, people = await _world(meet)
    newcomer = await meet.create_user()
    await meet.login(people["admin"])
    response = await meet.client.post(URL, json={"user": str(newcomer.id), "resource": str(room.id)})
    assert response.status_code == 201
    assert response.json()["role"] == "member"


async def test_create_duplicate(meet_app):
    meet = await meet_app()
    room, people = await _world(meet)
    await meet.login(people["owner"])
    response = await meet.client.post(URL, json={"user": str(people["member"].id), "resource": str(room.id)})
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["The fields user, resource must make a unique set."]}


async def test_create_field_errors(meet_app):
    meet = await meet_app()
    _room, people = await _world(meet)
    await meet.login(people["owner"])
    response = await meet.client.post(URL, json={})
    assert response.status_code == 400
    assert response.json() == {"user": ["This field is required."], "resource": ["This field is required."]}
    missing = uuid.uuid4()
    response = await meet.client.post(URL, json={"user": "nope", "resource": str(missing), "role": "boss"})
    assert response.status_code == 400
    assert response.json() == {
        "user": ["“nope” is not a valid UUID."],
        "resource": [f'Invalid pk "{missing}" - object does not exist.'],
        "role": ['"boss" is not a valid choice.'],
    }
    response = await meet.client.post(URL, json={"user": None, "resource": True, "role": None})
    assert response.status_code == 400
    assert response.json() == {
        "user": ["This field may not be null."],
        "resource": ["Incorrect type. Expected pk value, received bool."],
        "role": ["This field may not be null."],
    }


async def test_create_on_a_room_not_administered_is_403_before_other_errors(meet_app):
    meet = await meet_app()
    room, people = await _world(meet)
    await meet.login(people["member"])
    response = await meet.client.post(URL, json={"user": "nope", "resource": str(room.id)})
    assert response.status_code == 403
    assert response.json() == NOT_ADMIN


@pytest.mark.parametrize(
    ("caller", "target", "role", "status", "error"),
    [
        ("owner", "member", "administrator", 200, None),
        ("owner", "admin", "owner", 200, None),
        ("admin", "member", "administrator", 200, None),
        ("admin", "admin", "member", 200, None),  # self-demotion of an administrator
        ("admin", "member", "owner", 403, ONLY_OWNERS),
        ("admin", "owner", "member", 403, ONLY_OWNERS),
        ("member", "member", "administrator", 403, DEFAULT_403),
        ("stranger", "member", "administrator", 403, DEFAULT_403),
        ("owner", "owner", "member", 403, KEEP_OWNER),  # last owner
    ],
)
async def test_update_rules(meet_app, caller, target, role, status, error):
    meet = await meet_app()
    room, people = await _world(meet)
    access = await _access(meet, room, people[target])
    before = access.role
    await meet.login(people[caller])
    response = await meet.client.patch(f"{URL}{access.id}/", json={"role": role})
    assert response.status_code == status
    stored = await _access(meet, room, people[target])
    if status == 200:
        assert response.json() == _payload(stored)
        assert stored.role == role
    else:
        assert response.json() == error
        assert stored.role == before


async def test_owner_may_demote_self_when_another_owner_remains(meet_app):
    meet = await meet_app()
    room, people = await _world(meet)
    second = await meet.create_user()
    await meet.login(people["owner"])
    assert (
        await meet.client.post(URL, json={"user": str(second.id), "resource": str(room.id), "role": "owner"})
    ).status_code == 201
    access = await _access(meet, room, people["owner"])
    response = await meet.client.patch(f"{URL}{access.id}/", json={"role": "administrator"})
    assert response.status_code == 200
    assert response.json()["role"] == "administrator"


async def test_update_keeps_user_and_resource(meet_app):
    meet = await meet_app()
    room, people = await _world(meet)
    other_room = await meet.create_room("Elsewhere", accesses=[(people["owner"], "owner")])
    newcomer = await meet.create_user()
    access = await _access(meet, room, people["member"])
    await meet.login(people["owner"])
    response = await meet.client.put(
        f"{URL}{access.id}/",
        json={"user": str(newcomer.id), "resource": str(other_room.id), "role": "administrator"},
    )
    assert response.status_code == 200
    assert response.json() == {**_payload(access), "role": "administrator"}
    # PUT needs user and resource, even though they are kept.
    response = await meet.client.put(f"{URL}{access.id}/", json={"role": "member"})
    assert response.status_code == 400
    assert response.json() == {"user": ["This field is required."], "resource": ["This field is required."]}


async def test_update_with_a_resource_the_caller_does_not_administer(meet_app):
    meet = await meet_app()
    room, people = await _world(meet)
    foreign = await meet.create_room("Foreign", accesses=[(people["stranger"], "owner")])
    access = await _access(meet, room, people["member"])
    await meet.login(people["owner"])
    response = await meet.client.patch(f"{URL}{access.id}/", json={"resource": str(foreign.id)})
    assert response.status_code == 403
    assert response.json() == NOT_ADMIN


@pytest.mark.parametrize(
    ("caller", "target", "status", "error"),
    [
        ("owner", "member", 204, None),
        ("owner", "admin", 204, None),
        ("admin", "member", 204, None),
        ("admin", "admin", 204, None),
        ("member", "member", 403, DEFAULT_403),
        ("admin", "owner", 403, DEFAULT_403),
        ("owner", "owner", 403, KEEP_OWNER),  # last owner
        ("stranger", "member", 403, DEFAULT_403),
    ],
)
async def test_delete_rules(meet_app, caller, target, status, error):
    meet = await meet_app()
    room, people = await _world(meet)
    access = await _access(meet, room, people[target])
    await meet.login(people[caller])
    response = await meet.client.delete(f"{URL}{access.id}/")
    assert response.status_code == status
    stored = await _access(meet, room, people[target])
    if status == 204:
        assert stored is None
    else:
        assert response.json() == error
        assert stored is not None


async def test_owner_may_leave_when_another_owner_remains(meet_app):
    meet = await meet_app()
    room, people = await _world(meet)
    second = await meet.create_user()
    await meet.login(people["owner"])
    await meet.client.post(URL, json={"user": str(second.id), "resource": str(room.id), "role": "owner"})
    access = await _access(meet, room, people["owner"])
    response = await meet.client.delete(f"{URL}{access.id}/")
    assert response.status_code == 204
    assert await _access(meet, room, people["owner"]) is None
