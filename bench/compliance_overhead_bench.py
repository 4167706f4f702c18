"""Per-turn compliance overhead as a share of a full Rasa turn, measured in the same run.

The compliance work of one WhatsApp turn, done here in-process exactly as the channel and the
tracker store do it, on a SQLite database: pseudonymize and admit the sender (identity vault), keyed
hashes of the message id and content, seal and record the message in the inbox, start the turn
(claim and open it, refresh the 24-hour window and audit the inbound message, in one transaction, as
the channel does), resolve the recipient, the send guard's check, audit the outbound message, and
seal and store the turn's five tracker events (with the bot action's audit entry and the inbox
row's completion, in the same transaction, as the tracker store does). The full Rasa turn is the
latency of one REST turn of a real Rasa server and action server on the reference assistant (which
includes its encrypted tracker store). The two are timed in blocks that take turns (5 REST
turns, then 20 compliance turns, ten times, after 5 REST turns that warm the server up), so that
both see the same drift of this machine's speed. Target: issue 4's overhead (what it lists:
pseudonymize, encrypt and store the turn's events, append its audit entries) under 5% of a turn,
the medians' ratio; reported beside it, the share with the send guard and with the inbox record
as well (every stage timed). Also reported: how
long that work holds SQLite's write lock (bench/write_lock_meter.py), which the webhook front
waits for before it acknowledges.

Run: `.venv/bin/python bench/compliance_overhead_bench.py` (about 2 minutes; `--quick`).
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
from functools import partial
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import grant_consent, print_table  # noqa: E402
from bench.write_lock_meter import WriteLockMeter  # noqa: E402
from compliance.context import build_context  # noqa: E402
from compliance.gate import ComplianceGate  # noqa: E402
from compliance.keys import write_new_keyfile  # noqa: E402
from connectors.rest import rest_subject  # noqa: E402
from connectors.whatsapp.channel import claim_and_audit  # noqa: E402
from connectors.whatsapp.inbox import Inbox, NewInbound  # noqa: E402
from connectors.whatsapp.sender_identity import IdentifierKind, SubjectIdentifier  # noqa: E402
from devstack.processes import free_port  # noqa: E402
from devstack.stack import StackConfig, start_stack  # noqa: E402
from devstack.training import ROOT, ensure_model  # noqa: E402

QUESTIONS = ("what are your delivery times?", "where is my order A1234?")
REST_SENDER = "bench-overhead"
WARM_UP_TURNS = 5


class RestTurns:
    """Full REST turns of a real Rasa server and action server on the reference assistant (with
    its encrypted tracker store), one conversation: `run(n)` times n more turns."""

    def __enter__(self) -> RestTurns:
        self._exit = ExitStack()
        try:
            config = StackConfig(
                model=ensure_model(),
                workdir=Path(tempfile.mkdtemp(prefix="sigillo-overhead-")),
                channel="rest",
                rasa_port=free_port(),
                actions_port=free_port(),
            )
            stack = self._exit.enter_context(start_stack(config))
            context = build_context({**os.environ, **stack.env}, component="cli")
            self._exit.callback(context.audit.close)
            grant_consent(context, [rest_subject(REST_SENDER, context.keyring.pseudonym_key)])
            self._http = self._exit.enter_context(
                httpx.Client(base_url=stack.rasa_url, timeout=60)
            )
        except BaseException:
            self._exit.close()  # a half-started stack is stopped, not left running
            raise
        self._sent = 0
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def run(self, turns: int) -> list[float]:
        latencies = []
        for _ in range(turns):
            start = time.perf_counter()
            r = self._http.post(
                "/webhooks/rest/webhook",
                json={"sender": REST_SENDER, "message": QUESTIONS[self._sent % 2]},
            )
            assert r.status_code == 200 and r.json(), r.text
            latencies.append(time.perf_counter() - start)
            self._sent += 1
        return latencies


STAGES = (
    "vault: admit the sender, resolve the recipient",
    "inbox: record (a durable commit)",
    "turn start: inbox lease + 24-hour window + inbound audit entry (one commit)",
    "send guard",
    "outbound audit entry",
    "tracker: seal and store the events + bot-action audit entry + inbox completion",
)
INBOX_STAGE = STAGES[1]
# Issue 4 lists what its figure counts: pseudonymize, encrypt and store the turn's events, append
# its audit entries. The inbox record is issue 3's durable record before Meta hears 200 (an fsync
# a channel without any compliance layer needs too), the send guard is issue 5's consent check:
# both are timed and reported beside the figure, and left out of it. What cannot be told apart
# stays in (the turn start's lease and window share the inbound entry's commit, the inbox row's
# completion the tracker's).
NOT_IN_ISSUE_4 = (INBOX_STAGE, STAGES[3])


class Laps:
    """Per-stage times of one turn: `lap(stage)` charges the time since the previous lap, and
    the time the write lock was held since then (`meter`, while installed)."""

    def __init__(self) -> None:
        self.meter = WriteLockMeter()
        self.times: dict[str, list[float]] = {stage: [] for stage in STAGES}
        self.held: dict[str, list[float]] = {stage: [] for stage in STAGES}
        self._turn: dict[str, float] = {}
        self._turn_held: dict[str, float] = {}
        self._last = 0.0
        self._last_held = 0.0

    def start(self) -> None:
        self._turn = dict.fromkeys(STAGES, 0.0)
        self._turn_held = dict.fromkeys(STAGES, 0.0)
        self._last, self._last_held = time.perf_counter(), self.meter.held

    def lap(self, stage: str) -> None:
        now, held = time.perf_counter(), self.meter.held
        self._turn[stage] += now - self._last
        self._turn_held[stage] += held - self._last_held
        self._last, self._last_held = now, held

    def end(self) -> float:
        for stage, spent in self._turn.items():
            self.times[stage].append(spent)
            self.held[stage].append(self._turn_held[stage])
        return sum(self._turn.values())

    def held_per_turn(self) -> list[float]:
        return [sum(turn) for turn in zip(*self.held.values(), strict=True)]


class ComplianceTurns:
    """The compliance work of WhatsApp turns of one conversation, in-process, as the channel and
    the tracker store do it, on a SQLite database of its own: `run(n, laps)` times n more."""

    def __enter__(self) -> ComplianceTurns:
        from rasa.shared.core.domain import Domain
        from rasa.shared.core.trackers import DialogueStateTracker

        from compliance.tracker_store import EncryptedTrackerStore

        folder = Path(tempfile.mkdtemp(prefix="sigillo-overhead-"))
        write_new_keyfile(folder / "keys.json")
        self.context = build_context(
            {
                **os.environ,
                "SIGILLO_KEY_FILE": str(folder / "keys.json"),
                "SIGILLO_DATABASE_URL": f"sqlite:///{folder / 'sigillo.db'}",
            },
            component="channel",
        )
        self.gate = ComplianceGate(self.context)
        self.inbox = Inbox(self.context.engine, self.gate)
        domain = Domain.load(str(ROOT / "domain.yml"))
        self.store = EncryptedTrackerStore(
            domain, engine=self.context.engine, subject_keys=self.context.keys,
            audit=self.context.audit,
        )
        self.sender = SubjectIdentifier(IdentifierKind.PHONE, "+393331234567")
        grant_consent(self.context, [self.gate.admit(self.sender)])
        self.tracker = DialogueStateTracker(self.gate.admit(self.sender), domain.slots)
        # One loop for every turn, as the Rasa server saves inside its running loop: a loop
        # started per save would charge the turn its start-up (uvloop makes a socket pair).
        self._loop = asyncio.new_event_loop()
        self._done = 0
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.close()
        self.context.audit.close()

    def run(self, turns: int, laps: Laps) -> list[float]:
        with laps.meter.installed():
            return self._loop.run_until_complete(self._turns(turns, laps))

    async def _turns(self, turns: int, laps: Laps) -> list[float]:
        from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

        from compliance.tracker_store import turn_writes

        gate, inbox, sender, tracker = self.gate, self.inbox, self.sender, self.tracker
        vault, box, window, guard, outbound, store_stage = STAGES
        latencies: list[float] = []
        for n in range(self._done, self._done + turns):
            text = f"where is my order A{1000 + n}?"
            laps.start()
            subject = gate.admit(sender)
            laps.lap(vault)
            # No numbered choices read: the webhook reads them only for a typed number ("2").
            id_hash = gate.keyed_hash("message_id", f"wamid.bench{n}")
            payload = {"text": text, "metadata": {}, "id_hash": id_hash, "type": "text"}
            (recorded,) = inbox.record([NewInbound(id_hash, subject, payload)])
            laps.lap(box)
            # The channel's own turn start: the message read and opened, then the lease, the
            # window and the entry in one transaction.
            assert claim_and_audit(inbox, gate, recorded.seq) is not None
            laps.lap(window)
            gate.recipient(subject)
            laps.lap(vault)
            gate.check_send(subject, {"utter_action": "utter_order_status_found"})
            laps.lap(guard)
            gate.on_outbound(
                subject,
                "text",
                gate.keyed_hash("message_id", f"wamid.out{n}"),
                "utter_order_status_found",
            )
            laps.lap(outbound)
            # As the channel does: the inbox row is completed in the tracker's transaction.
            turn_writes.register(
                inbox.database, id_hash, partial(inbox.complete_on, seq=recorded.seq)
            )
            laps.lap(box)
            for event in (
                UserUttered(
                    text,
                    {"name": "order_status", "confidence": 0.9},
                    [{"entity": "order_number", "value": f"A{1000 + n}"}],
                    message_id=id_hash,
                ),
                SlotSet("order_number", f"A{1000 + n}"),
                ActionExecuted("action_order_status"),
                BotUttered("Order shipped", metadata={"utter_action": "utter_order_status_found"}),
                ActionExecuted("action_listen"),
            ):
                tracker.update(event)
            await self.store.save(tracker)
            laps.lap(store_stage)
            assert not turn_writes.withdraw(inbox.database, id_hash)  # the save completed it
            latencies.append(laps.end())
        self._done += turns
        return latencies


def compliance_turn_latencies(turns: int, laps: Laps) -> list[float]:
    """`turns` compliance turns on a database of their own (for probes of this work alone)."""
    with ComplianceTurns() as compliance:
        return compliance.run(turns, laps)


def median_without(totals: list[float], laps: Laps, stages: tuple[str, ...]) -> float:
    """The median turn less the time of `stages` in that turn."""
    spent = zip(*(laps.times[stage] for stage in stages), strict=True)
    return statistics.median(
        [total - sum(parts) for total, parts in zip(totals, spent, strict=True)]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    blocks, rest_per_block, compliance_per_block = (2, 5, 10) if args.quick else (10, 5, 20)
    laps = Laps()
    rasa: list[float] = []
    every_turn: list[float] = []
    with RestTurns() as rest, ComplianceTurns() as compliance:
        rest.run(WARM_UP_TURNS)  # the first turns warm the server up
        # Blocks of each, taking turns: this machine's speed drifts over seconds to minutes, and
        # the two sides of the share should be timed under the same drift, not a minute apart.
        for _ in range(blocks):
            rasa += rest.run(rest_per_block)
            every_turn += compliance.run(compliance_per_block, laps)
    overhead = statistics.median(every_turn)
    turn = statistics.median(rasa)
    without_inbox = median_without(every_turn, laps, (INBOX_STAGE,))
    issue_4_list = median_without(every_turn, laps, NOT_IN_ISSUE_4)
    def share(seconds: float) -> str:
        return f"{seconds * 1000:.2f} ms = {100 * seconds / turn:.1f}% of a turn"

    rows = [
        ("full Rasa turn over REST, median", f"{turn * 1000:.1f} ms"),
        (
            "issue 4's overhead: pseudonymize, the turn's audit entries, encrypt and store its "
            "events (every stage below but the inbox record and the send guard), median "
            "(target < 5%)",
            share(issue_4_list),
        ),
        ("the same with the send guard (consent, issue 5), median", share(without_inbox)),
        (
            "the same with the inbox record as well (the durable record before Meta's 200, "
            "issue 3): the compliance work of one WhatsApp turn, every stage, median",
            share(overhead),
        ),
        *(
            (f"  of which {stage}, median", f"{statistics.median(laps.times[stage]) * 1000:.2f} ms")
            for stage in STAGES
        ),
        (
            "SQLite's write lock held by the turn's compliance work, median (what the webhook "
            "front's acknowledgement may wait for)",
            f"{statistics.median(laps.held_per_turn()) * 1000:.2f} ms",
        ),
        *(
            (f"  of which {stage.split(':')[0]}, median", f"{statistics.median(ms) * 1000:.2f} ms")
            for stage, ms in laps.held.items()
        ),
        ("turns measured (Rasa / compliance)", f"{len(rasa)} / {len(every_turn)}"),
    ]
    command = (
        f".venv/bin/python bench/compliance_overhead_bench.py{' --quick' if args.quick else ''}"
    )
    print_table(command, rows, "compliance_overhead_bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
