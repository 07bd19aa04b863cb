"""Applications: credentials drawn and hashed, domains checked, rows read and written.

Client ids and secrets are drawn with ``secrets`` (letters and digits, services.md §8.1). The
secret is stored as an argon2id hash (argon2-cffi, whose verification is constant-time) and
shown once, when drawn. Hashing and verifying cost tens of milliseconds of CPU on purpose:
the request paths run them in a thread.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
import string
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meet_core.api import parse_uuid
from meet_external_api.models import DOMAIN_MAX_LENGTH, Application, ApplicationDomain

ALPHABET = string.ascii_letters + string.digits
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidApplication(ValueError):
    """An application cannot be made as asked (the message says why, for the command line)."""


def draw(length: int) -> str:
    """``length`` letters and digits from the system's CSPRNG."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


@functools.cache
def _hasher() -> PasswordHasher:
    """argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): client secrets are
    long random strings, so the hash guards a leaked table rather than weak passwords, and
    the token endpoint stays cheap (each request verifies once). Hashes carry their own
    parameters: raising these later still verifies the old ones."""
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_secret(secret: str) -> str:
    return _hasher().hash(secret)


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against when the client is unknown, so that both cases cost the same."""
    return hash_secret(draw(32))


def verify_secret(hashed: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``hashed`` (None: an unknown client, checked against a decoy)."""
    try:
        return _hasher().verify(hashed or _decoy_hash(), secret) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_secret_in_thread(hashed: str | None, secret: str) -> bool:
    return await asyncio.to_thread(verify_secret, hashed, secret)


def normalize_domain(text: str) -> str:
    """A domain as stored: trimmed, lower case, ASCII DNS labels (no IDNA), at most 253 characters."""
    domain = text.strip().lower().rstrip(".")
    labels = domain.split(".")
    if (
        not domain
        or len(domain) > DOMAIN_MAX_LENGTH
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidApplication(f"{text!r} is not a valid domain name")
    return domain


def email_domain_allowed(email: str, domains: Iterable[str]) -> bool:
    """Any e-mail when there are no domains; else its domain equals one of them (no sub-domains)."""
    allowed = set(domains)
    return not allowed or email.rpartition("@")[2].lower() in allowed


async def create_application(
    session: AsyncSession,
    name: str,
    *,
    scopes: Sequence[str],
    domains: Sequence[str],
    active: bool,
    client_id_length: int,
    secret: str,
) -> Application:
    """A new application with a fresh client id and ``secret`` hashed; flushed, not committed."""
    name = name.strip()
    if not name or len(name) > 255:
        raise InvalidApplication("the name must be 1 to 255 characters long")
    normalized = sorted({normalize_domain(domain) for domain in domains})
    application = Application(
        name=name,
        is_active=active,
        client_id=draw(client_id_length),
        client_secret=await asyncio.to_thread(hash_secret, secret),
        scopes=list(dict.fromkeys(scopes)),
    )
    session.add(application)
    await session.flush()
    session.add_all(ApplicationDomain(application_id=application.id, domain=d) for d in normalized)
    await session.flush()
    return application


async def find_application(session: AsyncSession, key: str) -> Application | None:
    """The application of an id (UUID) or a client id."""
    application_id = parse_uuid(key)
    query = select(Application).where(
        Application.id == application_id if application_id is not None else Application.client_id == key
    )
    return (await session.execute(query)).scalar_one_or_none()


async def by_client_id(session: AsyncSession, client_id: str) -> Application | None:
    return (
        await session.execute(select(Application).where(Application.client_id == client_id))
    ).scalar_one_or_none()


async def domains_of(
    session: AsyncSession, application_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The allowed domains of each application, sorted."""
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    if application_ids:
        rows = await session.execute(
            select(ApplicationDomain.application_id, ApplicationDomain.domain)
            .where(ApplicationDomain.application_id.in_(application_ids))
            .order_by(ApplicationDomain.domain)
        )
        for application_id, domain in rows.tuples():
            found[application_id].append(domain)
    return found


async def all_applications(session: AsyncSession) -> list[Application]:
    return list((await session.execute(select(Application).order_by(Application.created_at))).scalars())
