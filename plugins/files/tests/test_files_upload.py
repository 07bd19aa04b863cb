"""The frontend's background-image upload, end to end on a real S3 endpoint (moto server)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx

FILES = "/api/v1.0/files/"
BUCKET = "meet-media-storage"


async def test_browser_upload_then_media_auth_fetch(files):
    user = await files.login(full_name="Ada Lovelace", short_name="Ada")
    created = await files.create("Beach.PNG")
    assert created.status_code == 201, created.text
    body = created.json()
    file_id = body["id"]
    assert uuid.UUID(file_id)
    assert body["upload_state"] == "pending"
    assert body["title"] == "Beach"
    assert body["url"] is None
    assert body["creator"] == {"id": str(user.id), "full_name": "Ada Lovelace", "short_name": "Ada"}
    assert body["abilities"] == {
        "destroy": True,
        "hard_delete": True,
        "media_auth": True,
        "partial_update": True,
        "retrieve": True,
        "update": True,
        "upload_ended": True,
    }
    policy = urlsplit(body["policy"])
    assert policy.path == f"/{BUCKET}/tmp/files/{file_id}.PNG"
    query = parse_qs(policy.query)
    assert query["X-Amz-SignedHeaders"] == ["host;x-amz-acl"]
    assert query["X-Amz-Expires"] == ["60"]

    content = files.png()
    uploaded = await files.put(body["policy"], content)
    assert uploaded.status_code == 200, uploaded.text
    assert files.keys() == [f"tmp/files/{file_id}.PNG"]

    ended = await files.upload_ended(file_id)
    assert ended.status_code == 200, ended.text
    ready = ended.json()
    assert ready["upload_state"] == "ready"
    assert ready["mimetype"] == "image/png"
    assert ready["size"] == len(content)
    assert ready["url"] == f"/media/files/{file_id}.PNG"
    assert "policy" not in ready
    assert files.keys() == [f"files/{file_id}.PNG"]  # moved out of the temporary folder

    # nginx's auth_request: the headers it gets are forwarded to the bucket.
    auth = await files.meet.client.get(
        f"{FILES}media-auth/", headers={"X-Original-URL": f"https://meet.example.com{ready['url']}"}
    )
    assert auth.status_code == 200, auth.text
    assert auth.json() == "authorized"
    assert auth.headers["X-Amz-Content-SHA256"] == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert auth.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date" in auth.headers["Authorization"]
    signed = {name: auth.headers[name] for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256")}
    fetched = await files.browser.get(f"{files.s3.url}/{BUCKET}/files/{file_id}.PNG", headers=signed)
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == content


async def test_jpeg_is_accepted_and_listed(files):
    await files.login()
    ready = await files.upload(files.jpeg, filename="portrait.jpg", content_type="image/jpeg")
    assert (ready["upload_state"], ready["mimetype"]) == ("ready", "image/jpeg")
    listing = await files.meet.client.get("/api/v1.0/files?is_creator_me=true&type=background_image")
    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["results"]] == [ready["id"]]


async def test_gif_content_is_refused_and_deleted(files):
    await files.login()
    created = (await files.create("cat.png")).json()
    await files.put(created["policy"], files.gif, "image/png")  # a GIF named .png
    response = await files.upload_ended(created["id"])
    assert (response.status_code, response.json()) == (400, ["The file type is not allowed."])
    assert files.keys() == []
    listing = (await files.meet.client.get(FILES)).json()
    assert listing["count"] == 0


async def test_unknown_content_named_png_is_refused(files):
    await files.login()
    created = (await files.create("noise.png")).json()
    await files.put(created["policy"], b"just some text, not an image" * 10)
    response = await files.upload_ended(created["id"])
    assert (response.status_code, response.json()) == (400, ["The file type is not allowed."])
    assert files.keys() == []


async def test_too_big_is_refused_and_deleted(files_app):
    files = await files_app(FILE_UPLOAD_RESTRICTIONS='{"background_image": {"max_size": 1000}}')
    await files.login()
    created = (await files.create()).json()
    await files.put(created["policy"], files.png(padding=2000))
    response = await files.upload_ended(created["id"])
    assert (response.status_code, response.json()) == (
        400,
        ["The file size is higher than the allowed max size."],
    )
    assert files.keys() == []
    await files.browser.aclose()


async def test_upload_ended_twice_is_refused(files):
    await files.login()
    ready = await files.upload(files.png())
    response = await files.upload_ended(ready["id"])
    assert (response.status_code, response.json()) == (
        400,
        {"file": "This action is only available for files in PENDING state."},
    )


async def test_upload_ended_before_the_upload_keeps_the_file_pending(files):
    await files.login()
    created = (await files.create()).json()
    response = await files.upload_ended(created["id"])
    assert (response.status_code, response.json()) == (400, {"file": "The file has not been uploaded."})
    # Still pending: the browser uploads, then the call succeeds.
    await files.put(created["policy"], files.png())
    response = await files.upload_ended(created["id"])
    assert response.status_code == 200
    assert response.json()["upload_state"] == "ready"


async def test_a_storage_failure_puts_the_file_back_to_pending(meet_app):
    """The storage goes away between the browser's upload and upload-ended: 500, still pending."""
    from meet_core.testing.s3_server import S3TestServer
    from meet_files import FilesPlugin

    server = S3TestServer()
    with server:
        server.create_bucket(BUCKET)
        meet = await meet_app(env=server.env(BUCKET), plugins=[FilesPlugin])
        await meet.login(await meet.create_user())
        created = (
            await meet.client.post(FILES, json={"filename": "a.png", "type": "background_image"})
        ).json()
        async with httpx.AsyncClient() as browser:
            put = await browser.put(
                created["policy"],
                content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                headers={"X-amz-acl": "private", "Content-Type": "image/png"},
            )
            assert put.status_code == 200
    response = await meet.client.post(f"{FILES}{created['id']}/upload-ended/")
    assert response.status_code == 500
    assert response.json() == {"detail": "The file could not be analysed; upload it again."}
    listing = (await meet.client.get(FILES)).json()
    assert [item["upload_state"] for item in listing["results"]] == ["pending"]


