"""Completion (services.md §7.5-7.8): storage hook, egress_ended, limit reached, notifications."""

from __future__ import annotations

import json
import logging
import urllib.parse
import uuid

import pytest
from livekit.protocol import egress as eg

from meet_core.testing.factories import session_maker
from meet_recording.models import Recording, RecordingAccess

API = "/api/v1.0"
BUCKET = "meet-media-storage"
HOOK = f"{API}/recordings/storage-hook/"
TOKEN = "storage-token"


async def _active(kit, meet, mode="screen_recording", options=None, owner_fields=None):
    """An active recording started through the API by a room owner (``owner_fields`` on the user)."""
    owner = await meet.create_user(**(owner_fields or {}))
    room = await meet.create_room(name=f"Weekly {uuid.uuid4().hex[:4]}", accesses=[(owner, "owner")])
    await meet.login(owner)
    response = await kit.start(meet, room, mode=mode, options=options or {})
    assert response.status_code == 201, response.text
    recording = (await kit.recordings(meet))[-1]
    return room, owner, recording


def _minio(key: str, content_type: str = "video/mp4", bucket: str = BUCKET) -> dict:
    quoted = urllib.parse.quote(key, safe="")
    return {
        "Records": [
            {"s3": {"bucket": {"name": bucket}, "object": {"key": quoted, "contentType": content_type}}}
        ]
    }


def _s3(key: str, bucket: str = BUCKET) -> dict:
    return {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 3}}}]}


def _env(smtp_server, **extra):
    return {
        "RECORDING_STORAGE_EVENT_ENABLE": "true",
        "RECORDING_STORAGE_EVENT_TOKEN": TOKEN,
        "RECORDING_DOWNLOAD_BASE_URL": "https://meet.example.com/recordings",
        "RECORDING_EXPIRATION_DAYS": "30",
        "EMAIL_BRAND_NAME": "Visio",
        **smtp_server.env(),
        **extra,
    }


async def _hook(meet, body, token=TOKEN):
    return await meet.client.post(HOOK, json=body, headers={"Authorization": f"bearer {token}"})


async def test_storage_hook_authentication(kit, smtp_server) -> None:
    meet = await kit.app(**_env(smtp_server, RECORDING_STORAGE_EVENT_TOKEN=""))
    assert (await _hook(meet, {})).json() == {
        "detail": "Authentication is enabled but token is not configured."
    }
    meet = await kit.app(**_env(smtp_server))
    response = await meet.client.post(HOOK, json={})
    assert response.status_code == 401 and response.json() == {"detail": "Authorization header is required"}
    assert response.headers["www-authenticate"] == "Bearer realm='Storage event API'"
    bad = await meet.client.post(HOOK, json={}, headers={"Authorization": "Token a b"})
    assert bad.json() == {"detail": "Invalid authorization header format."}
    assert (await _hook(meet, {}, token="nope")).json() == {"detail": "Invalid token"}
    assert (await _hook(meet, {})).status_code == 403  # through: malformed data
    off = await kit.app(**_env(smtp_server, RECORDING_ENABLE_STORAGE_EVENT_AUTH="false"))
    assert (await off.client.post(HOOK, json={})).json() == {"detail": "Invalid request data."}
    disabled = await kit.app(**_env(smtp_server, RECORDING_STORAGE_EVENT_ENABLE="false"))
    assert (await _hook(disabled, {})).status_code == 404


async def test_storage_hook_refusals(kit, smtp_server) -> None:
    meet = await kit.app(**_env(smtp_server))
    _, _, recording = await _active(kit, meet)
    key = f"recordings/{recording.id}.mp4"
    for body in ({}, {"Records": []}, {"Records": [{"s3": {}}]}, {"Records": "x"}):
        response = await _hook(meet, body)
        assert (response.status_code, response.json()) == (403, {"detail": "Invalid request data."})
    assert (await _hook(meet, _minio(key, bucket="other"))).json() == {"detail": "Invalid bucket specified."}
    for body in (
        _minio(key, "image/png"),
        _minio(f"elsewhere/{recording.id}.mp4"),
        _minio("recordings/x.mp4"),
    ):
        response = await _hook(meet, body)
        assert (response.status_code, response.json()) == (200, {"message": "Notification ignored."})
    unknown = await _hook(meet, _minio(f"recordings/{uuid.uuid4()}.mp4"))
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "No recording found for this event."})
    await kit.set_status(meet, recording.id, "saved")
    refused = await _hook(meet, _minio(key))
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": f"Recording with ID {recording.id} cannot be saved because it is either, "
        "in an error state or has already been saved."
    }
    assert smtp_server.received == []


