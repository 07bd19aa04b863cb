"""Sending email through SMTP with the ``EMAIL_*`` settings (``DJANGO_EMAIL_*`` accepted too).

stdlib ``smtplib`` run in a worker thread, one connection per message: invitations are rare
and a pool would only hold idle connections. Every SMTP or network failure is a
:class:`MailError`, which callers answer with a 502.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage

from meet_core.settings.core import CoreSettings

log = logging.getLogger("meet_core.mail")

#: Headers are folded only past RFC 5322's hard limit: the stdlib otherwise moves a subject of
#: 70-odd characters to a continuation line, which some clients show with a leading space.
POLICY = policy.SMTP.clone(max_line_length=998)


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def build_message(*, subject: str, sender: str, text: str, html: str | None = None) -> EmailMessage:
    """A text message with an HTML alternative; recipients go in the SMTP envelope only (BCC)."""
    message = EmailMessage(policy=POLICY)
    message["Subject"] = subject
    message["From"] = sender
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _send_sync(core: CoreSettings, message: EmailMessage, recipients: Sequence[str]) -> None:
    host = core.email_host or "localhost"
    port = core.email_port or (465 if core.email_use_ssl else 25)
    smtp: smtplib.SMTP
    if core.email_use_ssl:
        smtp = smtplib.SMTP_SSL(host, port, timeout=core.email_timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=core.email_timeout)
    with smtp:
        if core.email_use_tls and not core.email_use_ssl:
            smtp.starttls(context=ssl.create_default_context())
        if core.email_host_user:
            smtp.login(core.email_host_user, core.email_host_password or "")
        smtp.send_message(message, from_addr=core.email_from, to_addrs=list(recipients))


async def send(core: CoreSettings, message: EmailMessage, recipients: Sequence[str]) -> None:
    """Send ``message`` to ``recipients`` (envelope only); :class:`MailError` on any failure."""
    try:
        await asyncio.to_thread(_send_sync, core, message, recipients)
    except (smtplib.SMTPException, OSError) as exc:
        log.error("could not send email %r: %r", message["Subject"], exc)
        raise MailError(str(exc) or type(exc).__name__) from exc
