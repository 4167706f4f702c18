"""The simulator's memory: conversations per user, the send policy Meta applies, media, counters.

Source: whatsapp-cloud-api.md §3.1 (one person may be known by phone, BSUID or both: keep one
record and link the two), §10 (customer-service window of 24 h → 131047 for free-form messages;
pair rate → 131056; throughput → 130429), §6 (131026 undeliverable), §9 (media ids).
Pure: the clock is a parameter (`now`, Unix seconds). Held in memory only, never logged.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field

from connectors.whatsapp import limits
from connectors.whatsapp.simulator.errors import ValidationError, meta_error, throttled

_PHONE_FORMATTING = re.compile(r"[\s+()\-.]")


def normalize_phone(value: str) -> str:
    """Digits only: Meta tolerates `+` and formatting in `to` (§7)."""
    return _PHONE_FORMATTING.sub("", value)


def is_phone(identifier: str) -> bool:
    """A phone is digits after formatting; a BSUID is `CC.<alnum>` (§3.1)."""
    return normalize_phone(identifier).isdigit()


@dataclass
class SentMessage:
    """One message the bot sent and Meta accepted, with the statuses delivered so far."""

    index: int
    id: str
    type: str
    body: dict
    accepted_at: float
    statuses: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def view(self) -> dict:
        return {"index": self.index, "id": self.id, "type": self.type, "body": self.body,
                "status": self.statuses[-1] if self.statuses else "accepted",
                "statuses": list(self.statuses), "errors": list(self.errors)}


@dataclass
class Conversation:
    """A user's side of the chat: identity, window, the bot's messages to them."""

    wa_id: str | None = None
    user_id: str | None = None
    name: str = "Test User"
    last_inbound_at: float | None = None
    last_inbound_id: str | None = None
    outbox: list[SentMessage] = field(default_factory=list)
    marked_read: list[str] = field(default_factory=list)
    recent_sends: deque = field(default_factory=deque)
    marketing: str = "resume"

    @property
    def key(self) -> str:
        return self.wa_id or self.user_id or ""

    def window_open(self, now: float) -> bool:
        """§10: free-form messages only within 24 h of the user's last message."""
        return (self.last_inbound_at is not None
                and now - self.last_inbound_at <= limits.CUSTOMER_SERVICE_WINDOW_SECONDS)


class Conversations:
    """Conversations reachable by phone or BSUID alias; both aliases lead to one record."""

    def __init__(self) -> None:
        self._by_alias: dict[str, Conversation] = {}

    def find(self, identifier: str) -> Conversation | None:
        return self._by_alias.get(self._alias(identifier))

    def ensure(self, wa_id: str | None = None, user_id: str | None = None) -> Conversation:
        """Return the user's conversation, creating it and linking phone ↔ BSUID as learned."""
        wa_id = normalize_phone(wa_id) if wa_id else None
        conv = (self._by_alias.get(wa_id or "") or self._by_alias.get(user_id or ""))
        if conv is None:
            conv = Conversation(wa_id=wa_id, user_id=user_id)
        conv.wa_id = conv.wa_id or wa_id
        conv.user_id = conv.user_id or user_id
        for alias in (conv.wa_id, conv.user_id):
            if alias:
                self._by_alias[alias] = conv
        return conv

    def ensure_identifier(self, identifier: str, user_id: str | None = None) -> Conversation:
        """From a control-API path segment: a phone (digits) or a BSUID."""
        if is_phone(identifier):
            return self.ensure(wa_id=identifier, user_id=user_id)
        return self.ensure(user_id=identifier)

    def add_alias(self, conv: Conversation, wa_id: str) -> None:
        """§4 `user_changed_number`: the new number reaches the same conversation."""
        self._by_alias[normalize_phone(wa_id)] = conv

    def all(self) -> list[Conversation]:
        return list({id(c): c for c in self._by_alias.values()}.values())

    @staticmethod
    def _alias(identifier: str) -> str:
        return normalize_phone(identifier) if is_phone(identifier) else identifier


@dataclass
class SendPolicy:
    """Meta's per-send decisions beyond body validation (§6, §10)."""

    enforce_window: bool = True
    fail_unknown_recipients: bool = False
    pair_rate_limit: int | None = None  # messages to one user per PAIR_RATE_SECONDS; None = off
    messages_per_second: float = limits.DEFAULT_MESSAGES_PER_SECOND
    _recent: deque = field(default_factory=deque)

    def sync_error(self, conv: Conversation | None, now: float) -> ValidationError | None:
        """Errors Meta answers on the call itself: throughput 130429, pair rate 131056."""
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.messages_per_second:
            return throttled()
        if conv is not None and self.pair_rate_limit is not None:
            while conv.recent_sends and now - conv.recent_sends[0] >= limits.PAIR_RATE_SECONDS:
                conv.recent_sends.popleft()
            if len(conv.recent_sends) >= self.pair_rate_limit:
                return meta_error(131056)
        return None

    def record_send(self, conv: Conversation, now: float) -> None:
        self._recent.append(now)
        conv.recent_sends.append(now)

    def async_error(self, conv: Conversation, known: bool, message_type: str,
                    now: float) -> ValidationError | None:
        """Errors Meta reports later as a `failed` status after a 200 (§5, §10)."""
        if self.fail_unknown_recipients and not known:
            return meta_error(131026)
        if self.enforce_window and message_type != "template" and not conv.window_open(now):
            return meta_error(131047)
        return None


@dataclass
class Stats:
    """Counts and codes only: no ids, numbers or texts (design.md, invariant 1)."""

    graph_calls: int = 0
    accepted: int = 0
    marked_read: int = 0
    rejected: Counter = field(default_factory=Counter)
    faults_injected: Counter = field(default_factory=Counter)
    failed_statuses: Counter = field(default_factory=Counter)
    statuses_sent: Counter = field(default_factory=Counter)
    webhooks_delivered: int = 0
    webhook_answers: Counter = field(default_factory=Counter)
    webhook_retries: int = 0
    inbound_sent: int = 0
    media_downloads: int = 0

    def to_dict(self) -> dict:
        def keyed(counter: Counter) -> dict:
            return {str(k): v for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))}

        return {"graph_calls": self.graph_calls, "accepted": self.accepted,
                "marked_read": self.marked_read, "rejected": keyed(self.rejected),
                "faults_injected": keyed(self.faults_injected),
                "failed_statuses": keyed(self.failed_statuses),
                "statuses_sent": keyed(self.statuses_sent),
                "webhooks": {"delivered": self.webhooks_delivered,
                             "answers": keyed(self.webhook_answers),
                             "retries": self.webhook_retries},
                "inbound_sent": self.inbound_sent, "media_downloads": self.media_downloads}
