"""``meet telephony backfill`` and the plugin's migration lineage, through the ``meet`` command line."""

from __future__ import annotations

import asyncio
import re

from meet_core.testing import schema_diff


async def test_backfill_gives_a_pin_to_every_room_without_one(kit, meet_env, meet_cli):
    meet = await kit.app()
    older = [await meet.create_room(f"older {i}") for i in range(3)]  # made before the plugin
    recent = await kit.create_room(meet)
    same_database = {"DATABASE_URL": meet_env["DATABASE_URL"]}

    # The command line runs its own event loop: in a thread.
    output = await asyncio.to_thread(
        meet_cli, "telephony", "backfill", "--batch-size", "2", plugins="telephony", env=same_database
    )

    assert output.strip() == "3 room(s) given a PIN"
    pins = await kit.pins(meet)
    assert set(pins) == {str(r.id) for r in older} | {recent["id"]}
    assert pins[recent["id"]] == recent["pin_code"]
    assert all(re.fullmatch(r"\d{10}", pin) for pin in pins.values())
    assert len(set(pins.values())) == 4

    again = await asyncio.to_thread(meet_cli, "telephony", "backfill", plugins="telephony", env=same_database)
    assert again.strip() == "0 room(s) given a PIN"
    assert await kit.pins(meet) == pins


def test_backfill_is_not_there_with_the_plugin_disabled(meet_cli):
    output = meet_cli("telephony", "backfill", plugins="lobby", expect_exit=2)
    assert "No such command 'telephony'" in output


def test_the_migration_lineage_builds_the_plugin_table(meet_cli, empty_database):
    """``meet db upgrade`` with the plugin enabled makes exactly the table of its model."""
    meet_cli("db", "upgrade", plugins="telephony")
    assert schema_diff(empty_database, {"meet_telephony_room_pin"}) == []
    assert "the migrations match the models" in meet_cli("db", "check", plugins="telephony")
