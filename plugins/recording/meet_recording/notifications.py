"""Notifications of a saved recording (services.md §7.6): e-mail to the owners, summary service.

Each returns False (logged) on failure, never raises: the recording is then ``saved`` instead of
``notification_succeeded``. Both are bounded: ``EMAIL_TIMEOUT`` and ``SUMMARY_SERVICE_TIMEOUT``.
"""

from __future__ import annotations

import datetime
import functools
import logging
import zoneinfo
from typing import TYPE_CHECKING, Any

import httpx
import jinja2

from meet_core.api import MailError, User, build_message, send_mail
from meet_recording import egress, storage

if TYPE_CHECKING:
    from meet_recording.service import Completion, RecordingService

log = logging.getLogger("meet_recording")

#: Texts of the e-mail, per language (the first part of a language code).
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Your recording is ready",
        "intro": 'The recording of the meeting "{room}" of {date} at {time} is ready.',
        "download": "Download the recording",
        "expires": "It will be deleted after {days} days.",
        "title": 'Meeting "{room}" on {date} at {time}',
        "untitled": "Transcription",
    },
    "fr": {
        "subject": "Votre enregistrement est prêt",
        "intro": "L'enregistrement de la réunion « {room} » du {date} à {time} est prêt.",
        "download": "Télécharger l'enregistrement",
        "expires": "Il sera supprimé au bout de {days} jours.",
        "title": "Réunion « {room} » du {date} à {time}",
        "untitled": "Transcription",
    },
    "nl": {
        "subject": "Uw opname is klaar",
        "intro": 'De opname van de vergadering "{room}" van {date} om {time} is klaar.',
        "download": "De opname downloaden",
        "expires": "Ze wordt na {days} dagen verwijderd.",
        "title": 'Vergadering "{room}" op {date} om {time}',
        "untitled": "Transcriptie",
    },
    "de": {
        "subject": "Ihre Aufnahme ist fertig",
        "intro": 'Die Aufnahme der Besprechung „{room}" vom {date} um {time} ist fertig.',
        "download": "Die Aufnahme herunterladen",
        "expires": "Sie wird nach {days} Tagen gelöscht.",
        "title": 'Besprechung „{room}" am {date} um {time}',
        "untitled": "Transkription",
    },
}


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("meet_recording", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def language_of(code: str | None, default: str) -> str:
    for candidate in (code, default):
        short = (candidate or "").split("-")[0].lower()
        if short in MESSAGES:
            return short
    return "en"


def local_time(moment: datetime.datetime, zone: str | None) -> datetime.datetime:
    try:
        tz: datetime.tzinfo = zoneinfo.ZoneInfo(zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(tz)


def download_link(service: RecordingService, completion: Completion) -> str | None:
    base = service.config.download_base_url
    return f"{base.rstrip('/')}/{completion.recording.id}" if base else None


async def email_owners(service: RecordingService, completion: Completion) -> bool:
    """One message per owner, in their language and time zone; False when none or any failed."""
    if not completion.owners:
        log.warning("recording %s has no owner to e-mail", completion.recording.id)
        return False
    ok = True
    for owner in completion.owners:
        if not owner.email:
            log.warning("owner %s of recording %s has no e-mail address", owner.id, completion.recording.id)
            ok = False
            continue
        try:
            await send_mail(service.core, _message(service, completion, owner), [owner.email])
        except MailError:
            ok = False
    return ok


def _message(service: RecordingService, completion: Completion, owner: User) -> Any:
    core = service.core
    texts = MESSAGES[language_of(owner.language, core.language_code)]
    when = local_time(completion.recording.created_at, owner.timezone or core.time_zone)
    context = {
        "brandname": core.email_brand_name or "",
        "support_email": core.email_support_email,
        "logo_img": core.email_logo_img,
        "domain": core.email_domain or "",
        "room_name": completion.room.name,
        "recording_expiration_days": service.config.recording_expiration_days,
        "link": download_link(service, completion),
        "intro": texts["intro"].format(
            room=completion.room.name, date=when.strftime("%Y-%m-%d"), time=when.strftime("%H:%M")
        ),
        "download": texts["download"],
        "expires": texts["expires"].format(days=service.config.recording_expiration_days),
        "subject": texts["subject"].capitalize(),
    }
    env = _templates()
    return build_message(
        subject=str(context["subject"]),
        sender=core.email_from,
        text=env.get_template("screen_recording.txt").render(context),
        html=env.get_template("screen_recording.html").render(context),
    )


async def _egress_times(service: RecordingService, worker_id: str | None) -> tuple[str | None, str | None]:
    """Start and end of the file from ListEgress (ns -> ISO 8601 UTC); None when unknown."""
    if not worker_id:
        return None, None
    try:
        info = await egress.egress_info(service.livekit, service.config, worker_id)
    except Exception as exc:
        log.info("egress %s times unknown: %r", worker_id, exc)
        return None, None
    if info is None or not info.file_results:
        return None, None

    def stamp(ns: int) -> str | None:
        if not ns:
            return None
        moment = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.UTC)
        return moment.isoformat().replace("+00:00", "Z")

    result = info.file_results[0]
    return stamp(result.started_at), stamp(result.ended_at)


async def summarize(service: RecordingService, completion: Completion) -> tuple[bool, str | None]:
    """POST the recording to the summary service (v1 or v2 payload); (success, v2 job id)."""
    config, recording = service.config, completion.recording
    if not config.summary_service_endpoint or not config.summary_service_api_token:
        log.warning(
            "SUMMARY_SERVICE_ENDPOINT or SUMMARY_SERVICE_API_TOKEN unset: no summary for %s", recording.id
        )
        return False, None
    if not completion.owners:
        log.warning("recording %s has no owner to summarize for", recording.id)
        return False, None
    owner = completion.owners[0]
    options = recording.options or {}
    started, ended = await _egress_times(service, recording.worker_id)
    with_metadata = config.metadata_collector_enabled and bool(options.get("collect_metadata"))
    language = language_of(owner.language, service.core.language_code)
    payload = (
        _payload_v2(service, completion, owner, started, ended, with_metadata, language)
        if config.summary_service_version == 2
        else _payload_v1(service, completion, owner, started, ended, with_metadata, language)
    )
    try:
        async with httpx.AsyncClient(timeout=config.summary_service_timeout) as client:
            response = await client.post(
                config.summary_service_endpoint,
                json=payload,
                headers={"Authorization": f"Bearer {config.summary_service_api_token}"},
            )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.error("summary service failed for recording %s: %r", recording.id, exc)
        return False, None
    if config.summary_service_version != 2:
        return True, None
    try:
        job_id = response.json().get("job_id")
    except (ValueError, AttributeError):
        job_id = None
    if not isinstance(job_id, str) or not job_id:
        log.error("summary service answered no job_id for recording %s: %.200s", recording.id, response.text)
        return False, None
    return True, job_id


def _payload_v1(
    service: RecordingService, completion: Completion, owner: User,
    started: str | None, ended: str | None, with_metadata: bool, language: str,
) -> dict[str, Any]:  # fmt: skip
    recording = completion.recording
    return {
        "owner_id": str(owner.id),
        "recording_filename": service.key(recording),
        "metadata_filename": service.metadata_key(recording) if with_metadata else None,
        "email": owner.email,
        "sub": owner.sub,
        "room": completion.room.name,
        "language": (recording.options or {}).get("language"),
        "owner_timezone": owner.timezone,
        "download_link": download_link(service, completion),
        "context_language": language,
        "recording_start_at": started,
        "recording_end_at": ended,
    }


def _payload_v2(
    service: RecordingService, completion: Completion, owner: User,
    started: str | None, ended: str | None, with_metadata: bool, language: str,
) -> dict[str, Any]:  # fmt: skip
    config, recording = service.config, completion.recording
    expires = config.summary_service_cloud_storage_signed_url_expiry_seconds
    texts = MESSAGES[language_of(owner.language, service.core.language_code)]
    if started:
        when = local_time(datetime.datetime.fromisoformat(started.replace("Z", "+00:00")), owner.timezone)
        title = texts["title"].format(
            room=completion.room.name, date=when.strftime("%Y-%m-%d"), time=when.strftime("%H:%M")
        )
    else:
        title = texts["untitled"]
    form_link = None
    if config.transcription_satisfaction_form_base_url and with_metadata:
        form_link = f"{config.transcription_satisfaction_form_base_url}?room_id={completion.room.id}"
    metadata = None
    if with_metadata:
        metadata = {
            "cloud_storage_url": storage.presigned_get(
                service.core, service.metadata_key(recording), expires
            ),
            "started_at": started,
            "ended_at": ended,
        }
    return {
        "user_sub": owner.sub,
        "user_email": owner.email,
        "cloud_storage_url": storage.presigned_get(service.core, service.key(recording), expires),
        "language": (recording.options or {}).get("language") or language,
        "context_language": language,
        "push_to_docs_config": {
            "user_email": owner.email,
            "title": title,
            "download_link": download_link(service, completion),
            "form_link": form_link,
            "auto_create_summary": config.summary_service_auto_create_summary,
        },
        "metadata": metadata,
    }


__all__ = ["email_owners", "summarize"]
