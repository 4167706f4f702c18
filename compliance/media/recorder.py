"""What the WhatsApp channel hands a downloaded media object to: store it sealed, audit it.

The channel never keeps media bytes nor logs anything about them; it gives them here with the
subject's pseudonym and Meta's media id. The audit entry (kind `media_download`) carries the
keyed hash of the media id, the kind, the size and the outcome (stored, or unavailable with a
reason code): enough to prove what happened, nothing of the content (design.md invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compliance.media.store import MediaStore, MediaSummary

AUDIT_KIND = "media_download"
MEDIA_ID_PURPOSE = "media_id"

KeyedHash = Callable[[str, str], str]
Record = Callable[..., Any]  # ComplianceContext.record(kind, subject, **attributes)


class MediaRecorder:
    def __init__(self, store: MediaStore, keyed_hash: KeyedHash, record: Record) -> None:
        self._store = store
        self._hash = keyed_hash
        self._record = record

    def __repr__(self) -> str:
        return "MediaRecorder()"

    @classmethod
    def from_context(cls, context: Any) -> MediaRecorder:
        """From compliance.context.ComplianceContext: its engine, key store, keyed hash, audit."""
        return cls(MediaStore(context.engine, context.keys), context.keyed_hash, context.record)

    def store(
        self, subject: str, media_id: str, kind: str, mime_type: str | None, data: bytes
    ) -> MediaSummary:
        """Seal and store the bytes under the subject's key, then audit the download."""
        id_hash = self._hash(MEDIA_ID_PURPOSE, media_id)
        stored = self._store.put(subject, id_hash, kind, mime_type, data)
        self._record(
            AUDIT_KIND,
            subject,
            outcome="stored",
            media_id_hash=id_hash,
            media_kind=kind,
            size_bytes=stored.size_bytes,
        )
        return stored

    def failed(self, subject: str, media_id: str, kind: str, reason: str) -> None:
        """Audit a download that did not happen (the reason is a code, never Meta's text)."""
        self._record(
            AUDIT_KIND,
            subject,
            outcome="unavailable",
            reason=reason,
            media_id_hash=self._hash(MEDIA_ID_PURPOSE, media_id),
            media_kind=kind,
        )
