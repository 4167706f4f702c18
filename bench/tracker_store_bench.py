"""Encrypted tracker store vs Rasa's SQLTrackerStore, same SQLite database type, same run.

    .venv/bin/python bench/tracker_store_bench.py            # 200 turns, 10 senders for latency
    .venv/bin/python bench/tracker_store_bench.py --quick    # smoke run

A turn is what Rasa's processor does with the store: retrieve the tracker, add a user message
(with entities), a slot, a bot action and its reply, action_listen (5 events), save. Figures:
turns/s of one sender over the whole run and the ratio to Rasa's store (target >= 1.0); median
turn latency when the conversation holds ~200 events vs ~10 (target <= 1.2x); and the compliance
overhead: split + seal of one turn's events alone. "ours, no cache" shows what the tracker cache
buys. Each store gets its own SQLite file in one temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rasa.core.tracker_store import SQLTrackerStore, TrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)

from compliance.identity.subject_keys import SubjectKeyStore  # noqa: E402
from compliance.keys.keyfile import generate_keyring  # noqa: E402
from compliance.storage import create_engine_from_url, migrate  # noqa: E402
from compliance.tracker_store import EncryptedTrackerStore  # noqa: E402
from compliance.tracker_store.sealing import seal_event  # noqa: E402

DOMAIN = """
version: "3.1"
intents: [greet, order_status]
entities: [order_id]
slots:
  order_id:
    type: text
    mappings: [{type: from_entity, entity: order_id}]
responses:
  utter_order: [{text: "Your order is on its way."}]
"""


def turn_events(i: int) -> list[Event]:
    text = f"where is my order A-{i}? it was a gift for my mother"
    entities = [{"entity": "order_id", "value": f"A-{i}", "start": 18, "end": 22}]
    intent = {"name": "order_status", "confidence": 0.94}
    parse = {
        "text": text,
        "intent": intent,
        "entities": entities,
        "intent_ranking": [intent, {"name": "greet", "confidence": 0.06}],
    }
    return [
        UserUttered(
            text, intent, entities, parse, input_channel="whatsapp", message_id=f"wamid.{i}"
        ),
        SlotSet("order_id", f"A-{i}"),
        ActionExecuted("utter_order", policy="RulePolicy", confidence=1.0),
        BotUttered(f"Order A-{i} ships today.", {"buttons": None}, {"utter_action": "utter_order"}),
        ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0),
    ]


async def run_turns(store: TrackerStore, sender: str, turns: int) -> list[tuple[int, float]]:
    """(events before the turn, seconds) for each turn of one conversation."""
    out = []
    await store.get_or_create_tracker(sender)
    for i in range(turns):
        start = time.perf_counter()
        tracker = await store.retrieve(sender)
        before = len(tracker.events)
        for event in turn_events(i):
            tracker.update(event)
        await store.save(tracker)
        out.append((before, time.perf_counter() - start))
    return out


def latency_at(samples: list[tuple[int, float]], events: int) -> float:
    window = [s for n, s in samples if events <= n < events + 20]
    return statistics.median(window)


async def measure(store: TrackerStore, name: str, turns: int, senders: int) -> dict:
    gc.collect()
    start = time.perf_counter()
    await run_turns(store, f"{name}-throughput", turns)
    tps = turns / (time.perf_counter() - start)
    samples: list[tuple[int, float]] = []
    for s in range(senders):
        samples += await run_turns(store, f"{name}-{s}", min(turns, 50))
    at10, at200 = latency_at(samples, 10), latency_at(samples, 200)
    return {"name": name, "tps": tps, "at10": at10, "at200": at200}


def compliance_overhead(keys: SubjectKeyStore, rounds: int) -> float:
    """Seconds to split and seal one turn's five events (key cached, as in a live turn)."""
    dicts = [e.as_dict() for e in turn_events(1)]
    keys.get_or_create("wa_overhead")
    start = time.perf_counter()
    for r in range(rounds):
        for i, d in enumerate(dicts):
            seal_event(keys, "wa_overhead", "g" * 32, r * 5 + i, d)
    return (time.perf_counter() - start) / rounds


async def main(quick: bool) -> None:
    turns, senders = (60, 3) if quick else (200, 10)
    domain = Domain.from_yaml(DOMAIN)
    with tempfile.TemporaryDirectory() as tmp:
        rasa_store = SQLTrackerStore(domain, dialect="sqlite", db=f"{tmp}/rasa.db")
        engine = create_engine_from_url(f"sqlite:///{tmp}/sigillo.db")
        migrate(engine)
        keys = SubjectKeyStore(engine, generate_keyring())
        ours = EncryptedTrackerStore(domain, engine=engine, subject_keys=keys)
        no_cache = EncryptedTrackerStore(domain, engine=engine, subject_keys=keys, cache_size=0)
        rows = [
            await measure(rasa_store, "Rasa SQLTrackerStore", turns, senders),
            await measure(ours, "EncryptedTrackerStore", turns, senders),
            await measure(no_cache, "EncryptedTrackerStore, no cache", turns, senders),
        ]
        overhead = compliance_overhead(keys, 200 if quick else 2000)
        engine.dispose()
    base = rows[0]["tps"]
    cmd = "python bench/tracker_store_bench.py" + (" --quick" if quick else "")
    print(
        f"`{cmd}` ({turns} turns x 5 events for turns/s; latency medians over {senders} "
        "conversations, turns starting at 10-29 and 200-219 events)\n"
    )
    print(
        "| store | turns/s (1 sender) | ratio to Rasa | turn ms @10 ev | turn ms @200 ev "
        "| @200 / @10 |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['name']} | {r['tps']:.0f} | {r['tps'] / base:.2f} | {r['at10'] * 1e3:.2f} "
            f"| {r['at200'] * 1e3:.2f} | {r['at200'] / r['at10']:.2f} |"
        )
    ours_turn = 1 / rows[1]["tps"]
    print(
        f"\nCompliance overhead (split + seal of one turn's 5 events): {overhead * 1e3:.3f} ms "
        f"per turn, {overhead / ours_turn:.0%} of our store's average turn."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    asyncio.run(main(parser.parse_args().quick))
