"""The room list from a worker's cache (``GET rooms/`` under the user's generation stamp).

Two applications on one database and Valkey are two workers. Worker B warms its cached list
(the third request reads nothing from the database), worker A changes something through the
API, and B's very next list must show it: every change to one of a user's rooms (its row, its
accesses, the user of one of them) bumps the stamps of all its members. Then the LiveKit
tokens in those lists: the same caller asking again gets the same token for a short while
(``meet_core.livekit.tokens.RecentTokens``), and any change of a claim gives a new one.
"""

from __future__ import annotations

import asyncio

import jwt

API = "/api/v1.0"
CACHED = {"ROOM_CACHE_TTL": "30", "LOGGED_IN_CACHE_TTL": "30"}


async def _two_workers(meet_app):
    return await meet_app(env=CACHED), await meet_app(env=CACHED)


async def _rooms(meet):
    """Olive owns two rooms with Ada as administrator and Max as member, and is a member of a third."""
    olive = await meet.create_user(full_name="Olive Owner")
    ada = await meet.create_user(full_name="Ada Admin")
    max_ = await meet.create_user(full_name="Max Member")
    team = [(olive, "owner"), (ada, "administrator"), (max_, "member")]
    first = await meet.create_room("Bravo", accesses=team)
    second = await meet.create_room("Charlie", accesses=team)
    third = await meet.create_room("Delta", accesses=[(ada, "owner"), (olive, "member")])
    return (olive, ada, max_), (first, second, third)


def _names(body: dict) -> list[str]:
    return [room["name"] for room in body["results"]]


async def _access_id(client, room_id, user_id) -> str:
    body = (await client.get(f"{API}/rooms/{room_id}/")).json()
    return next(a["id"] for a in body["accesses"] if a["user"]["id"] == str(user_id))


