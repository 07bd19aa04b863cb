"""Errors keep the old shapes; the OpenAPI schema is served; health checks say what failed."""

from __future__ import annotations


async def test_unknown_route_is_a_json_404(meet_app) -> None:
    meet = await meet_app()
    response = await meet.client.get("/api/v1.0/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


async def test_wrong_method_is_a_405_with_the_drf_message(meet_app) -> None:
    meet = await meet_app()
    response = await meet.client.delete("/api/v1.0/config/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}


async def test_malformed_json_is_a_400_not_a_500(meet_app) -> None:
    meet = await meet_app()
    response = await meet.client.post(
        "/api/v1.0/rooms/creation-callback/",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


async def test_openapi_schema_and_ui(meet_app) -> None:
    meet = await meet_app()
    schema = await meet.client.get("/api/v1.0/swagger.json")
    assert schema.status_code == 200
    assert "/api/v1.0/config" in schema.json()["paths"]
    ui = await meet.client.get("/api/v1.0/swagger/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()


async def test_lbheartbeat_and_version(meet_app) -> None:
    meet = await meet_app()
    assert (await meet.client.get("/__lbheartbeat__")).status_code == 200
    version = (await meet.client.get("/__version__")).json()
    assert set(version) == {"source", "version", "commit", "build"}


async def test_heartbeat_names_valkey_when_it_is_down_and_recovers(meet_app, valkey_server) -> None:
    meet = await meet_app()
    assert (await meet.client.get("/__heartbeat__")).status_code == 200
    valkey_server.stop()
    try:
        response = await meet.client.get("/__heartbeat__")
        assert response.status_code == 503
        assert response.json()["checks"]["database"] == "ok"
        assert response.json()["checks"]["valkey"].startswith("error")
        # an endpoint that needs Valkey answers a clear 503, not a 500
        response = await meet.client.post("/api/v1.0/rooms/creation-callback/", json={"callback_id": "x"})
        assert response.status_code == 503
        assert response.json() == {"detail": "Valkey is unavailable, please retry later."}
    finally:
        valkey_server.restart()
    response = await meet.client.get("/__heartbeat__")
    assert response.status_code == 200, response.text
