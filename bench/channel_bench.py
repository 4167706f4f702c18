"""Benchmarks of the WhatsApp channel, measured against baselines in the same run.

1. Turns per second end to end through the WhatsApp channel and the Cloud API simulator (a user
   sends, the bot's reply reaches the simulator), against Rasa's REST channel on the same model,
   same server, same run. Target: ratio >= 0.9. Measured in rounds of REST, WhatsApp, REST (three
   by default), each phase with senders of its own; a round's ratio is its WhatsApp figure over
   the mean of the REST figures around it, and the result is the median of the rounds.
2. Webhook acknowledgement latency during a burst of 2,000 messages from 200 senders posted straight
   to the webhook (signed as Meta signs them) while the bot is saturated by the turns they cause.
   Target: p99 < 50 ms. The burst arrives as Meta sends it, at a set rate whatever the server does
   (open loop, 200/s by default: six times what the bot can answer, so the bot is saturated
   throughout), and each latency counts from the scheduled send. The webhooks go where Meta's would:
   to the webhook front (its own process and port, as `make run` and the tests run it), or with
   `--no-front` to the Rasa server's own route. Baseline: the Rasa server's channel health route
   (GET /webhooks/whatsapp/) during the same burst, i.e. what any request costs on the busy server.
   Then a flood: 16 posters each sending its next webhook as soon as the last is acknowledged
   (closed loop), which measures how many acknowledgements per second the channel sustains; its
   latency is queueing behind the 16, not what Meta would see.

Run: `.venv/bin/python bench/channel_bench.py` (about 5 minutes; `--quick` for a small run).
Prints a markdown table; docs/benchmarks.md keeps the results.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import grant_consent, percentile, print_table  # noqa: E402
from bench.cores import placement  # noqa: E402
from bench.http_load import Request, closed_loop, null_server, open_loop  # noqa: E402
from compliance.context import build_context  # noqa: E402
from connectors.rest import rest_subject  # noqa: E402
from connectors.whatsapp.simulator import webhooks as wh  # noqa: E402
from connectors.whatsapp.webhook_front import HEALTH_PATH, WEBHOOK_PATH  # noqa: E402
from devstack.postgres import throwaway_database  # noqa: E402
from devstack.processes import free_port  # noqa: E402
from devstack.stack import SIMULATOR_SETTINGS, local_whatsapp_stack, start_stack  # noqa: E402
from devstack.training import ensure_model  # noqa: E402

QUESTIONS = ("what are your delivery times?", "how do returns work?", "where is my order A1234?")
IN_FLIGHT = 16  # concurrent webhook requests of the open-loop burst
HEALTH_PROBES_PER_SECOND = 50
BUSINESS = wh.Business(
    "102290129340398", SIMULATOR_SETTINGS["WHATSAPP_PHONE_NUMBER_ID"], "15550783881"
)


async def rest_turns(rasa_url: str, senders: list[str], turns_each: int) -> float:
    async with httpx.AsyncClient(base_url=rasa_url, timeout=120) as http:

        async def run(sender: str) -> None:
            for i in range(turns_each):
                r = await http.post(
                    "/webhooks/rest/webhook", json={"sender": sender, "message": QUESTIONS[i % 3]}
                )
                assert r.status_code == 200 and r.json(), r.text

        start = time.perf_counter()
        await asyncio.gather(*(run(s) for s in senders))
        return len(senders) * turns_each / (time.perf_counter() - start)


async def whatsapp_turns(sim_url: str, users: list[str], turns_each: int) -> float:
    async with httpx.AsyncClient(base_url=sim_url, timeout=120) as http:

        async def run(user: str) -> None:
            for i in range(turns_each):
                # One round trip per turn, as the REST client makes: the simulated user's
                # message, and the answer once the bot's reply to it has reached "Meta".
                sent = await http.post(
                    f"/_sim/users/{user}/send", json={"text": QUESTIONS[i % 3], "wait_reply": 30}
                )
                answer = sent.json()
                assert sent.status_code == 200 and answer["webhook_status"] == 200, sent.text
                assert answer["replies"]["messages"], f"no reply within 30 s: {sent.text}"

        start = time.perf_counter()
        await asyncio.gather(*(run(u) for u in users))
        return len(users) * turns_each / (time.perf_counter() - start)


def signed_bodies(senders: list[str], total: int) -> list[tuple[bytes, str]]:
    """`total` text webhooks round-robin over `senders`, signed as Meta signs them."""
    secret = SIMULATOR_SETTINGS["WHATSAPP_APP_SECRET"]
    bodies = []
    for n in range(total):
        user = wh.WhatsAppUser(wa_id=senders[n % len(senders)], name="Bench")
        body = wh.inbound(
            BUSINESS,
            user,
            f"wamid.bench{n:08d}{os.getpid()}{time.monotonic_ns()}",
            int(time.time()),
            wh.text(QUESTIONS[n % 3]),
        )
        raw = wh.serialize(body)
        bodies.append((raw, wh.sign(secret, raw)))
    return bodies


def webhook_requests(senders: list[str], total: int) -> list[Request]:
    return [
        Request(
            "POST",
            WEBHOOK_PATH,
            raw,
            (("X-Hub-Signature-256", signature), ("Content-Type", "application/json")),
        )
        for raw, signature in signed_bodies(senders, total)
    ]


async def burst_open_loop(
    webhook_origin: str, rasa_url: str, requests: list[Request], rate: float
) -> dict:
    """Meta's side of a burst: webhook i leaves at start + i/rate whatever the server does
    (open loop), on IN_FLIGHT keep-alive connections; latency counts from the scheduled time,
    so a server that falls behind is charged for the wait too (no coordinated omission).
    Meanwhile the Rasa server's health route is probed 50 times a second, the same way."""
    # Meta does not say how many webhooks it sends in parallel; 16, as every earlier run of
    # this bench (with 64 the in-server route acknowledged only 75/s: docs/benchmarks.md).
    probes = [Request("GET", HEALTH_PATH)] * int(len(requests) / rate * HEALTH_PROBES_PER_SECOND)
    (acks, elapsed), (health, _) = await asyncio.gather(
        open_loop(webhook_origin, requests, rate, IN_FLIGHT),
        open_loop(rasa_url, probes, HEALTH_PROBES_PER_SECOND, 1),
    )
    return {"acks": acks, "health": health, "elapsed": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, for a smoke test")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="webhooks per second in the burst (open loop)"
    )
    parser.add_argument(
        "--webhook-processes",
        type=int,
        default=None,
        help="the channel's webhook_processes setting (default: the channel's default)",
    )
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="run the stack on a throwaway database on this PostgreSQL server (default: SQLite),"
        " e.g. postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of REST, WhatsApp, REST turns/s (default 3; the ratio is their median)",
    )
    parser.add_argument(
        "--no-front",
        action="store_true",
        help="serve the webhook on the Rasa server's port, without the webhook front process",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="decline the stack's default of the Rasa server on a core of its own, its webhook"
        " front and the action server on the others (WHATSAPP_PIN_CORES=false)",
    )
    parser.add_argument(
        "--senders",
        type=int,
        default=None,
        help="concurrent senders in each turns/s phase (default 8; --quick: 4)",
    )
    args = parser.parse_args()
    senders, turns_each = (4, 5) if args.quick else (8, 15)
    senders = args.senders or senders
    rounds = 1 if args.quick else args.rounds
    burst_total, burst_senders = (200, 20) if args.quick else (2000, 200)
    rate = args.rate

    model = ensure_model()
    workdir = Path(tempfile.mkdtemp(prefix="sigillo-bench-"))
    with ExitStack() as cleanup:
        env = {}
        if args.postgres:  # a database of its own on that server, dropped afterwards
            env["SIGILLO_DATABASE_URL"] = cleanup.enter_context(
                throwaway_database(args.postgres, prefix="sigillo_bench")
            )
        config = local_whatsapp_stack(
            model,
            workdir,
            env=env,
            pin_cores=not args.no_pin,
            simulator_args=["--no-window"],
            **({"webhook_port": None} if args.no_front else {}),
            whatsapp_options=(
                {}
                if args.webhook_processes is None
                else {"webhook_processes": args.webhook_processes}
            ),
        )
        stack = cleanup.enter_context(start_stack(config))
        # The load generator, like the simulator, stands in for Meta and its users, whose CPU
        # is not the deployment's: not pinned.
        pids = {p.name: p.popen.pid for p in stack.processes if p.popen is not None}
        server = pids.pop("Rasa server")
        pinning = placement(server, {**pids, "the load generator": os.getpid()})
        context = build_context({**os.environ, **stack.env}, component="cli")
        # Every phase has senders of its own, so that each measures conversations of the same
        # length (a turn costs Rasa more as its conversation grows).
        wa_users = [[f"44770{r}9{n:05d}" for n in range(senders)] for r in range(rounds + 1)]
        rest_senders = [
            [f"bench-rest-{r}-{n}" for n in range(senders)] for r in range(2 * rounds + 1)
        ]
        burst_users = [f"4477008{n:05d}" for n in range(burst_senders)]
        phones = [u for users in wa_users for u in users] + burst_users
        grant_consent(context, [context.vault.register("phone", "+" + u) for u in phones])
        key = context.keyring.pseudonym_key
        grant_consent(context, [rest_subject(s, key) for ss in rest_senders for s in ss])
        # Warm-up: the first turns of a fresh server are slower (lazy graph compilation).
        asyncio.run(rest_turns(stack.rasa_url, rest_senders[-1][:2], 2))
        asyncio.run(whatsapp_turns(stack.simulator_url, wa_users[-1][:2], 1))
        # Rounds of REST, WhatsApp, REST: each WhatsApp figure against the REST figures measured
        # just before and after it, as the machine's speed drifts over minutes.
        rounds_measured = []
        for r in range(rounds):
            before = asyncio.run(rest_turns(stack.rasa_url, rest_senders[2 * r], turns_each))
            wa = asyncio.run(whatsapp_turns(stack.simulator_url, wa_users[r], turns_each))
            after = asyncio.run(rest_turns(stack.rasa_url, rest_senders[2 * r + 1], turns_each))
            rounds_measured.append(((before + after) / 2, wa))
        origin = stack.webhook_url.removesuffix(WEBHOOK_PATH)
        result = asyncio.run(
            burst_open_loop(
                origin, stack.rasa_url, webhook_requests(burst_users, burst_total), rate
            )
        )
        flood_acks, flood_elapsed = asyncio.run(
            closed_loop(origin, webhook_requests(burst_users, burst_total // 2), IN_FLIGHT)
        )
    # The load generator's own floor: the same burst against a server that answers at once.
    with null_server(free_port()) as null_origin:
        floor, _ = asyncio.run(
            open_loop(null_origin, webhook_requests(burst_users, burst_total), rate, IN_FLIGHT)
        )

    ratios = [wa / rest for rest, wa in rounds_measured]
    acks_ms = [a * 1000 for a in result["acks"]]
    health_ms = [h * 1000 for h in result["health"]]
    floor_ms = [f * 1000 for f in floor]
    rows = [
        (
            "REST channel turns/s, each round (baseline, mean of before/after)",
            " / ".join(f"{rest:.1f}" for rest, _ in rounds_measured),
        ),
        (
            "WhatsApp channel + simulator turns/s, each round",
            " / ".join(f"{wa:.1f}" for _, wa in rounds_measured),
        ),
        ("ratio WhatsApp / REST, each round", " / ".join(f"{r:.2f}" for r in ratios)),
        (
            "ratio WhatsApp / REST, median of the rounds (target >= 0.9)",
            f"{statistics.median(ratios):.2f}",
        ),
        (
            f"burst: {burst_total} webhooks from {burst_senders} senders at {rate:.0f}/s "
            "(open loop), sent in",
            f"{result['elapsed']:.1f} s",
        ),
        (
            "ack latency p50 / p99 / max (target p99 < 50 ms)",
            f"{statistics.median(acks_ms):.1f} / {percentile(acks_ms, 0.99):.1f} / "
            f"{max(acks_ms):.1f} ms",
        ),
        (
            "the Rasa server's health route, p50 / p99 during the burst (baseline)",
            f"{statistics.median(health_ms):.1f} / {percentile(health_ms, 0.99):.1f} ms",
        ),
        ("ack p99 / health p99", f"{percentile(acks_ms, 0.99) / percentile(health_ms, 0.99):.2f}"),
        (
            "the same burst against a server that answers at once, p50 / p99 (the load "
            "generator's floor)",
            f"{statistics.median(floor_ms):.1f} / {percentile(floor_ms, 0.99):.1f} ms",
        ),
    ]
    flood_ms = [a * 1000 for a in flood_acks]
    rows.append(
        (
            f"flood: {len(flood_ms)} webhooks, 16 posters each awaiting its 200 (closed loop)",
            f"{len(flood_ms) / flood_elapsed:.0f}/s acknowledged; p50 / p99 "
            f"{statistics.median(flood_ms):.1f} / {percentile(flood_ms, 0.99):.1f} ms",
        )
    )
    rows.append(
        ("rounds x senders x turns each (turns/s runs)", f"{rounds} x {senders} x {turns_each}")
    )
    processes = "default" if args.webhook_processes is None else args.webhook_processes
    rows.append(("webhook_processes", str(processes)))
    rows.append(("webhook served by", "the Rasa server" if args.no_front else "the webhook front"))
    rows.append(("database", "PostgreSQL" if args.postgres else "SQLite"))
    rows.append(("CPUs", pinning))
    flags = " --quick" if args.quick else ""
    if args.no_front:
        flags += " --no-front"
    if args.no_pin:
        flags += " --no-pin"
    if args.postgres:
        flags += f" --postgres {args.postgres}"
    if args.webhook_processes is not None:
        flags += f" --webhook-processes {args.webhook_processes}"
    if args.senders is not None:
        flags += f" --senders {args.senders}"
    if args.rounds != 3 and not args.quick:
        flags += f" --rounds {args.rounds}"
    command = f".venv/bin/python bench/channel_bench.py{flags}"
    print_table(command, rows, "channel_bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