async def test_minio_event_saves_and_emails_the_owner_in_their_language(kit, smtp_server) -> None:
    meet = await kit.app(**_env(smtp_server))
    fields = {"language": "fr-fr", "timezone": "Europe/Paris"}
    room, owner, recording = await _active(kit, meet, owner_fields=fields)
    nested = f"tenant/recordings/{recording.id}.mp4"  # a prefix before the folder is accepted
    response = await _hook(meet, _minio(nested))
    assert (response.status_code, response.json()) == (200, {"message": "Event processed."})
    assert (await kit.recording(meet, recording.id)).status == "notification_succeeded"
    [(recipients, message)] = smtp_server.received
    assert recipients == [owner.email]
    assert message["Subject"] == "Votre enregistrement est prêt"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"https://meet.example.com/recordings/{recording.id}"
    assert link in text and f'href="{link}"' in html
    created = recording.created_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert f"{created:%Y-%m-%d} à {created:%H:%M}" in text and room.name in text
    assert "30 jours" in text


async def test_s3_event_format_and_smtp_failure_leaves_saved(kit, smtp_server) -> None:
    meet = await kit.app(
        **_env(smtp_server, RECORDING_EVENT_PARSER_CLASS="core.recording.event.parsers.S3Parser")
    )
    _, _, recording = await _active(kit, meet)
    smtp_server.handler.refuse = True
    response = await _hook(meet, _s3(f"recordings/{recording.id}.mp4"))
    assert response.json() == {"message": "Event processed."}
    assert (await kit.recording(meet, recording.id)).status == "saved"
    assert (await _hook(meet, _s3(f"recordings/{recording.id}.png"))).json() == {
        "message": "Notification ignored."
    }


async def test_egress_ended_completes_when_storage_events_are_off(kit, smtp_server) -> None:
    meet = await kit.app(**_env(smtp_server, RECORDING_STORAGE_EVENT_ENABLE="false"))
    room, _, recording = await _active(kit, meet)
    kit.livekit.add_room(
        str(room.id), metadata=json.dumps({"recording_status": "started", "recording_mode": "x"})
    )
    info = {"egressId": recording.worker_id, "roomName": str(room.id), "status": "EGRESS_COMPLETE"}
    assert (await kit.webhook(meet, "egress_ended", egress_info=info)).status_code == 200
    assert (await kit.recording(meet, recording.id)).status == "notification_succeeded"
    assert len(smtp_server.received) == 1
    assert json.loads(kit.livekit.room(str(room.id)).metadata) == {}
    # Once saved, a repeated end only logs.
    assert (await kit.webhook(meet, "egress_ended", egress_info=info)).status_code == 200
    assert len(smtp_server.received) == 1


async def test_egress_ended_with_storage_events_on_only_cleans_up(kit, smtp_server) -> None:
    meet = await kit.app(**_env(smtp_server))
    room, _, recording = await _active(kit, meet)
    info = {"egressId": recording.worker_id, "roomName": str(room.id), "status": "EGRESS_COMPLETE"}
    await kit.webhook(meet, "egress_ended", egress_info=info)
    assert (await kit.recording(meet, recording.id)).status == "active"  # the storage hook saves it
    assert smtp_server.received == []


@pytest.mark.parametrize(("mode", "kind"), [("screen_recording", "screenRecordingLimitReached"),
                                            ("transcript", "transcriptionLimitReached")])  # fmt: skip
