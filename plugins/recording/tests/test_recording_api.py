"""The recordings API (api.md §2.9): list, retrieve, delete by the recording's own accesses."""

from __future__ import annotations

import datetime

from meet_core.testing.factories import session_maker
from meet_recording.models import Recording, RecordingAccess

API = "/api/v1.0"


async def _recording(meet, room, user, role: str, status: str = "saved", mode: str = "screen_recording"):
    async with session_maker(meet.app)() as session:
        recording = Recording(room_id=room.id, status=status, mode=mode, options={"language": "fr"})
        session.add(recording)
        await session.flush()
        session.add(RecordingAccess(recording_id=recording.id, user_id=user.id, role=role))
        await session.commit()
        return recording


async def test_list_shows_the_callers_recordings_newest_first(kit) -> None:
    meet = await kit.app(RECORDING_EXPIRATION_DAYS="2")
    user, other = await meet.create_user(), await meet.create_user()
    room = await meet.create_room(accesses=[(user, "member")])
    first = await _recording(meet, room, user, "member")
    second = await _recording(meet, room, user, "owner", mode="transcript")
    await _recording(meet, room, other, "owner")
    assert (await meet.client.get(f"{API}/recordings/")).status_code == 401
    await meet.login(user)
    body = (await meet.client.get(f"{API}/recordings/")).json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [r["id"] for r in body["results"]] == [str(second.id), str(first.id)]
    item = body["results"][0]
    assert item["room"] == {
        "id": str(room.id),
        "name": room.name,
        "slug": room.slug,
        "access_level": "public",
    }
    assert item["key"] == f"recordings/{second.id}.ogg" and item["mode"] == "transcript"
    assert item["status"] == "saved" and item["options"] == {"language": "fr"} and item["is_expired"] is False
    created = datetime.datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
    expired = datetime.datetime.fromisoformat(item["expired_at"].replace("Z", "+00:00"))
    assert item["created_at"].endswith("Z") and expired - created == datetime.timedelta(days=2)
    page = (await meet.client.get(f"{API}/recordings/?page_size=1")).json()
    assert len(page["results"]) == 1 and "page=2" in page["next"]


async def test_retrieve_and_delete_follow_the_abilities(kit) -> None:
    meet = await kit.app()
    owner, member, stranger = [await meet.create_user() for _ in range(3)]
    room = await meet.create_room()
    active = await _recording(meet, room, owner, "owner", status="active")
    saved = await _recording(meet, room, owner, "owner", status="saved")
    seen = await _recording(meet, room, member, "member")

    await meet.login(stranger)
    assert (await meet.client.get(f"{API}/recordings/{saved.id}/")).json() == {
        "detail": "No Recording matches the given query."
    }
    assert (await meet.client.get(f"{API}/recordings/not-a-uuid/")).json() == {"detail": "Not found."}
    await meet.login(member)
    assert (await meet.client.get(f"{API}/recordings/{seen.id}/")).status_code == 403
    assert (await meet.client.delete(f"{API}/recordings/{seen.id}/")).status_code == 403

    await meet.login(owner)
    response = await meet.client.get(f"{API}/recordings/{saved.id}/")
    assert response.status_code == 200 and response.json()["id"] == str(saved.id)
    for method in ("PUT", "PATCH"):
        answer = await meet.client.request(method, f"{API}/recordings/{saved.id}/", json={})
        assert answer.status_code == 405 and answer.json() == {"detail": f'Method "{method}" not allowed.'}
    assert (await meet.client.delete(f"{API}/recordings/{active.id}/")).status_code == 403  # not final
    assert (await meet.client.delete(f"{API}/recordings/{saved.id}/")).status_code == 204
    assert (await meet.client.get(f"{API}/recordings/{saved.id}/")).status_code == 404
    assert {r.id for r in await kit.recordings(meet)} == {active.id, seen.id}
