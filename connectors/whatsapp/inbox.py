"""Durable receipt of inbound messages: the webhook answers 200 only after this has committed.

A message is recorded under the keyed hash of its id, so a redelivery, a duplicate in one body or
a second server instance inserts nothing new. Its Rasa input is sealed under the sender's data
key. A worker claims a message with a short lease before running the turn and marks it done
after; a message whose lease ran out (the process died mid-turn) is claimed again by whichever
instance sweeps next, so nothing acknowledged is lost (design.md invariant 5). A crash after the
reply was sent but before `complete` would replay that one turn: at-least-once, by design.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection, Engine

from compliance.storage.direct import Direct
from compliance.storage.durability import transaction
from compliance.storage.group_commit import GroupCommitter
from compliance.storage.guard import storage_errors
from compliance.storage.kept_connection import KeptConnection
from compliance.storage.upsert import insert_ignore
from connectors.whatsapp.inbox_tables import inbox, numbered_choices, seen_statuses

_SEALED_FIELD = "wa_inbox"


class Sealer(Protocol):
    """Seals and opens personal data under the subject's own data key."""

    def seal(self, subject: str, field: str, data: bytes) -> bytes: ...

    def open(self, subject: str, field: str, token: bytes) -> bytes: ...


@dataclass(frozen=True)
class NewInbound:
    id_hash: str
    subject: str
    payload: dict[str, Any] = field(repr=False)  # text and metadata: personal, sealed at rest


@dataclass(frozen=True)
class Recorded:
    seq: int | None  # None: a duplicate of a message recorded before
    subject: str

    @property
    def duplicate(self) -> bool:
        return self.seq is None


@dataclass(frozen=True)
class InboxItem:
    seq: int
    subject: str
    payload: dict[str, Any] = field(repr=False)


