"""GET /rooms/: the caller's rooms, by name, custom pagination, no N+1."""

from __future__ import annotations

import pytest

API = "/api/v1.0"
BASE = "http://testserver.local/api/v1.0/rooms/"


async def test_anonymous_gets_an_empty_page(meet_app):
    meet = await meet_app()
    await meet.create_room("Somebody's")
    response = await meet.client.get(f"{API}/rooms/")
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


async def test_only_rooms_with_an_access_ordered_by_name(meet_app, decode):
    meet = await meet_app()
    me = await meet.create_user()
    other = await meet.create_user()
    await meet.create_room("zulu", accesses=[(me, "member"), (other, "owner")], access_level="restricted")
    await meet.create_room("alpha", accesses=[(me, "owner"), (other, "member")])
    await meet.create_room("mike", accesses=[(me, "administrator")])
    await meet.create_room("not mine", accesses=[(other, "owner")])
    await meet.login(me)
    response = await meet.client.get(f"{API}/rooms/?username=Me")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert (body["next"], body["previous"]) == (None, None)
    names = [room["name"] for room in body["results"]]
    assert names == ["alpha", "mike", "zulu"]
    alpha, mike, zulu = body["results"]
    assert {a["role"] for a in alpha["accesses"]} == {"owner", "member"}
    assert [a["role"] for a in mike["accesses"]] == ["administrator"]
    assert "accesses" not in zulu
    assert "is_administrable" not in zulu
    # A member of a restricted room may join: every item carries its token.
    for item in body["results"]:
        claims = decode(item["livekit"]["token"])
        assert claims["name"] == "Me"
        assert claims["video"]["room"] == item["id"]
    assert decode(zulu["livekit"]["token"])["attributes"]["room_role"] == "member"


async def test_pagination(meet_app):
    meet = await meet_app()
    me = await meet.create_user()
    for index in range(5):
        await meet.create_room(f"room {index}", accesses=[(me, "member")])
    await meet.login(me)
    first = (await meet.client.get(f"{API}/rooms/", params={"page_size": 2, "username": "x"})).json()
    assert first["count"] == 5
    assert [r["name"] for r in first["results"]] == ["room 0", "room 1"]
    assert first["next"] == f"{BASE}?page=2&page_size=2&username=x"
    assert first["previous"] is None
    second = (await meet.client.get(first["next"])).json()
    assert [r["name"] for r in second["results"]] == ["room 2", "room 3"]
    assert second["next"] == f"{BASE}?page=3&page_size=2&username=x"
    assert second["previous"] == f"{BASE}?page_size=2&username=x"
    third = (await meet.client.get(second["next"])).json()
    assert [r["name"] for r in third["results"]] == ["room 4"]
    assert third["next"] is None
    assert third["previous"] == f"{BASE}?page=2&page_size=2&username=x"
    last = (await meet.client.get(f"{API}/rooms/", params={"page_size": 2, "page": "last"})).json()
    assert [r["name"] for r in last["results"]] == ["room 4"]


@pytest.mark.parametrize("page", ["4", "0", "-1", "abc"])
async def test_invalid_page(meet_app, page):
    meet = await meet_app()
    me = await meet.create_user()
    for index in range(5):
        await meet.create_room(f"room {index}", accesses=[(me, "member")])
    await meet.login(me)
    response = await meet.client.get(f"{API}/rooms/", params={"page_size": 2, "page": page})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize(
    ("page_size", "expected"), [("0", 20), ("-3", 20), ("abc", 20), ("500", 100), ("25", 25)]
)
async def test_page_size_bounds(meet_app, page_size, expected):
    meet = await meet_app()
    me = await meet.create_user()
    from meet_core.rooms.models import ResourceAccess, Room
    from meet_core.testing.factories import session_maker

    async with session_maker(meet.app)() as session:
        for index in range(120):
            room = Room(
                name=f"bulk {index:03}", slug=f"bulk-{index:03}", access_level="public", configuration={}
            )
            session.add(room)
            await session.flush()
            session.add(ResourceAccess(resource_id=room.id, user_id=me.id, role="member"))
        await session.commit()
    await meet.login(me)
    body = (await meet.client.get(f"{API}/rooms/", params={"page_size": page_size})).json()
    assert body["count"] == 120
    assert len(body["results"]) == expected


async def test_queries_do_not_grow_with_the_page(meet_app, count_queries):
    meet = await meet_app()
    me = await meet.create_user()
    others = [await meet.create_user() for _ in range(3)]
    for index in range(12):
        role = "owner" if index % 2 else "member"
        await meet.create_room(f"room {index:02}", accesses=[(me, role)] + [(o, "member") for o in others])
    await meet.login(me)
    with count_queries(meet) as statements:
        response = await meet.client.get(f"{API}/rooms/")
    assert len(response.json()["results"]) == 12
    # user, count, page with roles, accesses of the administered rooms
    assert len(statements) == 4, statements
