"""A lean open-loop HTTP/1.1 load generator for the webhook burst.

Why not httpx: on this 2-core machine httpx costs about a millisecond of CPU per request on the
client side, and that showed up as server latency. The same 2,000-webhook burst at 200/s against
a server that answers at once (`null_server` below) measured p99 72 ms with httpx. Here each
request is bytes built in advance and written to one of a few keep-alive connections, and the
answer is read by its Content-Length; `null_server` gives the generator's own floor in the same
run, so that the bench can show it next to what the channel costs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class Connection:
    """One keep-alive connection; `send` returns the status code."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, origin: str) -> Connection:
        parts = urlsplit(origin)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def send(self, wire: bytes) -> int:
        self._writer.write(wire)
        status_line = await _read_message(self._reader)
        return int(status_line.split(" ", 2)[1])

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def _read_message(reader: asyncio.StreamReader) -> str:
    """Read one HTTP/1.1 message (head, then a Content-Length body); its first line."""
    head = await reader.readuntil(b"\r\n\r\n")
    first_line, *header_lines = head.decode("latin-1").split("\r\n")
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and int(value):
            await reader.readexactly(int(value))
    return first_line


async def open_loop(
    origin: str, requests: Sequence[Request], rate: float, connections: int
) -> tuple[list[float], float]:
    """Request i is due at start + i/rate whatever the server does; it waits for a free
    connection if all are busy, and its latency counts from when it was due (no coordinated
    omission). Returns (latencies in seconds, elapsed seconds); raises on any non-2xx."""
    host = urlsplit(origin).netloc
    wires = [request.encode(host) for request in requests]
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open(origin))
    latencies: list[float] = []
    failures: list[int] = []
    start = time.perf_counter()

    async def one(due: float, wire: bytes) -> None:
        connection = await pool.get()
        try:
            status = await connection.send(wire)
        finally:
            pool.put_nowait(connection)
        latencies.append(time.perf_counter() - due)
        if not 200 <= status < 300:
            failures.append(status)

    tasks = []
    for i, wire in enumerate(wires):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, wire)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        await pool.get_nowait().close()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first status {failures[0]}")
    return latencies, elapsed


async def closed_loop(
    origin: str, requests: Sequence[Request], connections: int
) -> tuple[list[float], float]:
    """As fast as the server answers: each connection sends its next request once the last is
    answered. Returns (latencies in seconds, elapsed seconds); raises on any non-2xx."""
    host = urlsplit(origin).netloc
    wires = iter([request.encode(host) for request in requests])
    latencies: list[float] = []

    async def worker() -> None:
        connection = await Connection.open(origin)
        try:
            for wire in wires:  # one shared iterator: each request is sent once
                sent = time.perf_counter()
                status = await connection.send(wire)
                if not 200 <= status < 300:
                    raise RuntimeError(f"a request failed with status {status}")
                latencies.append(time.perf_counter() - sent)
        finally:
            await connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, time.perf_counter() - start


def _serve_null(port: int, body: bytes) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await _read_message(reader)
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


@contextmanager
def null_server(port: int, body: bytes = b'{"status":"ok"}') -> Iterator[str]:
    """A server process that answers every request at once with `body` (JSON): the load
    generator's own floor, or a Graph API that costs nothing."""
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_null, args=(port, body), daemon=True
    )
    process.start()
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield origin
    finally:
        process.terminate()
        process.join(timeout=5)
