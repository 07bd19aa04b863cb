"""The files API without the storage round trip: validation, quota, listing, update, delete."""

from __future__ import annotations

import uuid

FILES = "/api/v1.0/files/"


async def test_anonymous_is_401_everywhere(files):
    file_id = uuid.uuid4()
    for method, path in (
        ("get", FILES),
        ("post", FILES),
        ("patch", f"{FILES}{file_id}/"),
        ("delete", f"{FILES}{file_id}/"),
        ("post", f"{FILES}{file_id}/upload-ended/"),
        ("get", f"{FILES}media-auth/"),
    ):
        response = await files.meet.client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Session"


async def test_create_validation(files):
    await files.login()
    cases = [
        ({}, {"type": ["This field is required."], "filename": ["This field is required."]}),
        ({"type": "avatar", "filename": "a.png"}, {"type": ['"avatar" is not a valid choice.']}),
        ({"type": "background_image", "filename": "  "}, {"filename": ["This field may not be blank."]}),
        (
            {"type": "background_image", "filename": "a" * 252 + ".png"},
            {"filename": ["Ensure this field has no more than 255 characters."]},
        ),
        ({"type": "background_image", "filename": "a.png", "id": "nope"}, {"id": ["Must be a valid UUID."]}),
        (
            {"type": "background_image", "filename": "a.gif"},
            {"filename": ["This file extension is not allowed."]},
        ),
        (
            {"type": "background_image", "filename": "png"},
            {"filename": ["This file extension is not allowed."]},
        ),
        (
            {"type": "background_image", "filename": ".png"},
            {"filename": ["This file extension is not allowed."]},
        ),
    ]
    for body, errors in cases:
        response = await files.meet.client.post(FILES, json=body)
        assert (response.status_code, response.json()) == (400, errors), body
    assert (await files.meet.client.get(FILES)).json()["count"] == 0


async def test_create_with_client_id_title_and_description(files):
    await files.login()
    file_id = str(uuid.uuid4())
    body = {
        "type": "background_image",
        "filename": "Sky.JPEG",
        "id": file_id,
        "title": "My sky",
        "description": "blue",
    }
    response = await files.meet.client.post(FILES, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["id"], created["title"], created["description"]) == (file_id, "My sky", "blue")
    assert list(created) == [
        "id",
        "created_at",
        "updated_at",
        "title",
        "type",
        "creator",
        "deleted_at",
        "hard_deleted_at",
        "filename",
        "upload_state",
        "mimetype",
        "size",
        "description",
        "url",
        "abilities",
        "policy",
    ]
    assert created["created_at"].endswith("Z")
    again = await files.meet.client.post(FILES, json=body)
    assert (again.status_code, again.json()) == (
        400,
        {"id": ["A file with this ID already exists. You cannot override it."]},
    )


async def test_quota_counts_files_not_soft_deleted(files_app):
    files = await files_app(FILE_UPLOAD_RESTRICTIONS='{"background_image": {"max_count_by_user": 2}}')
    await files.login()
    first = (await files.create("1.png")).json()
    assert (await files.create("2.png")).status_code == 201
    response = await files.create("3.png")
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "You have reached the maximum number of files for this type."},
    )
    # Another user has their own quota.
    async with files.meet.new_client() as other:
        await files.meet.login(await files.meet.create_user(), other)
        response = await other.post(FILES, json={"filename": "x.png", "type": "background_image"})
        assert response.status_code == 201
    # A soft-deleted file frees its place.
    assert (await files.meet.client.delete(f"{FILES}{first['id']}/")).status_code == 204
    assert (await files.create("3.png")).status_code == 201
    await files.browser.aclose()


async def test_restrictions_off_accepts_any_extension_and_count(files_app):
    files = await files_app(
        FILE_UPLOAD_APPLY_RESTRICTIONS="false",
        FILE_UPLOAD_RESTRICTIONS='{"background_image": {"max_count_by_user": 0}}',
    )
    await files.login()
    created = await files.create("anim.gif")
    assert created.status_code == 201
    await files.put(created.json()["policy"], files.gif, "image/gif")
    ended = await files.upload_ended(created.json()["id"])
    assert (ended.status_code, ended.json()["mimetype"]) == (200, "image/gif")
    await files.browser.aclose()


