async def test_config_and_heartbeat(meet_app):
    meet = await meet_app()
    response = await meet.client.get("/api/v1.0/config/")
    assert response.status_code == 200
    assert response.json()["livekit"]["url"].startswith("http://127.0.0.1")
    response = await meet.client.get("/__heartbeat__")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "valkey": "ok"}}