async def test_domain_replace_changes_the_upload_origin(files_app):
    files = await files_app(AWS_S3_DOMAIN_REPLACE="https://storage.example.com")
    await files.login()
    policy = urlsplit((await files.create()).json()["policy"])
    assert (policy.scheme, policy.netloc) == ("https", "storage.example.com")
    assert policy.path.startswith(f"/{BUCKET}/tmp/files/")
    await files.browser.aclose()


async def test_media_auth_refusals(files):
    user = await files.login()
    ready = await files.upload(files.png())
    pending = (await files.create("other.png")).json()

    async def auth(url: str | None, client: httpx.AsyncClient | None = None) -> int:
        headers = {} if url is None else {"X-Original-URL": url}
        response = await (client or files.meet.client).get(f"{FILES}media-auth/", headers=headers)
        return response.status_code

    assert await auth(ready["url"]) == 200
    assert await auth(None) == 403
    assert await auth("/media/files/not-a-uuid.png") == 403
    assert await auth(f"/media/recordings/{ready['id']}.png") == 403
    assert await auth(f"/media/files/{ready['id']}.jpg") == 403  # not its extension
    assert await auth(f"/media/files/{uuid.uuid4()}.png") == 403
    assert await auth(f"/media/files/{pending['id']}.png") == 403  # not ready
    # Another user's file.
    async with files.meet.new_client() as other:
        await files.meet.login(await files.meet.create_user(), other)
        assert await auth(ready["url"], other) == 403
    # Anonymous: 401.
    async with files.meet.new_client() as anonymous:
        assert await auth(ready["url"], anonymous) == 401
    # Soft-deleted.
    assert (await files.meet.client.delete(f"{FILES}{ready['id']}/")).status_code == 204
    assert await auth(ready["url"]) == 403
    assert user is not None
