async def test_heartbeat_names_livekit_down_with_a_503(meet_app, livekit):
    """LiveKit unreachable: the heartbeat fails and says which part (docs/operations.md)."""
    meet = await meet_app()
    livekit.set_down()
    response = await meet.client.get("/__heartbeat__")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == checks["valkey"] == "ok"
    assert checks["livekit"].startswith("error: ")
    livekit.set_down(False)
    assert (await meet.client.get("/__heartbeat__")).status_code == 200


async def test_config_and_heartbeat(meet_app):
    meet = await meet_app()
    response = await meet.client.get("/api/v1.0/config/")
    assert response.status_code == 200
    assert response.json()["livekit"]["url"].startswith("http://127.0.0.1")
    response = await meet.client.get("/__heartbeat__")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "valkey": "ok", "livekit": "ok"}}
