"""The pipelined Valkey client of the hot paths, against a real Valkey server.

Through the application, it serves the lobby, the throttles and the session read: their
tests (and ``test_valkey_outage_is_a_503_and_recovers``) exercise it over HTTP. Here, what
only the client itself shows: order under concurrency, one write per loop turn, error
replies, scripts the server forgot, the handshake, timeouts and reconnection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import valkey
from valkey import exceptions as errors

from meet_core.pipelined_valkey import PipelinedValkey, Script, pack_command
from meet_core.testing import ValkeyTestServer


@pytest.fixture
def own_valkey() -> Iterator[ValkeyTestServer]:
    """A server of this test's own (it is stopped, or given a password)."""
    with ValkeyTestServer() as server:
        yield server


@pytest.fixture
async def client(own_valkey: ValkeyTestServer) -> AsyncIterator[PipelinedValkey]:
    pipelined = PipelinedValkey(own_valkey.url)
    yield pipelined
    await pipelined.aclose()


def _clients(server: ValkeyTestServer) -> int:
    """Connections the server has open (the inspecting one included)."""
    inspector = valkey.Valkey.from_url(server.url)
    try:
        return len(inspector.client_list())
    finally:
        inspector.close()


async def test_concurrent_calls_get_their_own_replies_in_order(client: PipelinedValkey) -> None:
    replies = await asyncio.gather(*(client.execute("INCR", "counter") for _ in range(200)))
    assert replies == list(range(1, 201))
    keys = [f"key:{i}" for i in range(50)]
    await asyncio.gather(*(client.execute("SET", key, f"value {key}") for key in keys))
    values = await asyncio.gather(*(client.execute("GET", key) for key in keys))
    assert values == [f"value {key}".encode() for key in keys]
    assert await client.execute("GET", "missing") is None


async def test_calls_of_one_loop_turn_share_one_write(
    client: PipelinedValkey, own_valkey: ValkeyTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.execute("PING")  # connected
    connection = client._connection
    assert connection is not None and connection.transport is not None
    writes: list[bytes] = []
    write = connection.transport.write

    def counting_write(data: bytes) -> None:
        writes.append(bytes(data))
        write(data)

    monkeypatch.setattr(connection.transport, "write", counting_write)
    replies = await asyncio.gather(*(client.execute("ECHO", str(i)) for i in range(64)))
    assert replies == [str(i).encode() for i in range(64)]
    assert len(writes) == 1 and writes[0].count(b"ECHO") == 64
    assert _clients(own_valkey) == 2  # this client's one connection, and the inspector


async def test_an_error_reply_fails_only_its_own_call(client: PipelinedValkey) -> None:
    results = await asyncio.gather(
        client.execute("SET", "text", "a"),
        client.execute("INCR", "text"),
        client.execute("GET", "text"),
        return_exceptions=True,
    )
    assert results[0] == b"OK"
    assert isinstance(results[1], errors.ResponseError)
    assert "not an integer" in str(results[1])
    assert results[2] == b"a"


async def test_a_cancelled_call_does_not_shift_the_replies(client: PipelinedValkey) -> None:
    await client.execute("SET", "a", "value a")
    await client.execute("SET", "b", "value b")
    first = asyncio.ensure_future(client.execute("GET", "a"))
    await asyncio.sleep(0)  # queued, not yet answered
    first.cancel()
    assert await client.execute("GET", "b") == b"value b"
    assert first.cancelled()


async def test_scripts_run_by_sha_and_survive_a_script_flush(client: PipelinedValkey) -> None:
    script = Script.of("return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}")
    assert await client.run_script(script, ["k"], ["v", 41]) == [b"k", b"v", 42]
    await client.execute("SCRIPT", "FLUSH")  # as after a Valkey restart
    assert await client.run_script(script, ["k"], ["w", 1]) == [b"k", b"w", 2]
    assert await client.execute("SCRIPT", "EXISTS", script.sha) == [1]
    failing = Script.of("return redis.error_reply('ERR refused by the script')")
    with pytest.raises(errors.ResponseError, match="refused by the script"):
        await client.run_script(failing, [], [])


def test_commands_are_packed_as_resp_bulk_strings() -> None:
    assert pack_command(["SET", "clé", b"\x00\xff", 12, 1.5]) == (
        b"*5\r\n$3\r\nSET\r\n$4\r\ncl\xc3\xa9\r\n$2\r\n\x00\xff\r\n$2\r\n12\r\n$3\r\n1.5\r\n"
    )
    with pytest.raises(errors.DataError):
        pack_command(["SET", "flag", True])


async def test_password_and_database_of_the_url(own_valkey: ValkeyTestServer) -> None:
    admin = valkey.Valkey.from_url(own_valkey.url)
    admin.config_set("requirepass", "s3cret")
    admin.close()
    base = f"127.0.0.1:{own_valkey.port}"

    pipelined = PipelinedValkey(f"redis://:s3cret@{base}/3")
    try:
        assert await pipelined.execute("SET", "where", "db 3") == b"OK"
    finally:
        await pipelined.aclose()
    reader = valkey.Valkey.from_url(f"redis://:s3cret@{base}/3")
    try:
        assert reader.get("where") == b"db 3"
        assert reader.execute_command("SELECT", 0) and reader.get("where") is None
    finally:
        reader.close()

    wrong = PipelinedValkey(f"redis://:wrong@{base}/0")
    with pytest.raises(errors.ConnectionError, match="refused the connection"):
        await wrong.execute("PING")
    await wrong.aclose()


async def test_valkey_down_then_back(own_valkey: ValkeyTestServer, client: PipelinedValkey) -> None:
    assert await client.execute("SET", "k", "1") == b"OK"
    own_valkey.stop()
    with pytest.raises(errors.ConnectionError):
        await client.execute("GET", "k")
    with pytest.raises(errors.ConnectionError, match="cannot connect"):
        await client.execute("GET", "k")
    own_valkey.restart()
    assert await client.execute("SET", "k", "2") == b"OK"
    assert await client.execute("GET", "k") == b"2"


async def test_a_silent_server_times_out_and_the_client_reconnects() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pipelined = PipelinedValkey(f"redis://127.0.0.1:{port}/0", timeout=0.3)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(
            pipelined.execute("GET", "a"), pipelined.execute("GET", "b"), return_exceptions=True
        )
        assert all(isinstance(result, errors.TimeoutError) for result in results)
        assert 0.25 < loop.time() - started < 2
        with pytest.raises(errors.TimeoutError):  # a new connection, silent again
            await pipelined.execute("GET", "c")
        assert len(accepted) == 2
    finally:
        await pipelined.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
