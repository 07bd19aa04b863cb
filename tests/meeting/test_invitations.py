"""POST /rooms/{id}/invite/: one email in BCC through a real SMTP server on loopback."""

from __future__ import annotations

from typing import Any

import pytest

SUCCESS = {"status": "success", "message": "invitations sent"}


def _url(meeting: Any) -> str:
    return f"/api/v1.0/rooms/{meeting.room.id}/invite/"


@pytest.fixture
async def mailing(make_meeting_app, smtp_server):
    env = {
        **smtp_server.env(),
        "EMAIL_FROM": "meet@example.org",
        "EMAIL_APP_BASE_URL": "https://meet.example.org",
        "EMAIL_DOMAIN": "meet.example.org",
        "EMAIL_BRAND_NAME": "La Suite Meet",
        "EMAIL_LOGO_IMG": "https://meet.example.org/logo.png",
    }
    return await make_meeting_app(env=env)


async def invite(meeting: Any, body: Any, who: str = "admin", headers: dict[str, str] | None = None) -> Any:
    async with await meeting.client_as(who) as client:
        return await client.post(_url(meeting), json=body, headers=headers or {})


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_one_email_with_everyone_in_bcc(mailing, smtp_server, who):
    emails = ["alice@example.com", "bob@example.net", "alice@example.com"]
    response = await invite(mailing, {"emails": emails}, who)
    assert (response.status_code, response.json()) == (200, SUCCESS)
    assert len(smtp_server.received) == 1
    mail = smtp_server.received[0]
    assert mail.mail_from == "meet@example.org"
    assert mail.rcpt_tos == ["alice@example.com", "bob@example.net"]  # exact duplicates dropped
    message = mail.message
    sender = "owner@example.com" if who == "owner" else "admin@example.com"
    assert message["Subject"] == f"Video call in progress: {sender} is waiting for you to connect"
    assert message["From"] == "meet@example.org"
    assert message["To"] is None and message["Bcc"] is None and message["Cc"] is None
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    room_url = f"https://meet.example.org/{mailing.room.slug}"
    assert room_url in text and f"meet.example.org/{mailing.room.slug}" in text
    assert f'href="{room_url}"' in html
    assert sender in text and sender in html
    assert "La Suite Meet" in html and 'src="https://meet.example.org/logo.png"' in html
    assert "alice@example.com" not in message.as_string()


async def test_subject_and_body_follow_the_request_language(mailing, smtp_server):
    response = await invite(
        mailing, {"emails": ["a@example.com"]}, headers={"Accept-Language": "de;q=0.5, fr-FR"}
    )
    assert response.status_code == 200
    message = smtp_server.received[0].message
    assert message["Subject"] == "Appel vidéo en cours : admin@example.com attend que vous vous connectiez"
    assert "Rejoindre l'appel" in message.get_body(("plain",)).get_content()
    assert 'lang="fr"' in message.get_body(("html",)).get_content()
    response = await invite(
        mailing, {"emails": ["a@example.com"]}, headers={"Accept-Language": "ja, *;q=0.1"}
    )
    assert response.status_code == 200
    assert smtp_server.received[1].message["Subject"].startswith("Video call in progress:")


async def test_html_is_escaped(make_meeting_app, smtp_server):
    meeting = await make_meeting_app(env={**smtp_server.env(), "EMAIL_BRAND_NAME": "<b>Brand</b>"})
    response = await invite(meeting, {"emails": ["a@example.com"]})
    assert response.status_code == 200
    html = smtp_server.received[0].message.get_body(("html",)).get_content()
    assert "&lt;b&gt;Brand&lt;/b&gt;" in html and "<b>Brand</b>" not in html


async def test_without_app_base_url_the_link_uses_the_request_host(make_meeting_app, smtp_server):
    meeting = await make_meeting_app(env=smtp_server.env())
    assert (await invite(meeting, {"emails": ["a@example.com"]})).status_code == 200
    text = smtp_server.received[0].message.get_body(("plain",)).get_content()
    assert f"http://testserver.local/{meeting.room.slug}" in text


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"emails": ["This field is required."]}),
        ({"emails": []}, {"emails": ["This list may not be empty."]}),
        ({"emails": None}, {"emails": ["This field may not be null."]}),
        ({"emails": "a@example.com"}, {"emails": ['Expected a list of items but got type "str".']}),
        (
            {"emails": ["a@example.com", "not-an-email", "b@example.com", "", {"x": 1}, "c@@example.com"]},
            {
                "emails": {
                    "1": ["Enter a valid email address."],
                    "3": ["This field may not be blank."],
                    "4": ["Not a valid string."],
                    "5": ["Enter a valid email address."],
                }
            },
        ),
    ],
)
async def test_invalid_bodies(mailing, smtp_server, body, errors):
    response = await invite(mailing, body)
    assert (response.status_code, response.json()) == (400, errors)
    assert smtp_server.received == []


async def test_only_administrators_may_invite(mailing, smtp_server):
    response = await invite(mailing, {"emails": ["a@example.com"]}, "member")
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "You must have privileges on room to perform this action."},
    )
    response = await invite(mailing, {}, "member")  # permission before body
    assert response.status_code == 403
    response = await invite(mailing, {"emails": ["a@example.com"]}, "anonymous")
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    assert smtp_server.received == []


async def test_smtp_server_down_is_502(make_meeting_app, unused_port):
    meeting = await make_meeting_app(env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(unused_port)})
    response = await invite(meeting, {"emails": ["a@example.com"]})
    assert (response.status_code, response.json()) == (502, {"error": "Failed to send invitations"})


async def test_smtp_refusal_is_502(mailing, smtp_server):
    smtp_server.handler.refuse = True
    response = await invite(mailing, {"emails": ["a@example.com", "b@example.com"]})
    assert (response.status_code, response.json()) == (502, {"error": "Failed to send invitations"})
    assert smtp_server.received == []
