"""``meet applications ...``, the plugin's lineage, and a calendar integration over plain HTTP."""

from __future__ import annotations

import asyncio
import json

from meet_core.testing import schema_diff


def test_create_prints_the_secret_once_as_json(meet_cli):
    meet_cli("db", "upgrade", plugins="external_api")
    output = meet_cli(
        "applications", "create", "Agenda", "--scope", "rooms:create", "--scope", "rooms:list",
        "--domain", " Example.COM ", "--domain", "example.org", "--client-secret", "s3cr&t=+%x", "--json",
        plugins="external_api",
    )  # fmt: skip
    credentials = json.loads(output.strip().splitlines()[-1])
    assert set(credentials) == {"client_id", "client_secret"}
    assert credentials["client_secret"] == "s3cr&t=+%x"
    assert len(credentials["client_id"]) == 40 and credentials["client_id"].isalnum()

    listed = meet_cli("applications", "list", "--json", plugins="external_api")
    [row] = [json.loads(line) for line in listed.splitlines()]
    assert row["client_id"] == credentials["client_id"]
    assert row["scopes"] == ["rooms:create", "rooms:list"]
    assert row["domains"] == ["example.com", "example.org"]
    assert row["is_active"] is True
    assert "s3cr" not in listed

    # Drawn secrets: 128 letters and digits, different each time.
    drawn = [
        json.loads(
            meet_cli("applications", "create", f"App {i}", "--json", plugins="external_api").splitlines()[-1]
        )
        for i in range(2)
    ]
    assert all(len(c["client_secret"]) == 128 and c["client_secret"].isalnum() for c in drawn)
    assert drawn[0]["client_secret"] != drawn[1]["client_secret"]

    assert "deactivated" in meet_cli("applications", "deactivate", row["id"], plugins="external_api")
    assert "activated" in meet_cli(
        "applications", "activate", credentials["client_id"], plugins="external_api"
    )
    rotated = json.loads(
        meet_cli("applications", "rotate-secret", row["id"], "--json", plugins="external_api").splitlines()[
            -1
        ]
    )
    assert rotated["client_id"] == credentials["client_id"]
    assert rotated["client_secret"] != credentials["client_secret"]


def test_cli_refusals(meet_cli):
    meet_cli("db", "upgrade", plugins="external_api")
    bad_scope = meet_cli(
        "applications", "create", "X", "--scope", "admin", plugins="external_api", expect_exit=2
    )
    assert "admin" in bad_scope
    bad_domain = meet_cli("applications", "create", "X", "--domain", "not a domain", plugins="external_api",
                          expect_exit=1)  # fmt: skip
    assert "not a valid domain" in bad_domain
    unknown = meet_cli("applications", "deactivate", "nope", plugins="external_api", expect_exit=1)
    assert "no application" in unknown
    assert "No such command 'applications'" in meet_cli(
        "applications", "list", plugins="lobby", expect_exit=2
    )


def test_the_migration_lineage_builds_the_plugin_tables(meet_cli, empty_database):
    meet_cli("db", "upgrade", plugins="external_api")
    assert schema_diff(empty_database, {"meet_application", "meet_application_domain"}) == []
    assert "the migrations match the models" in meet_cli("db", "check", plugins="external_api")


async def test_a_calendar_integration(kit, meet_env, meet_cli):
    """What a calendar does: an operator registers it, it gets a token and creates a meeting."""
    meet = await kit.app()
    user = await meet.create_user(email="organizer@agency.example")
    output = await asyncio.to_thread(
        meet_cli,
        "applications", "create", "Calendar", "--scope", "rooms:create", "--domain", "agency.example",
        "--client-secret", "a&b=c+d%e", "--json",
        plugins="external_api", env={"DATABASE_URL": meet_env["DATABASE_URL"]},
    )  # fmt: skip
    credentials = json.loads(output.strip().splitlines()[-1])

    form = {**credentials, "grant_type": "client_credentials", "scope": "Organizer@agency.example"}
    token = await meet.client.post(kit.TOKEN_URL, data=form)
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "rooms:create"

    auth = {"Authorization": f"{token.json()['token_type']} {token.json()['access_token']}"}
    room = await meet.client.post(kit.ROOMS_URL, json={}, headers=auth)
    assert room.status_code == 201, room.text
    # The organizer finds it among their rooms in the web app.
    await meet.login(user)
    mine = (await meet.client.get("/api/v1.0/rooms/")).json()["results"]
    assert [r["slug"] for r in mine] == [room.json()["slug"]]