async def test_a_room_created_on_one_worker_is_listed_on_the_other(meet_app, served_from_cache):
    worker_a, worker_b = await _two_workers(meet_app)
    (olive, *_), _ = await _rooms(worker_a)
    await worker_a.login(olive)
    await worker_b.login(olive)
    assert (await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/"))["count"] == 3
    assert (await worker_a.client.post(f"{API}/rooms/", json={"name": "Alpha"})).status_code == 201
    body = (await worker_b.client.get(f"{API}/rooms/")).json()
    assert body["count"] == 4 and _names(body) == ["Alpha", "Bravo", "Charlie", "Delta"]


async def test_an_access_granted_or_revoked_on_one_worker_shows_in_the_other_workers_list(
    meet_app, served_from_cache
):
    worker_a, worker_b = await _two_workers(meet_app)
    (_, ada, max_), (first, _, third) = await _rooms(worker_a)
    await worker_a.login(ada)  # owner of Delta, administrator of Bravo
    await worker_b.login(max_)
    assert _names(await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/")) == ["Bravo", "Charlie"]
    body = {"user": str(max_.id), "resource": str(third.id), "role": "member"}
    assert (await worker_a.client.post(f"{API}/resource-accesses/", json=body)).status_code == 201
    assert _names((await worker_b.client.get(f"{API}/rooms/")).json()) == ["Bravo", "Charlie", "Delta"]
    access = await _access_id(worker_a.client, first.id, max_.id)
    assert (await worker_a.client.delete(f"{API}/resource-accesses/{access}/")).status_code == 204
    body = (await worker_b.client.get(f"{API}/rooms/")).json()
    assert body["count"] == 2 and _names(body) == ["Charlie", "Delta"]


async def test_a_role_change_shows_in_the_list_with_a_new_token(meet_app, served_from_cache):
    worker_a, worker_b = await _two_workers(meet_app)
    (olive, _, max_), (first, *_) = await _rooms(worker_a)
    await worker_a.login(olive)
    await worker_b.login(max_)
    listed = (await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/"))["results"][0]
    assert "accesses" not in listed
    access = await _access_id(worker_a.client, first.id, max_.id)
    url = f"{API}/resource-accesses/{access}/"
    assert (await worker_a.client.patch(url, json={"role": "administrator"})).status_code == 200
    now = (await worker_b.client.get(f"{API}/rooms/")).json()["results"][0]
    assert {a["user"]["id"]: a["role"] for a in now["accesses"]}[str(max_.id)] == "administrator"
    claims = jwt.decode(now["livekit"]["token"], options={"verify_signature": False})
    assert claims["attributes"]["room_role"] == "administrator" and claims["video"]["roomAdmin"] is True


async def test_a_room_renamed_off_the_page_moves_onto_it_on_the_other_worker(meet_app, served_from_cache):
    """A change to a room the cached page does not show still reaches it: the user's stamp."""
    worker_a, worker_b = await _two_workers(meet_app)
    (olive, *_), (_, second, _) = await _rooms(worker_a)
    await worker_a.login(olive)
    await worker_b.login(olive)
    page = await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/?page_size=1")
    assert _names(page) == ["Bravo"]
    response = await worker_a.client.patch(f"{API}/rooms/{second.id}/", json={"name": "Able"})
    assert response.status_code == 200
    assert _names((await worker_b.client.get(f"{API}/rooms/?page_size=1")).json()) == ["Able"]


async def test_a_room_deleted_on_one_worker_leaves_every_members_list(meet_app, served_from_cache):
    worker_a, worker_b = await _two_workers(meet_app)
    (olive, ada, _), (first, *_) = await _rooms(worker_a)
    await worker_a.login(olive)
    await worker_b.login(ada)
    assert (await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/"))["count"] == 3
    assert (await worker_a.client.delete(f"{API}/rooms/{first.id}/")).status_code == 204
    body = (await worker_b.client.get(f"{API}/rooms/")).json()
    assert body["count"] == 2 and _names(body) == ["Charlie", "Delta"]


async def test_a_members_profile_change_shows_in_the_accesses_of_the_other_workers_list(
    meet_app, served_from_cache
):
    worker_a, worker_b = await _two_workers(meet_app)
    (olive, _, max_), _ = await _rooms(worker_a)
    await worker_a.login(max_)
    await worker_b.login(olive)
    await served_from_cache(worker_b, worker_b.client, f"{API}/rooms/")
    response = await worker_a.client.patch(f"{API}/users/{max_.id}/", json={"timezone": "Europe/Paris"})
    assert response.status_code == 200
    for room in (await worker_b.client.get(f"{API}/rooms/")).json()["results"][:2]:
        users = {a["user"]["id"]: a["user"] for a in room["accesses"]}
        assert users[str(max_.id)]["timezone"] == "Europe/Paris"


async def test_a_callers_tokens_are_reused_for_a_short_while_with_the_same_claims(meet_app):
    meet = await meet_app(env=CACHED)
    (olive, *_), (first, *_) = await _rooms(meet)
    await meet.login(olive)
    listed = [(await meet.client.get(f"{API}/rooms/")).json()["results"]]
    await asyncio.sleep(1.1)  # a token signed now would carry another ``nbf`` (whole seconds)
    listed.append((await meet.client.get(f"{API}/rooms/")).json()["results"])
    retrieved = [(await meet.client.get(f"{API}/rooms/{first.id}/")).json() for _ in range(2)]
    tokens = {room["livekit"]["token"] for room in (listed[0][0], listed[1][0], *retrieved)}
    assert len(tokens) == 1  # the list and the retrieve ask for the very same token
    claims = jwt.decode(tokens.pop(), options={"verify_signature": False})
    assert claims["sub"] == olive.sub and claims["video"]["room"] == str(first.id)
    assert claims["exp"] - claims["nbf"] == 6 * 3600
    # Another room is another token; an anonymous caller gets a fresh identity every time.
    assert listed[0][1]["livekit"]["token"] != listed[0][0]["livekit"]["token"]
    async with meet.new_client() as stranger:
        anonymous = [
            (await stranger.get(f"{API}/rooms/{first.slug}/")).json()["livekit"]["token"] for _ in range(2)
        ]
    assert anonymous[0] != anonymous[1]
