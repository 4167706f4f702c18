"""Sending a bot message's bodies to Meta and auditing the outcome: the last step of a reply.

Two places can do it. `LocalSender` does it in the calling process, on the caller's loop. With the
webhook front running, the Rasa server hands the same work to the front instead (front_orders.py
and front_sending.py): the Graph call, its pacing and retries, and the outbound audit entry's
durable commit then cost the front's core, not the turn thread's interpreter lock, which is what
bounds the bot's turns per second (docs/benchmarks.md, session 13). Both run `send_bodies`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from connectors.whatsapp.gate import Gate
from connectors.whatsapp.graph_client import GraphClient
from connectors.whatsapp.graph_errors import GraphError

logger = logging.getLogger(__name__)


class Sender(Protocol):
    async def send_all(
        self, subject: str, bodies: list[dict[str, Any]], utter_action: str | None
    ) -> None:
        """Send the bodies in order; stop at the first that Meta refuses (audited)."""

    def mark_read(self, message_id: str) -> None:
        """Blue ticks for an inbound message: best effort, never awaited by a turn."""


async def send_bodies(
    graph: GraphClient,
    gate: Gate,
    subject: str,
    bodies: list[dict[str, Any]],
    utter_action: str | None,
) -> None:
    for body in bodies:
        try:
            result = await graph.send(body, pacing_key=subject)
        except GraphError as exc:
            # Typed by Meta's code: the gate turns 131047/131050 into state, audits the rest.
            gate.on_send_failed(subject, exc.code, type(exc).__name__)
            logger.warning(
                "whatsapp.send.failed subject=%s code=%s error=%s",
                subject,
                exc.code,
                type(exc).__name__,
            )
            return
        gate.on_outbound(
            subject,
            str(body.get("type", "unknown")),
            gate.keyed_hash("message_id", result.message_id),
            utter_action,
        )


async def mark_read(graph: GraphClient, message_id: str) -> None:
    try:
        await graph.mark_read(message_id)
    except Exception as exc:  # a missing blue tick is not worth failing anything
        logger.info("whatsapp.mark_read.failed error=%s", type(exc).__name__)


class LocalSender:
    """Sends from this process, with `graph` (a client of the caller's event loop)."""

    def __init__(self, graph: GraphClient, gate: Gate) -> None:
        self._graph = graph
        self._gate = gate

    async def send_all(
        self, subject: str, bodies: list[dict[str, Any]], utter_action: str | None
    ) -> None:
        await send_bodies(self._graph, self._gate, subject, bodies, utter_action)

    def mark_read(self, message_id: str) -> None:
        asyncio.get_running_loop().create_task(mark_read(self._graph, message_id))