async def test_list_filters_ordering_and_pagination(files):
    user = await files.login()
    ids = []
    for name in ("b.png", "a.png", "c.png"):
        ids.append((await files.create(name)).json()["id"])
    # Oldest updated last: touch "a" so it is the most recently updated.
    assert (await files.meet.client.patch(f"{FILES}{ids[1]}/", json={"title": "A!"})).status_code == 200
    await files.meet.client.delete(f"{FILES}{ids[2]}/")

    async def listed(query: str) -> list[str]:
        response = await files.meet.client.get(f"/api/v1.0/files?{query}")
        assert response.status_code == 200, (query, response.text)
        return [item["title"] for item in response.json()["results"]]

    # Default -updated_at; soft-deleted files listed unless is_deleted=false.
    assert await listed("") == ["c", "A!", "b"]
    assert await listed("is_deleted=false") == ["A!", "b"]
    assert await listed("is_deleted=true") == ["c"]
    assert await listed("is_deleted=maybe") == ["c", "A!", "b"]  # a bad value is ignored
    assert await listed("ordering=title") == ["A!", "b", "c"]
    assert await listed("ordering=-created_at") == ["c", "A!", "b"]
    assert await listed("ordering=filename") == ["c", "A!", "b"]  # not allowed: default
    assert await listed("is_creator_me=true&type=background_image&upload_state=pending") == ["c", "A!", "b"]
    assert await listed("is_creator_me=false") == []
    assert await listed("upload_state=ready") == []
    # The frontend's query, empty values included.
    query = "page=&page_size=&is_creator_me=true&type=&upload_state=&is_deleted="
    assert await listed(query) == ["c", "A!", "b"]
    response = await files.meet.client.get(f"{FILES}?type=unknown")
    assert (response.status_code, response.json()) == (
        400,
        {"type": ["Select a valid choice. unknown is not one of the available choices."]},
    )
    response = await files.meet.client.get(f"{FILES}?upload_state=done")
    assert response.status_code == 400
    page = (await files.meet.client.get(f"{FILES}?page_size=2&ordering=title")).json()
    assert page["count"] == 3
    assert page["next"].endswith("/api/v1.0/files/?ordering=title&page=2&page_size=2")
    assert [item["title"] for item in page["results"]] == ["A!", "b"]
    assert page["previous"] is None
    assert (await files.meet.client.get(f"{FILES}?page=9")).status_code == 404
    # Another user sees nothing of them.
    async with files.meet.new_client() as other:
        await files.meet.login(await files.meet.create_user(), other)
        assert (await other.get(FILES)).json()["count"] == 0
        for method in ("patch", "delete"):
            response = await other.request(method, f"{FILES}{ids[0]}/", json={})
            assert (response.status_code, response.json()) == (
                404,
                {"detail": "No File matches the given query."},
            )
    assert user is not None


async def test_update_and_soft_delete(files):
    await files.login()
    created = (await files.create("a.png")).json()
    url = f"{FILES}{created['id']}/"
    response = await files.meet.client.put(
        url, json={"title": "New", "description": "d", "filename": "x.gif", "upload_state": "ready"}
    )
    assert (response.status_code, response.json()) == (400, {"type": ["This field is required."]})
    response = await files.meet.client.put(
        url, json={"type": "background_image", "title": "New", "filename": "x.gif", "upload_state": "ready"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["filename"], body["upload_state"]) == ("New", "a.png", "pending")
    response = await files.meet.client.patch(url, json={"description": "later"})
    assert (response.status_code, response.json()["description"], response.json()["title"]) == (
        200,
        "later",
        "New",
    )
    response = await files.meet.client.patch(url, json={"title": ""})
    assert (response.status_code, response.json()) == (400, {"title": ["This field may not be blank."]})
    response = await files.meet.client.patch(url, json={"type": "other"})
    assert response.status_code == 400
    # No retrieve route.
    assert (await files.meet.client.get(url)).status_code == 405
    assert (await files.meet.client.get(f"{FILES}not-a-uuid/")).status_code == 405
    response = await files.meet.client.patch(f"{FILES}not-a-uuid/", json={})
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})

    assert (await files.meet.client.delete(url)).status_code == 204
    listed = (await files.meet.client.get(FILES)).json()["results"]
    assert listed[0]["deleted_at"].endswith("Z")
    assert listed[0]["abilities"]["destroy"] is False
    assert listed[0]["abilities"]["hard_delete"] is True
    for method, path in (("delete", url), ("patch", url), ("post", f"{url}upload-ended/")):
        response = await files.meet.client.request(method, path, json={})
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "No File matches the given query."},
        )


async def test_config_fragment(files_app):
    files = await files_app(
        FILE_UPLOAD_RESTRICTIONS='{"background_image": {"max_size": 5, "allowed_extensions": [".PNG"]}}'
    )
    config = (await files.meet.client.get("/api/v1.0/config/")).json()
    assert config["background_image"] == {
        "upload_is_enabled": True,
        "max_count_by_user": 10,
        "max_size": 5,
        "allowed_extensions": [".png"],
        "allowed_mimetypes": ["image/jpeg", "image/png"],
    }
    await files.browser.aclose()


async def test_disabled_plugin_adds_nothing(meet_app):
    meet = await meet_app()
    await meet.login(await meet.create_user())
    for method, path in (
        ("get", FILES),
        ("post", FILES),
        ("get", f"{FILES}media-auth/"),
        ("post", f"{FILES}{uuid.uuid4()}/upload-ended/"),
    ):
        response = await meet.client.request(method, path)
        assert response.status_code == 404, (method, path)
    config = (await meet.client.get("/api/v1.0/config/")).json()
    assert config["background_image"]["upload_is_enabled"] is False


async def test_bad_settings_stop_start_up(meet_app):
    import pytest

    from meet_core.testing import SettingsError
    from meet_files import FilesPlugin

    for env in (
        {"FILE_UPLOAD_TMP_PATH": "files"},
        {"FILE_UPLOAD_RESTRICTIONS": '{"background_image": {"max_size": -1}}'},
    ):
        with pytest.raises(SettingsError):
            await meet_app(env=env, plugins=[FilesPlugin])
