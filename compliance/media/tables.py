"""The inbound media table (created by migration 0006_media).

inbound_media  one row per media object a user sent, when the channel downloads media: the bytes
               sealed under the subject's own data key (so erasure's crypto-shredding reaches
               them, like the vault and the tracker store), plus what is not personal: kind, MIME
               type, size, when it arrived, and the key generation it was sealed under (so rows of
               an erased generation can be found and deleted without trying to open them).

No column holds Meta's media id or URL (the id hash is keyed), a caption, a filename or a digest
of the plaintext: a clear sha256 of a photo would let anyone holding a copy of the same photo
confirm that the subject sent it.
"""

from __future__ import annotations

import sqlalchemy as sa

from compliance.storage.metadata import metadata

HANDLE_LEN = 40

inbound_media = sa.Table(
    "inbound_media",
    metadata,
    sa.Column("handle", sa.String(HANDLE_LEN), primary_key=True),
    sa.Column("subject", sa.String(64), nullable=False, index=True),
    # A replayed turn (at-least-once, see connectors/whatsapp/inbox.py) finds its earlier copy.
    sa.Column("media_id_hash", sa.String(80), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("mime_type", sa.String(128), nullable=True),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("key_generation", sa.Integer, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
)
