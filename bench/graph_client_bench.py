"""CPU per Graph API call: the Graph client on aiohttp's wire against httpx's own engine.

Every bot reply makes two Graph calls (mark-as-read, then the send) on the Rasa server's turn
thread, whose interpreter lock bounds the bot's turns per second; this measures what one call
costs that thread. Both clients are the real `GraphClient` (pacing, auth, retries, parsing), one
on the default transport (`aiohttp_transport.AiohttpTransport`), the baseline on httpx's
`AsyncHTTPTransport` (httpcore), against a server in another process that answers at once; CPU
time of this process (`time.process_time`), sequential calls, same run.

Run: `.venv/bin/python bench/graph_client_bench.py` (about 10 seconds; `--quick`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_table  # noqa: E402
from bench.http_load import null_server  # noqa: E402
from connectors.whatsapp.graph_client import GraphClient  # noqa: E402
from connectors.whatsapp.pacing import Pacer  # noqa: E402
from devstack.processes import free_port  # noqa: E402

BODY = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "447700900123",
    "type": "text",
    "text": {"body": "Your order A1234 has shipped."},
}

SEND_ANSWER = (
    b'{"messaging_product":"whatsapp",'
    b'"contacts":[{"input":"447700900123","wa_id":"447700900123"}],'
    b'"messages":[{"id":"wamid.bench"}]}'
)


async def cpu_per_call(
    origin: str, calls: int, transport: httpx.AsyncBaseTransport | None
) -> float:
    """Milliseconds of this process's CPU per `GraphClient.send`, after a warm-up."""
    graph = GraphClient(
        base_url=origin,
        api_version="v23.0",
        phone_number_id="106540352242922",
        access_token="bench-token",
        pacer=Pacer(rate_per_second=1000),  # never the limit here
        transport=transport,
    )
    try:
        for _ in range(50):
            await _send(graph)
        start = time.process_time()
        for _ in range(calls):
            await _send(graph)
        return 1000 * (time.process_time() - start) / calls
    finally:
        await graph.aclose()


async def _send(graph: GraphClient) -> None:
    await graph.send(BODY, pacing_key="bench")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls = 300 if args.quick else 3000
    with null_server(free_port(), SEND_ANSWER) as origin:
        baseline = asyncio.run(cpu_per_call(origin, calls, httpx.AsyncHTTPTransport()))
        ours = asyncio.run(cpu_per_call(origin, calls, None))
        baseline_again = asyncio.run(cpu_per_call(origin, calls, httpx.AsyncHTTPTransport()))
    httpcore = (baseline + baseline_again) / 2
    rows = [
        (
            "GraphClient.send on httpx's engine (baseline, mean of before/after)",
            f"{httpcore:.3f} ms",
        ),
        ("GraphClient.send on aiohttp's wire (the default)", f"{ours:.3f} ms"),
        ("ratio aiohttp / httpcore", f"{ours / httpcore:.2f}"),
        ("calls each", str(calls)),
    ]
    print_table(
        f".venv/bin/python bench/graph_client_bench.py{' --quick' if args.quick else ''}",
        rows,
        "graph_client_bench",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