async def test_limit_reached_stops_tells_the_room_then_completes(kit, smtp_server, mode, kind) -> None:
    meet = await kit.app(**_env(smtp_server, RECORDING_STORAGE_EVENT_ENABLE="false"))
    room, _, recording = await _active(kit, meet, mode=mode)
    kit.livekit.add_room(str(room.id))
    info = {"egressId": recording.worker_id, "roomName": str(room.id), "status": "EGRESS_LIMIT_REACHED"}
    await kit.webhook(meet, "egress_ended", egress_info=info)
    sent = kit.livekit.last_call("SendData").request
    assert sent.room == str(room.id) and json.loads(sent.data) == {"type": kind}
    # screen: e-mailed; transcript: no summary service configured, so only saved.
    expected = "notification_succeeded" if mode == "screen_recording" else "saved"
    assert (await kit.recording(meet, recording.id)).status == expected


async def test_egress_updated_mirrors_the_status_and_failed_egress_frees_the_room(kit, smtp_server) -> None:
    meet = await kit.app(**_env(smtp_server, RECORDING_STORAGE_EVENT_ENABLE="false"))
    room, _, recording = await _active(kit, meet)
    kit.livekit.add_room(str(room.id))
    info = {"egressId": recording.worker_id, "roomName": str(room.id), "status": "EGRESS_ENDING"}
    await kit.webhook(meet, "egress_updated", egress_info=info)
    assert json.loads(kit.livekit.room(str(room.id)).metadata)["recording_status"] == "saving"
    await kit.webhook(meet, "egress_ended", egress_info={**info, "status": "EGRESS_FAILED"})
    assert (await kit.recording(meet, recording.id)).status == "aborted"
    assert (await kit.start(meet, room)).status_code == 201
    unknown = {"egressId": "EG_unknown", "roomName": str(room.id), "status": "EGRESS_COMPLETE"}
    assert (await kit.webhook(meet, "egress_ended", egress_info=unknown)).status_code == 200


async def test_summary_v1_for_transcripts(kit, smtp_server, summary_service) -> None:
    env = _env(
        smtp_server, SUMMARY_SERVICE_ENDPOINT=summary_service.url, SUMMARY_SERVICE_API_TOKEN="sum-token"
    )
    meet = await kit.app(**env)
    room, owner, recording = await _active(kit, meet, mode="transcript", options={"language": "de"})
    kit.livekit.set_egress_status(recording.worker_id, eg.EGRESS_COMPLETE)
    assert (await _hook(meet, _minio(f"recordings/{recording.id}.ogg", "audio/ogg"))).status_code == 200
    assert (await kit.recording(meet, recording.id)).status == "notification_succeeded"
    [(headers, payload)] = summary_service.requests
    assert headers["Authorization"] == "Bearer sum-token"
    assert payload == {
        "owner_id": str(owner.id),
        "recording_filename": f"recordings/{recording.id}.ogg",
        "metadata_filename": None,
        "email": owner.email,
        "sub": owner.sub,
        "room": room.name,
        "language": "de",
        "owner_timezone": "UTC",
        "download_link": f"https://meet.example.com/recordings/{recording.id}",
        "context_language": "en",
        "recording_start_at": None,
        "recording_end_at": None,
    }
    assert smtp_server.received == []