class Inbox:
    def __init__(
        self,
        engine: Engine,
        sealer: Sealer,
        *,
        lease_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self._engine = engine
        self._sealer = sealer
        self._lease = lease_seconds
        self._clock = clock
        self.owner = owner or uuid.uuid4().hex
        # The connection the recorder's batches keep between them (SQLite): it stays at the
        # durable level they all commit at.
        self._record_connection = KeptConnection(engine)
        self._recorder: GroupCommitter[list[dict[str, Any]], list[Recorded]] = GroupCommitter(
            self._record_batch
        )

    def record(self, messages: list[NewInbound]) -> list[Recorded]:
        """Record every message in one transaction; StorageUnavailable if the database is down.
        The commit survives a power loss: Meta is told 200 after it, and forgets the message.
        Threads recording at the same moment share that commit (storage/group_commit.py)."""
        now = self._clock()
        rows = [
            {
                "id_hash": message.id_hash,
                "subject": message.subject,
                "received_at": now,
                # Sealed before joining the queue: the batch's commit holds the write lock.
                "sealed": self._sealer.seal(
                    message.subject, _SEALED_FIELD, json.dumps(message.payload).encode()
                ),
                "state": "pending",
                "attempts": 0,
            }
            for message in messages
        ]
        return self._recorder.submit(rows)

    def _record_batch(self, batches: list[list[dict[str, Any]]]) -> list[list[Recorded]]:
        """Several webhooks' rows in one durable transaction, each batch's results apart."""
        with storage_errors(), self._record_connection.connection() as conn:
            with transaction(conn, durable=True):
                return [
                    [
                        Recorded(seq=insert_ignore(conn, inbox, row), subject=row["subject"])
                        for row in rows
                    ]
                    for rows in batches
                ]

    @property
    def database(self) -> str:
        """The URL of the inbox's database (password hidden): what turn_writes keys on."""
        return str(self._engine.url)

    def claim(self, seq: int) -> InboxItem | None:
        """Take the lease on a pending message; None if it is done or another worker holds it."""
        with storage_errors(), self._engine.begin() as conn:
            if not self.lease_on(conn, seq):
                return None
            return self._opened(seq, _READ_SEALED.execute(conn, {"c_seq": seq}).one())

    def lease_on(self, conn: Connection, seq: int) -> bool:
        """Take the lease on a pending message in the caller's transaction (the channel's:
        with the inbound audit entry); False if it is done or another worker holds it."""
        now = self._clock()
        return _CLAIM.execute(
            conn,
            {"c_seq": seq, "c_now": now, "c_owner": self.owner, "c_until": now + self._lease},
        ).rowcount == 1

    def peek(self, seq: int) -> InboxItem | None:
        """A message's content, read and opened outside any transaction; None once it is done.

        For a caller that then takes the lease (`lease_on`) in a write transaction: the key
        read, the decryption and the parse stay out of it, and so out of SQLite's write lock,
        which the webhook front waits on to acknowledge. What is read cannot go stale: a row's
        content does not change while it is pending, and a row done meanwhile has no lease to
        take."""
        with storage_errors():
            row = _READ_SEALED.read(self._engine, {"c_seq": seq}).first()
        return None if row is None or row.sealed is None else self._opened(seq, row)

    def _opened(self, seq: int, row: Any) -> InboxItem:
        payload = json.loads(self._sealer.open(row.subject, _SEALED_FIELD, row.sealed))
        return InboxItem(seq=seq, subject=row.subject, payload=payload)

    def complete(self, seq: int, state: str = "done") -> None:
        """Mark a turn finished ("done" or "failed") and drop its sealed content."""
        with storage_errors(), self._engine.begin() as conn:
            self.complete_on(conn, seq, state)

    def complete_on(self, conn: Connection, seq: int, state: str = "done") -> None:
        """`complete` in the caller's transaction (the tracker store's: with the turn's events)."""
        _COMPLETE.execute(conn, {"c_seq": seq, "c_state": state})

    def recoverable(self, limit: int = 1000) -> list[tuple[int, str]]:
        """Pending messages nobody holds a live lease on, oldest first: (seq, subject)."""
        now = self._clock()
        with storage_errors(), self._engine.connect() as conn:
            rows = conn.execute(
                select(inbox.c.seq, inbox.c.subject)
                .where(inbox.c.state == "pending", _lease_free(now))
                .order_by(inbox.c.seq)
                .limit(limit)
            ).all()
        return [(row.seq, row.subject) for row in rows]

    def first_status_sighting_on(self, conn: Connection, key_hash: str) -> bool:
        """True the first time a (message id, status) key is seen, across restarts and
        instances; in the caller's transaction (the status's audit entry's, via the gate)."""
        row = {"key_hash": key_hash, "received_at": self._clock()}
        return insert_ignore(conn, seen_statuses, row) is not None

    def save_choices(self, subject: str, choices: dict[str, str]) -> None:
        """Remember the numbered choices last sent to a subject, so "2" maps back to a payload."""
        with storage_errors(), self._engine.begin() as conn:
            conn.execute(numbered_choices.delete().where(numbered_choices.c.subject == subject))
            if choices:
                conn.execute(
                    numbered_choices.insert().values(
                        subject=subject, choices=json.dumps(choices), updated_at=self._clock()
                    )
                )

    def load_choices(self, subject: str) -> dict[str, str]:
        with storage_errors(), self._engine.connect() as conn:
            raw = _READ_CHOICES.execute(conn, {"c_subject": subject}).scalar()
        return json.loads(raw) if raw else {}


def _lease_free(now: float):  # type: ignore[no-untyped-def]
    return or_(inbox.c.lease_until.is_(None), and_(inbox.c.lease_until < now))


# The statements of every turn, built once (building one costs more than running it on SQLite)
# and run on the driver's cursor (compliance/storage/direct.py).
_CLAIM = Direct(
    update(inbox)
    .where(
        inbox.c.seq == bindparam("c_seq"),
        inbox.c.state == "pending",
        _lease_free(bindparam("c_now")),
    )
    .values(
        lease_owner=bindparam("c_owner"),
        lease_until=bindparam("c_until"),
        attempts=inbox.c.attempts + 1,
    )
)
_READ_SEALED = Direct(
    select(inbox.c.subject, inbox.c.sealed).where(inbox.c.seq == bindparam("c_seq"))
)
_COMPLETE = Direct(
    update(inbox)
    .where(inbox.c.seq == bindparam("c_seq"))
    .values(state=bindparam("c_state"), sealed=None, lease_owner=None, lease_until=None)
)
_READ_CHOICES = Direct(
    select(numbered_choices.c.choices).where(numbered_choices.c.subject == bindparam("c_subject"))
)
