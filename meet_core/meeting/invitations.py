"""``POST /api/v1.0/rooms/{id}/invite/``: invite people by email to a room (spec/services.md §9.2).

One message, every recipient in BCC (nobody sees the others' addresses), from
``EMAIL_FROM``, HTML and text, in the request's language (``Accept-Language``, else
``LANGUAGE_CODE``). Unlike the old system, the subject is translated too. An SMTP failure is
a 502 ``{"error": "Failed to send invitations"}`` instead of an unhandled 500.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from email_validator import EmailNotValidError, validate_email
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.http import API_PREFIX
from meet_core.http.body import read_json_object
from meet_core.http.errors import ApiError, FieldErrors
from meet_core.http.openapi import error_responses, request_body
from meet_core.meeting import mail
from meet_core.meeting.access import privileged_room
from meet_core.meeting.bodies import InviteBody
from meet_core.meeting.fields import BLANK, NOT_A_STRING, NULL, REQUIRED, as_string
from meet_core.rooms.models import Room
from meet_core.settings.core import CoreSettings
from meet_core.state import core_settings
from meet_core.users.models import User

INVALID_EMAIL = "Enter a valid email address."
SEND_FAILED = "Failed to send invitations"

#: The texts of the invitation, per language (the first part of a language code).
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Video call in progress: {sender} is waiting for you to connect",
        "heading": "{sender} is waiting for you in a video call",
        "intro": "{sender} invites you to join a video call that is in progress.",
        "join": "Join the call",
        "link_label": "Or open this link:",
    },
    "fr": {
        "subject": "Appel vidéo en cours : {sender} attend que vous vous connectiez",
        "heading": "{sender} vous attend dans un appel vidéo",
        "intro": "{sender} vous invite à rejoindre un appel vidéo en cours.",
        "join": "Rejoindre l'appel",
        "link_label": "Ou ouvrez ce lien :",
    },
    "nl": {
        "subject": "Videogesprek bezig: {sender} wacht tot u verbinding maakt",
        "heading": "{sender} wacht op u in een videogesprek",
        "intro": "{sender} nodigt u uit voor een videogesprek dat bezig is.",
        "join": "Deelnemen aan het gesprek",
        "link_label": "Of open deze link:",
    },
    "de": {
        "subject": "Videoanruf läuft: {sender} wartet darauf, dass Sie sich verbinden",
        "heading": "{sender} wartet in einem Videoanruf auf Sie",
        "intro": "{sender} lädt Sie zu einem laufenden Videoanruf ein.",
        "join": "Dem Anruf beitreten",
        "link_label": "Oder öffnen Sie diesen Link:",
    },
}


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("meet_core", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def request_language(request: Request[Any, Any, Any], core: CoreSettings) -> str:
    """The best ``Accept-Language`` entry we have texts for, else ``LANGUAGE_CODE``'s language."""
    ranked: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            ranked.append((quality, tag.strip().lower()))
    for quality, tag in sorted(ranked, key=lambda item: -item[0]):
        if quality > 0 and tag.split("-")[0] in MESSAGES:
            return tag.split("-")[0]
    default = core.language_code.split("-")[0].lower()
    return default if default in MESSAGES else "en"


def _clean_emails(data: dict[str, Any]) -> list[str]:
    """The ``emails`` list: validated, exact duplicates dropped (first occurrence kept)."""
    if "emails" not in data:
        raise FieldErrors({"emails": [REQUIRED]})
    value = data["emails"]
    if value is None:
        raise FieldErrors({"emails": [NULL]})
    if not isinstance(value, list):
        raise FieldErrors({"emails": [f'Expected a list of items but got type "{type(value).__name__}".']})
    if not value:
        raise FieldErrors({"emails": ["This list may not be empty."]})
    errors: dict[str, list[str]] = {}
    emails: list[str] = []
    for index, item in enumerate(value):
        text = as_string(item)
        if text is None:
            errors[str(index)] = [NOT_A_STRING]
            continue
        text = text.strip()
        if not text:
            errors[str(index)] = [BLANK]
            continue
        try:
            validate_email(text, check_deliverability=False)
        except EmailNotValidError:
            errors[str(index)] = [INVALID_EMAIL]
            continue
        emails.append(text)
    if errors:
        raise FieldErrors({"emails": errors})
    return list(dict.fromkeys(emails))


def render_invitation(
    request: Request[Any, Any, Any], core: CoreSettings, room: Room, sender: str
) -> tuple[str, str, str]:
    """Subject, text and HTML of the invitation to ``room`` from ``sender``."""
    lang = request_language(request, core)
    texts = {key: value.format(sender=sender) for key, value in MESSAGES[lang].items()}
    slug = room.slug or str(room.id)
    base_url = (core.email_app_base_url or str(request.base_url)).rstrip("/")
    room_url = f"{base_url}/{slug}"
    room_link = f"{core.email_domain}/{slug}" if core.email_domain else room_url.split("://", 1)[-1]
    context = {
        "lang": lang,
        "t": texts,
        "subject": texts["subject"],
        "brandname": core.email_brand_name,
        "logo_img": core.email_logo_img,
        "domain": core.email_domain,
        "room_url": room_url,
        "room_link": room_link,
        "sender_email": sender,
    }
    env = _templates()
    text = env.get_template("email/invitation.txt").render(context)
    html = env.get_template("email/invitation.html").render(context)
    return texts["subject"], text, html


@post(
    f"{API_PREFIX}/rooms/{{room_key:str}}/invite",
    status_code=200,
    summary="Invite by email",
    tags=["rooms"],
    dependencies=request_body(InviteBody),
    responses=error_responses(400, 401, 403, 404, 415, 502, 503),
)
async def invite(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    current_user: NamedDependency[User],
    room_key: FromPath[str],
) -> dict[str, str]:
    """Email an invitation to join the room to every address of ``emails``."""
    room = await privileged_room(db_session, room_key, current_user)
    emails = _clean_emails(await read_json_object(request))
    core = core_settings(request)
    subject, text, html = render_invitation(request, core, room, current_user.email or str(current_user))
    message = mail.build_message(subject=subject, sender=core.email_from, text=text, html=html)
    try:
        await mail.send(core, message, emails)
    except mail.MailError as exc:
        raise ApiError(502, {"error": SEND_FAILED}) from exc
    return {"status": "success", "message": "invitations sent"}


ROUTES = [invite]
