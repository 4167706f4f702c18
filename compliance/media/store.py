"""MediaStore: inbound media bytes sealed under the subject's own data key, and their rows.

Sealing: `keys.seal_for(subject, "inbound_media:<handle>", data)`, so the AAD binds each
ciphertext to its subject and its row (a blob copied into another row or another subject's row
does not open), and erasure's crypto-shredding of the subject's key makes every copy unreadable,
backups included once `keys retire-kek` has run (compliance/identity/rotation.py).

Deleting rows needs only the engine (erasure, retention and the KEK retirement sweep run where
no key store is at hand): those are the module-level functions. Reading and writing bytes needs
the key store: the class.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from compliance.crypto import envelope
from compliance.errors import ComplianceError
from compliance.media.tables import inbound_media
from compliance.storage.guard import storage_errors
from compliance.storage.tables_identity import subject_keys
from compliance.storage.upsert import insert_ignore

HANDLE_PREFIX = "med_"
_t = inbound_media.c


class MediaNotFound(ComplianceError, LookupError):
    """No stored media with this handle for this subject (never stored, or deleted)."""


class SubjectSealer(Protocol):
    """What the store needs of compliance.identity.SubjectKeyStore."""

    def seal_for(self, pseudonym: str, field_name: str, plaintext: bytes) -> bytes: ...

    def open_for(self, pseudonym: str, field_name: str, token: bytes) -> bytes: ...


@dataclass(frozen=True)
class MediaSummary:
    """A stored media object as the subject's export lists it: no bytes, no Meta id."""

    handle: str
    kind: str
    mime_type: str | None
    size_bytes: int
    received_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "handle": self.handle,
            "kind": self.kind,
            "mime_type": self.mime_type,
            "size_bytes": self.size_bytes,
            "received_at": self.received_at.isoformat(),
        }


def new_handle() -> str:
    """An opaque, random handle: it says nothing about the subject, the media or Meta's id."""
    return HANDLE_PREFIX + secrets.token_hex(16)


def sealed_field(handle: str) -> str:
    return f"inbound_media:{handle}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class MediaStore:
    def __init__(
        self, engine: Engine, keys: SubjectSealer, *, now: Callable[[], datetime] = _utcnow
    ) -> None:
        self._engine = engine
        self._keys = keys
        self._now = now

    def __repr__(self) -> str:
        return "MediaStore()"

    def put(
        self, subject: str, media_id_hash: str, kind: str, mime_type: str | None, data: bytes
    ) -> MediaSummary:
        """Seal and store `data`; idempotent per media id (a replayed turn gets the first row).

        SubjectErased if the subject's key was destroyed meanwhile; StorageUnavailable if the
        database is down.
        """
        existing = self._by_media_id(media_id_hash)
        if existing is not None:
            return existing
        handle = new_handle()
        token = self._keys.seal_for(subject, sealed_field(handle), data)
        row = {
            "handle": handle,
            "subject": subject,
            "media_id_hash": media_id_hash,
            "kind": kind[:16],
            "mime_type": mime_type[:128] if mime_type else None,
            "size_bytes": len(data),
            "key_generation": envelope.token_key_version(token),
            "received_at": self._now(),
            "sealed": token,
        }
        with storage_errors(), self._engine.begin() as conn:
            inserted = insert_ignore(conn, inbound_media, row)
        if inserted is None:  # another worker stored the same media first
            existing = self._by_media_id(media_id_hash)
            if existing is not None:
                return existing
        return _summary(row)

    def read(self, subject: str, handle: str) -> bytes:
        """The plaintext bytes; MediaNotFound, or SubjectErased after erasure."""
        with storage_errors(), self._engine.connect() as conn:
            token = conn.execute(
                sa.select(_t.sealed).where(_t.handle == handle, _t.subject == subject)
            ).scalar_one_or_none()
        if token is None:
            raise MediaNotFound("no such media for this subject")
        return self._keys.open_for(subject, sealed_field(handle), token)

    def list(self, subject: str) -> list[MediaSummary]:
        """The subject's stored media, metadata only (see `list_media`)."""
        return list_media(self._engine, subject)

    def delete_subject(self, subject: str) -> int:
        """Erasure: delete the subject's rows (see `delete_subject_media`)."""
        return delete_subject_media(self._engine, subject)

    def _by_media_id(self, media_id_hash: str) -> MediaSummary | None:
        with storage_errors(), self._engine.connect() as conn:
            row = conn.execute(
                sa.select(_t.handle, _t.kind, _t.mime_type, _t.size_bytes, _t.received_at).where(
                    _t.media_id_hash == media_id_hash
                )
            ).first()
        return _summary(row._mapping) if row is not None else None


def list_media(engine: Engine, subject: str) -> list[MediaSummary]:
    """The subject's stored media, oldest first (metadata only: for the access export)."""
    with storage_errors(), engine.connect() as conn:
        rows = conn.execute(
            sa.select(_t.handle, _t.kind, _t.mime_type, _t.size_bytes, _t.received_at)
            .where(_t.subject == subject)
            .order_by(_t.received_at, _t.handle)
        ).all()
    return [_summary(row._mapping) for row in rows]


def count_media(engine: Engine) -> int:
    """How many media rows are stored (for the operator's reports: `keys retire-kek`)."""
    with storage_errors(), engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(inbound_media)).scalar_one())


def delete_subject_media(engine: Engine, subject: str) -> int:
    """Erasure: delete every stored media row of `subject`; how many."""
    with storage_errors(), engine.begin() as conn:
        return int(conn.execute(inbound_media.delete().where(_t.subject == subject)).rowcount)


def delete_media_older_than(engine: Engine, cutoff: datetime) -> int:
    """Retention: delete media received before `cutoff` (timezone-aware); how many."""
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware")
    with storage_errors(), engine.begin() as conn:
        return int(conn.execute(inbound_media.delete().where(_t.received_at < cutoff)).rowcount)


def delete_unreadable_media(engine: Engine) -> int:
    """Delete rows no live key can open: the subject's key was destroyed, or re-created at a
    later generation after an erasure. Run by `keys retire-kek`, so that an erasure that did not
    reach this table (e.g. a recycled phone number's old owner) leaves no row behind."""
    keys = subject_keys.c
    live_generation = (
        sa.select(keys.generation)
        .where(keys.pseudonym == _t.subject, keys.wrapped_key.is_not(None))
        .scalar_subquery()
    )
    with storage_errors(), engine.begin() as conn:
        result = conn.execute(
            inbound_media.delete().where(
                sa.or_(live_generation.is_(None), _t.key_generation < live_generation)
            )
        )
        return int(result.rowcount)


def _summary(row: object) -> MediaSummary:
    get = row.__getitem__  # type: ignore[attr-defined]
    received = get("received_at")
    if received.tzinfo is None:  # SQLite returns naive datetimes; they were stored as UTC
        received = received.replace(tzinfo=timezone.utc)
    return MediaSummary(
        handle=get("handle"),
        kind=get("kind"),
        mime_type=get("mime_type"),
        size_bytes=int(get("size_bytes")),
        received_at=received,
    )
