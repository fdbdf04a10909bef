"""The benchmark's HTTP client pool (bench/http.py) against a server that drops idle keep-alive
connections, as Uvicorn does after 5 s: a send after a pause must not fail."""

import asyncio

from bench.http import HttpPool


async def test_a_request_after_the_server_dropped_every_idle_connection_succeeds() -> None:
    """Several idle connections closed by the server between trials cost no failed request."""
    hung_up: list[int] = []
    all_hung_up = asyncio.Event()

    async def answer_once_then_hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        # No "Connection: close": the client keeps it, and finds it closed next time.
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        hung_up.append(1)
        if len(hung_up) == 4:
            all_hung_up.set()

    server = await asyncio.start_server(answer_once_then_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = HttpPool("127.0.0.1", port, size=8)
    try:
        first = await asyncio.gather(*(pool.call("POST", "/send", {"n": n}) for n in range(4)))
        assert [status for status, _ in first] == [201] * 4
        await all_hung_up.wait()  # every idle connection in the pool is now closed
        status, _ = await pool.call("POST", "/send", {"n": 5})
        assert status == 201
    finally:
        await pool.close()
        server.close()
        await server.wait_closed()
