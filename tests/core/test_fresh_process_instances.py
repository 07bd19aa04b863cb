"""Instances built without their constructor (``detached_user``, ``room_from_row``) in a fresh
process: SQLAlchemy configures its mappers on the first ``Model()``, so these must do it
themselves when they come first (a server's first request can be a logged-in read)."""

from __future__ import annotations

import subprocess
import sys

import pytest

USER = """
import uuid
from meet_core.users.models import USER_FIELDS, detached_user
user = detached_user({name: None for name in USER_FIELDS} | {"id": uuid.uuid4(), "email": "a@b.c"})
assert user.email == "a@b.c" and user.full_name is None, user
"""
ROOM = """
import datetime, uuid
from meet_core.rooms.service import room_from_row
now = datetime.datetime.now(datetime.UTC)
room = room_from_row({"id": uuid.uuid4(), "name": "R", "slug": "r", "access_level": "public",
                      "configuration": {}, "pin_code": None, "created_at": now, "updated_at": now})
assert room.slug == "r" and room.pin_code is None, room
"""


@pytest.mark.parametrize("script", [USER, ROOM], ids=["user", "room"])
def test_an_instance_built_first_in_a_fresh_process(script: str) -> None:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
