"""``/metrics`` (METRICS_ENABLED): off by default, the series and labels after real requests,
the token, its own port, LiveKit calls, webhook events, Valkey errors and the database pool."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import httpx
from livekit import api
from prometheus_client.parser import text_string_to_metric_families

from meet_core.http.observe import Observed
from meet_core.testing.server import free_port
from meet_core.testing.webhooks import sign_webhook, webhook_body

ON = {"METRICS_ENABLED": "true"}


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition: ``(name, labels) -> value``."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def scrape(client: httpx.AsyncClient, **headers: str) -> dict[Any, float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


async def test_off_by_default_no_route_and_nothing_on_the_request_path(meet_app):
    meet = await meet_app()
    assert (await meet.client.get("/metrics")).status_code == 404
    assert not isinstance(meet.app.asgi_handler, Observed)
    assert meet.app.state.metrics is None


async def test_requests_by_route_template_method_and_status(meet_app):
    meet = await meet_app(env=ON)
    assert isinstance(meet.app.asgi_handler, Observed)
    for _ in range(2):
        assert (await meet.client.get("/api/v1.0/config/")).status_code == 200
    missing = uuid.uuid4()
    assert (await meet.client.get(f"/api/v1.0/rooms/{missing}/")).status_code == 404
    assert (await meet.client.get("/no/such/path")).status_code == 404
    assert (await meet.client.request("BREW", "/api/v1.0/config/")).status_code == 405

    samples = await scrape(meet.client)
    assert (
        value(samples, "meet_http_requests_total", route="/api/v1.0/config", method="GET", status="200") == 2
    )
    assert (
        value(samples, "meet_http_request_duration_seconds_count", route="/api/v1.0/config", method="GET")
        == 2
    )
    assert (
        value(
            samples,
            "meet_http_request_duration_seconds_bucket",
            route="/api/v1.0/config",
            method="GET",
            le="+Inf",
        )
        == 2
    )
    # The route's template, never the raw path: one series for every room id.
    rooms = [
        labels
        for name, labels in samples
        if name == "meet_http_requests_total" and ("status", "404") in labels
    ]
    routes = {dict(labels)["route"] for labels in rooms}
    assert str(missing) not in " ".join(routes)
    assert routes == {"/api/v1.0/rooms/{room_key}", "unmatched"}, routes
    assert value(samples, "meet_http_requests_total", route="unmatched", method="GET", status="404") == 1
    # An unknown method is "other" (clients choose it: labels stay bounded); refused by routing.
    assert value(samples, "meet_http_requests_total", route="unmatched", method="other", status="405") == 1
    # The pool's gauges exist (a request checked a connection out and in).
    assert value(samples, "meet_db_pool_checked_out") is not None


async def test_token_required_when_set(meet_app):
    meet = await meet_app(env={**ON, "METRICS_TOKEN": "scrape-secret"})
    response = await meet.client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await meet.client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
    samples = await scrape(meet.client, Authorization="Bearer scrape-secret")
    assert value(samples, "meet_http_requests_total", route="/metrics", method="GET", status="401") == 2


async def test_own_port_serves_metrics_and_the_api_port_does_not(meet_app):
    port = free_port()
    meet = await meet_app(env={**ON, "METRICS_PORT": str(port), "METRICS_TOKEN": "t0k"})
    assert (await meet.client.get("/api/v1.0/config/")).status_code == 200
    assert (await meet.client.get("/metrics")).status_code == 404
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/elsewhere", headers={"Authorization": "Bearer t0k"})).status_code == 404
        samples = await scrape(client, Authorization="Bearer t0k")
    assert (
        value(samples, "meet_http_requests_total", route="/api/v1.0/config", method="GET", status="200") == 1
    )


async def test_webhook_events_by_type_and_outcome(meet_app, livekit):
    meet = await meet_app(env=ON)

    async def deliver(event: str, **fields: Any) -> int:
        body = webhook_body(event, **fields)
        response = await meet.client.post(
            "/api/v1.0/rooms/webhooks-livekit/",
            content=body,
            headers={"Authorization": sign_webhook(body, livekit.api_key, livekit.api_secret)},
        )
        return response.status_code

    assert await deliver("room_started", id="EV_1", room={"name": "standup"}) == 200
    assert await deliver("room_started", id="EV_1", room={"name": "standup"}) == 200  # a retry
    assert await deliver("participant_joined", id="EV_2", room={"name": "connection-test-1"}) == 200
    assert await deliver("made_up", id="EV_3", room={"name": "standup"}) == 422
    rejected = await meet.client.post("/api/v1.0/rooms/webhooks-livekit/", content=b"{}")
    assert rejected.status_code == 401

    samples = await scrape(meet.client)
    events = "meet_livekit_webhook_events_total"
    assert value(samples, events, event="room_started", outcome="dispatched") == 1
    assert value(samples, events, event="room_started", outcome="duplicate") == 1
    assert value(samples, events, event="participant_joined", outcome="skipped") == 1
    assert value(samples, events, event="other", outcome="unknown_type") == 1
    assert value(samples, events, event="other", outcome="rejected") == 1


async def test_valkey_errors_counted(meet_app, livekit):
    """Valkey is unreachable: the webhook's replay check fails, 503, the error is counted."""
    meet = await meet_app(env={**ON, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    body = webhook_body("room_finished", id="EV_4", room={"name": "standup"})
    response = await meet.client.post(
        "/api/v1.0/rooms/webhooks-livekit/",
        content=body,
        headers={"Authorization": sign_webhook(body, livekit.api_key, livekit.api_secret)},
    )
    assert response.status_code == 503
    samples = await scrape(meet.client)
    assert value(samples, "meet_valkey_errors_total", error="ConnectionError") == 1


async def test_livekit_calls_and_failures_by_method(meet_app, livekit):
    """Counted on the one LiveKitAPI client's session: any service, any caller."""
    meet = await meet_app(env=ON)
    client = meet.app.state.livekit
    livekit.add_room("standup")
    await client.room.list_rooms(api.ListRoomsRequest(names=["standup"]))
    livekit.fail("ListParticipants", code="not_found", times=1)
    with contextlib.suppress(api.TwirpError):
        await client.room.list_participants(api.ListParticipantsRequest(room="standup"))
    samples = await scrape(meet.client)
    assert value(samples, "meet_livekit_calls_total", method="RoomService.ListRooms") == 1
    assert value(samples, "meet_livekit_calls_total", method="RoomService.ListParticipants") == 1
    assert (
        value(samples, "meet_livekit_failures_total", method="RoomService.ListParticipants", reason="404")
        == 1
    )
    assert value(samples, "meet_livekit_failures_total", method="RoomService.ListRooms", reason="404") is None
