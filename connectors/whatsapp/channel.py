"""Rasa's InputChannel for the WhatsApp Cloud API (`whatsapp` in bot/credentials.yml).

    GET  /webhooks/whatsapp/          health
    GET  /webhooks/whatsapp/webhook   Meta's verification handshake
    POST /webhooks/whatsapp/webhook   signed updates: 200 once recorded, the turn runs afterwards

Rasa's own channels await the whole turn before answering the webhook, which is why Meta
redelivers to them and users get duplicate replies; here the webhook only records (see
webhook_receiver) and the turn queue runs the turn after the answer, in order per sender, on its
own thread and event loop (turn_thread) so that a busy bot never delays the answer to Meta.

With `webhook_port` set, the same routes are also served by the webhook front, a process of its
own (webhook_front.py): Meta's callback goes there (through a proxy, at the same path), the
front records and answers without ever waiting for this server's interpreter, and rings the
turn queue through a pipe. It also sends the turns' replies and blue ticks, which this server
orders through a second pipe (sending.py). This server's own route stays as a fallback.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.engine import Connection

from compliance.tracker_store import turn_writes
from connectors.server_heap import freeze_after_start
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.cpu_affinity import split_of_this_process, try_pin
from connectors.whatsapp.gate import Gate, InboundFacts
from connectors.whatsapp.graph_client import GraphClient
from connectors.whatsapp.graph_clients import GraphClients, graph_client_for, pacer_for
from connectors.whatsapp.housekeeping import Housekeeper
from connectors.whatsapp.inbox import Inbox, InboxItem
from connectors.whatsapp.media_download import MediaDownloader
from connectors.whatsapp.output_channel import WhatsAppOutput
from connectors.whatsapp.receiver_pool import ReceiverPool
from connectors.whatsapp.retry_policy import DEFAULT_CAP, DEFAULT_MAX_ATTEMPTS
from connectors.whatsapp.sending import LocalSender, Sender
from connectors.whatsapp.signature import SIGNATURE_HEADER, check_verify_token
from connectors.whatsapp.turn_queue import TurnQueue
from connectors.whatsapp.turn_thread import TurnThread
from connectors.whatsapp.webhook_front_process import WebhookFront
from connectors.whatsapp.webhook_receiver import WebhookReceiver

logger = logging.getLogger(__name__)

# How long a thread may hold the interpreter lock while another waits (Python's default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.0005
# Beyond the Graph client's own worst case, before an unconfirmed send order is sent from here.
_CONFIRMATION_MARGIN_SECONDS = 60.0


class WhatsAppInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        """Validate the settings and open the compliance gate; both fail at start-up, by name."""
        from compliance.gate import ComplianceGate

        config = WhatsAppConfig.from_credentials(credentials, os.environ)
        gate = ComplianceGate.from_environment(os.environ)
        media = None
        if config.download_media:
            from compliance.media import MediaRecorder

            media = MediaDownloader(
                MediaRecorder.from_context(gate.context), max_bytes=config.media_max_bytes
            )
        return cls(
            config,
            gate,
            Inbox(gate.engine, gate),
            media=media,
            webhook_processes=config.webhook_processes,
            credentials=credentials,
        )

    def __init__(
        self,
        config: WhatsAppConfig,
        gate: Gate,
        inbox: Inbox,
        graph_factory: Callable[[], GraphClient] | None = None,
        media: MediaDownloader | None = None,
        webhook_processes: int = 0,
        credentials: Mapping[str, Any] | None = None,
    ) -> None:
        """`webhook_processes` > 0 records webhooks in worker processes that build their own
        gate from `credentials` and the environment (receiver_pool.py); 0 uses `gate` here."""
        self.config = config
        self.media = media  # None unless download_media is on
        self.gate = gate
        self.inbox = inbox
        self.receiver = WebhookReceiver(config, gate, inbox)
        # One pacer for every client of this channel (shared through Redis when configured),
        # one Graph client per event loop: see graph_clients.
        pacer = pacer_for(config, lambda recipient: gate.keyed_hash("pacing", recipient))
        self.graphs = GraphClients(graph_factory or self._default_graph, pacer)
        self.queue: TurnQueue | None = None
        self.turns = TurnThread()
        # Expires stale first opt-ins without a cron job (housekeeping.py); on the server's loop.
        self.housekeeper = Housekeeper(gate.housekeeping, gate.housekeeping_interval_seconds())
        # With a front (webhook_port) Meta's callback is served there; this server's own route
        # stays as a fallback for a proxy not yet switched, on threads: no idle worker process.
        self.credentials = credentials
        # Split now, pinned at start (cpu_affinity.py): the helpers are given the other cores.
        self.cores = split_of_this_process() if config.pin_cores else None
        with_front = config.webhook_port is not None
        self.receivers = ReceiverPool(
            self.receiver, 0 if with_front else webhook_processes, credentials, self.helper_cpus
        )
        self.front: WebhookFront | None = None

    @property
    def helper_cpus(self) -> frozenset[int] | None:
        """Where the front or the webhook workers run; None: where the server does."""
        return self.cores.helpers if self.cores is not None else None

    def _default_graph(self) -> GraphClient:
        return graph_client_for(self.config, self.graphs.pacer)

    def get_output_channel(self) -> WhatsAppOutput:
        """For Rasa's HTTP API (e.g. triggering an intent), on the server's loop: its messages
        go through the front like the turns' (or, without one, through that loop's client, made
        once, on the channel's one pacer)."""
        graph = self.graphs.for_this_loop()
        return WhatsAppOutput(graph, self.gate, self.inbox, sender=self._sender(graph))

    def _local_sender(self) -> LocalSender:
        return LocalSender(self.graphs.for_this_loop(), self.gate)

    def _confirm_within(self, bodies: int) -> float:
        """Longer than the front's Graph client can take to send `bodies` messages: every
        attempt timing out, each retry after the longest backoff (retry_policy.py)."""
        per_body = DEFAULT_MAX_ATTEMPTS * (self.config.request_timeout_seconds + DEFAULT_CAP)
        return _CONFIRMATION_MARGIN_SECONDS + bodies * per_body

    def _pin_server(self) -> None:
        """Every thread of this server onto its core, before the turn thread and the helpers
        start (they inherit the mask; the helpers then move to theirs)."""
        if self.cores is not None:
            if try_pin(os.getpid(), self.cores.server):  # else it warned why
                logger.info("whatsapp.cores.pinned %s", self.cores.describe())
        elif self.config.pin_cores:
            logger.info("whatsapp.cores.not_pinned reason=fewer_than_two_cpus")

    def _sender(self, graph: GraphClient) -> Sender:
        """Through the front when it runs (sending.py says why), else with `graph`, here."""
        return self.front.orders if self.front is not None else LocalSender(graph, self.gate)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("whatsapp_webhook", __name__)
        freeze_after_start(bp)
        self.queue = queue = TurnQueue(
            self.inbox, self._turn_runner(on_new_message), claim=self._claim_and_audit
        )
        turns = self.turns

        async def start_queue() -> None:
            self.graphs.for_this_loop()  # on the turn loop, where its connections will live
            queue.start()  # also recovers turns a previous process left pending

        def submit_all(recorded: list[tuple[int, str]]) -> None:  # on the turn loop
            for seq, subject in recorded:
                queue.submit(seq, subject)

        async def stop_queue() -> None:
            await queue.stop()
            await self.graphs.close_this_loop()

        @bp.listener("after_server_start")
        async def start(app: Any, loop: Any) -> None:
            # The turn thread is CPU-bound (NLU, policies) and keeps the interpreter lock for
            # up to the switch interval (5 ms) each time the server's loop asks for it; a
            # webhook needs the lock several times, so acknowledgements waited tens of ms.
            sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
            self._pin_server()
            turns.start()
            await turns.run_here(start_queue())
            self.housekeeper.start()
            await self.receivers.start()
            if self.config.webhook_port is not None:
                self.front = WebhookFront(
                    self.credentials,
                    lambda recorded: turns.call(submit_all, recorded),
                    local_sender=self._local_sender,
                    confirm_within=self._confirm_within,
                    cpus=self.helper_cpus,
                )
                await self.front.start()

        @bp.listener("before_server_stop")
        async def stop(app: Any, loop: Any) -> None:
            if self.front is not None:
                self.front.stop()
            await self.housekeeper.stop()
            self.receivers.close()
            await turns.run_here(stop_queue())
            turns.stop()
            await self.graphs.close_this_loop()  # the HTTP API's client, on the server's loop

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> response.HTTPResponse:
            challenge = check_verify_token(request.args, self.config.verify_token)
            if challenge is None:
                return response.text("verification failed", status=403)
            return response.text(challenge)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            # Recording means database commits (and an fsync for each audited status): done in
            # a worker process (or on threads), so the loop keeps accepting webhooks.
            outcome = await self.receivers.receive(
                request.body or b"", request.headers.get(SIGNATURE_HEADER)
            )
            for recorded in outcome.accepted:
                turns.call(queue.submit, recorded.seq, recorded.subject)
            status, body = outcome.http_answer()
            return response.json(body, status=status)

        return bp

    def _claim_and_audit(self, seq: int) -> InboxItem | None:
        """On the turn loop, not a thread: several turns' commits in flight at once collided
        with the webhook front's on SQLite's one write lock (front ack p99 15 -> 56 ms)."""
        return claim_and_audit(self.inbox, self.gate, seq)

    def _turn_runner(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Callable[[InboxItem], Awaitable[bool]]:
        database = self.inbox.database

        async def run_turn(item: InboxItem) -> bool:
            """Run the turn; True if the tracker store completed the inbox row with the
            turn's events (see turn_writes.py), else the queue completes it."""
            payload = item.payload  # audited when claimed (_claim_and_audit)
            graph = self.graphs.for_this_loop()
            sender = self._sender(graph)
            recipient = self.gate.recipient(item.subject)
            # Best effort, and off the turn's path: blue ticks must not delay the reply.
            sender.mark_read(payload["message_id"])
            metadata = payload["metadata"]
            if self.media is not None:  # here, in the turn: the webhook's answer stays fast
                metadata = await self.media.attach(graph, item.subject, metadata)
            message_id = payload["id_hash"]
            complete = partial(self.inbox.complete_on, seq=item.seq)
            turn_writes.register(database, message_id, complete)
            try:
                await on_new_message(
                    UserMessage(
                        text=payload["text"],
                        output_channel=WhatsAppOutput(
                            graph, self.gate, self.inbox, recipient, sender
                        ),
                        sender_id=item.subject,
                        input_channel=self.name(),
                        message_id=message_id,
                        metadata=metadata,
                    )
                )
            finally:
                left_to_us = turn_writes.withdraw(database, message_id)
            return not left_to_us

        return run_turn


def claim_and_audit(inbox: Inbox, gate: Gate, seq: int) -> InboxItem | None:
    """Take the message's lease, audit it and refresh its sender's window: one commit; None if
    it is done or another worker holds it. (bench/compliance_overhead_bench.py runs it too.)

    The message is read, opened and hashed before that commit's transaction, which holds
    SQLite's write lock (the webhook front's to wait on): for a sender new to this process
    that is also the read and unwrapping of their data key."""
    item = inbox.peek(seq)
    if item is None:
        return None  # done already
    facts = InboundFacts.of(item.subject, item.payload, gate.keyed_hash)

    def claim(conn: Connection) -> InboundFacts | None:
        return facts if inbox.lease_on(conn, seq) else None

    return item if gate.on_inbound(claim) else None
