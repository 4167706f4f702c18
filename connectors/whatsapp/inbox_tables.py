"""Tables of the WhatsApp inbox: durable receipt, idempotency and recovery of inbound messages.

No column holds a phone number, a message id or a text in clear: message ids are keyed hashes
(a wamid embeds the sender's number), the subject is a pseudonym, and the Rasa input is sealed
under the subject's data key.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from compliance.storage.metadata import metadata

inbox = Table(
    "wa_inbox",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id_hash", String(80), nullable=False, unique=True),
    Column("subject", String(64), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("sealed", LargeBinary, nullable=True),  # emptied once the turn is done
    Column("state", String(16), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(40), nullable=True),
    Column("lease_until", Float, nullable=True),
)
Index("ix_wa_inbox_state_seq", inbox.c.state, inbox.c.seq)

seen_statuses = Table(
    "wa_seen_statuses",
    metadata,
    Column("key_hash", String(80), primary_key=True),
    Column("received_at", Float, nullable=False),
)

numbered_choices = Table(
    "wa_numbered_choices",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("choices", Text, nullable=False),  # JSON {"1": "/affirm", ...}: payloads, not personal
    Column("updated_at", Float, nullable=False),
)
