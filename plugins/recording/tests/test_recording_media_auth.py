"""Media auth (services.md §7.9): nginx's subrequest, and the SigV4 headers it forwards to S3."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import httpx

from meet_core.testing.factories import session_maker
from meet_recording.models import Recording, RecordingAccess

API = "/api/v1.0"
AUTH = f"{API}/recordings/media-auth/"
BUCKET = "meet-media-storage"


async def _saved(meet, user, role="owner", status="saved", mode="screen_recording"):
    room = await meet.create_room()
    async with session_maker(meet.app)() as session:
        recording = Recording(room_id=room.id, status=status, mode=mode, worker_id="EG_x")
        session.add(recording)
        await session.flush()
        session.add(RecordingAccess(recording_id=recording.id, user_id=user.id, role=role))
        await session.commit()
        return recording


def _sigv4(endpoint: str, path: str, headers: dict[str, str]) -> str:
    """AWS Signature Version 4 of ``GET path`` (test oracle, from AWS's documented algorithm)."""
    from meet_core.testing.s3_server import REGION, SECRET_KEY

    host, stamp, payload = endpoint.split("://")[1], headers["X-Amz-Date"], headers["X-Amz-Content-SHA256"]
    canonical = "\n".join(
        ["GET", path, "", f"host:{host}", f"x-amz-content-sha256:{payload}", f"x-amz-date:{stamp}", "",
         "host;x-amz-content-sha256;x-amz-date", payload]
    )  # fmt: skip
    scope = f"{stamp[:8]}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{SECRET_KEY}".encode()
    for part in (stamp[:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _url(recording_id, ext="mp4", folder="recordings") -> dict[str, str]:
    return {"X-Original-URL": f"https://meet.example.com/media/{folder}/{recording_id}.{ext}?x=1"}


async def test_media_auth_signs_a_get_the_bucket_accepts(kit) -> None:
    meet = await kit.app()
    owner = await meet.create_user()
    recording = await _saved(meet, owner)
    key = f"recordings/{recording.id}.mp4"
    kit.s3.client().put_object(Bucket=BUCKET, Key=key, Body=b"the video")
    await meet.login(owner)
    response = await meet.client.get(AUTH, headers=_url(recording.id))
    assert response.status_code == 200 and response.json() == "authorized"
    headers = {
        name: response.headers[name] for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256")
    }
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing-access-key/")
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date" in headers["Authorization"]
    assert (
        headers["X-Amz-Content-SHA256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    # What nginx does: GET the object from the bucket with exactly these headers.
    async with httpx.AsyncClient() as client:
        fetched = await client.get(f"{kit.s3.url}/{BUCKET}/{key}", headers=headers)
        assert fetched.status_code == 200 and fetched.content == b"the video"
    # moto's server does not check signatures (its IAM checks are off): check this one here,
    # with the SigV4 algorithm written out independently of botocore.
    assert headers["Authorization"].endswith(f"Signature={_sigv4(kit.s3.url, f'/{BUCKET}/{key}', headers)}")


async def test_media_auth_refusals(kit) -> None:
    meet = await kit.app()
    owner, member = await meet.create_user(), await meet.create_user()
    recording = await _saved(meet, owner)
    assert (await meet.client.get(AUTH, headers=_url(recording.id))).status_code == 401
    await meet.login(owner)
    assert (await meet.client.get(AUTH)).status_code == 403
    assert (await meet.client.get(AUTH, headers=_url(recording.id, folder="files"))).status_code == 403
    unsupported = await meet.client.get(AUTH, headers=_url(recording.id, ext="avi"))
    assert (unsupported.status_code, unsupported.json()) == (400, {"detail": "Unsupported extension."})
    unknown = await meet.client.get(AUTH, headers=_url(uuid.uuid4()))
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "No recording found for this event."})
    wrong = await meet.client.get(AUTH, headers=_url(recording.id, ext="ogg"))
    assert wrong.json() == {"detail": "No recording found with this extension."}
    active = await _saved(meet, owner, status="active")
    assert (await meet.client.get(AUTH, headers=_url(active.id))).status_code == 403
    seen = await _saved(meet, member, role="member")
    await meet.login(member)
    assert (await meet.client.get(AUTH, headers=_url(seen.id))).status_code == 403
    assert (await meet.client.get(AUTH, headers=_url(recording.id))).status_code == 403