async def test_summary_v2_stores_the_job_and_the_external_process_hook_finishes(
    kit, smtp_server, summary_service
):
    env = _env(
        smtp_server,
        SUMMARY_SERVICE_ENDPOINT=summary_service.url,
        SUMMARY_SERVICE_API_TOKEN="sum-token",
        SUMMARY_SERVICE_VERSION="2",
        SUMMARY_SERVICE_WEBHOOK_API_TOKEN="back",
    )
    meet = await kit.app(**env)
    summary_service.reply = {"job_id": "job-42"}
    # A screen recording with transcribe: e-mail AND summary.
    _, owner, recording = await _active(kit, meet, options={"transcribe": True})
    await _hook(meet, _minio(f"recordings/{recording.id}.mp4"))
    stored = await kit.recording(meet, recording.id)
    assert (stored.status, stored.external_process_id) == ("notification_succeeded", "job-42")
    assert len(smtp_server.received) == 1
    [(_, payload)] = summary_service.requests
    assert payload["user_sub"] == owner.sub and payload["language"] == "en" and payload["metadata"] is None
    assert payload["push_to_docs_config"]["title"] == "Transcription"
    assert payload["push_to_docs_config"]["download_link"].endswith(str(recording.id))
    url = payload["cloud_storage_url"]
    assert (
        url.startswith(f"{kit.s3.url}/{BUCKET}/recordings/{recording.id}.mp4?") and "X-Amz-Signature" in url
    )

    hook = f"{API}/recordings/external-process-hook/"
    assert (await meet.client.post(hook, json={"job_id": "job-42"})).status_code == 401
    auth = {"Authorization": "Bearer back"}
    missing = await meet.client.post(hook, json={}, headers=auth)
    assert (missing.status_code, missing.json()) == (400, {"job_id": ["This field is required."]})
    for body in ({"job_id": "other", "type": "transcript", "status": "success"},
                 {"job_id": "job-42", "type": "video", "status": "success"}):  # fmt: skip
        assert (await meet.client.post(hook, json=body, headers=auth)).json() == {
            "message": "Event processed."
        }
    assert (await kit.recording(meet, recording.id)).status == "notification_succeeded"
    body = {"job_id": "job-42", "type": "transcript", "status": "failure"}
    assert (await meet.client.post(hook, json=body, headers=auth)).status_code == 200
    assert (await kit.recording(meet, recording.id)).status == "external_process_failed"


class _Records(logging.Handler):
    """The plugin's log records, caught on its own logger (whatever the app's logging config)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def recording_log():
    handler = _Records()
    logger = logging.getLogger("meet_recording")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


async def test_summary_failures_are_logged_and_leave_saved(kit, smtp_server, summary_service, recording_log):
    env = _env(
        smtp_server,
        SUMMARY_SERVICE_ENDPOINT=summary_service.url,
        SUMMARY_SERVICE_API_TOKEN="t",
        SUMMARY_SERVICE_VERSION="2",
    )
    meet = await kit.app(**env)
    summary_service.reply = {"status": "queued"}  # no job_id
    _, _, recording = await _active(kit, meet, mode="transcript")
    response = await _hook(meet, _minio(f"recordings/{recording.id}.ogg", "audio/ogg"))
    assert response.status_code == 200
    assert any("summary service answered no job_id" in message for message in recording_log)
    assert (await kit.recording(meet, recording.id)).status == "saved"

    summary_service.status = 500
    _, _, second = await _active(kit, meet, mode="transcript")
    await _hook(meet, _minio(f"recordings/{second.id}.ogg", "audio/ogg"))
    assert (await kit.recording(meet, second.id)).status == "saved"


async def test_no_owner_means_no_notification(kit, smtp_server) -> None:
    meet = await kit.app(**_env(smtp_server))
    _, _, recording = await _active(kit, meet)
    async with session_maker(meet.app)() as session:
        access = (
            await session.execute(
                RecordingAccess.__table__.select().where(RecordingAccess.recording_id == recording.id)
            )
        ).first()
        assert access is not None
        await session.execute(RecordingAccess.__table__.delete())
        await session.commit()
    await _hook(meet, _minio(f"recordings/{recording.id}.mp4"))
    assert (await kit.recording(meet, recording.id)).status == "saved"
    assert Recording.__tablename__ == "meet_recording"


async def test_openapi_documents_the_hooks_bodies_and_their_error_answers(kit, smtp_server) -> None:
    """Undocumented, the bodies were never sent by the fuzz run, nor their 400/415 listed."""
    meet = await kit.app(**_env(smtp_server))
    paths = (await meet.client.get(f"{API}/swagger.json")).json()["paths"]
    hooks = {
        "storage-hook": {"400", "401", "403", "404", "415"},
        "external-process-hook": {"400", "401", "415"},
    }
    for hook, statuses in hooks.items():
        operation = paths[f"{API}/recordings/{hook}"]["post"]
        assert "application/json" in operation["requestBody"]["content"], hook
        assert statuses <= set(operation["responses"]), hook
