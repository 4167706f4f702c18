"""Reading the audit tables back: the streams verify needs, and proofs served from the database.

Entries stream with a server-side cursor (PostgreSQL) or SQLite's lazy cursor, so verifying
millions of rows holds only a batch in memory. Proofs over a pruned log read the compact range
stored with the oldest kept checkpoint for the subtrees whose leaves are gone (RFC 9162 §2.1.3.1:
a proof for a kept leaf only needs perfect subtrees to its left, which the compact range holds).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from compliance.audit import merkle
from compliance.audit.compact_range import CompactRange
from compliance.audit.entries import StoredEntry
from compliance.audit.errors import ProofError
from compliance.audit.tables import HEAD_ID, audit_checkpoints, audit_entries, audit_head
from compliance.audit.verify import VerifyReport, verify_log
from compliance.storage.guard import storage_errors

_BATCH = 2000
_SQLITE_ENTRIES = (
    "SELECT seq, time, component, kind, subject, attributes, leaf_hash FROM audit_entries"
    " WHERE seq >= ? ORDER BY seq"
)


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: list[bytes]


def iter_entries(engine: Engine, start: int = 0) -> Iterator[StoredEntry]:
    """Every entry from seq `start` on, in seq order, streamed."""
    c = audit_entries.c
    query = (select(c.seq, c.time, c.component, c.kind, c.subject, c.attributes, c.leaf_hash)
             .where(c.seq >= start).order_by(c.seq))
    with storage_errors(), engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # The driver's own cursor: plain tuples, a tenth of verify's time saved on Rows.
            # (PostgreSQL keeps SQLAlchemy's server-side cursor, which bounds memory.)
            cursor = connection.connection.cursor()
            try:
                cursor.execute(_SQLITE_ENTRIES, (start,))
                while rows := cursor.fetchmany(_BATCH):
                    yield from map(StoredEntry._make, rows)
            finally:
                cursor.close()
            return
        result = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
        for partition in result.partitions(_BATCH):
            yield from partition


def checkpoint_rows(engine: Engine) -> list:
    with storage_errors(), engine.connect() as connection:
        return list(connection.execute(
            select(audit_checkpoints).order_by(audit_checkpoints.c.size)
        ))


def pruned_before(engine: Engine) -> int:
    with storage_errors(), engine.connect() as connection:
        value = connection.execute(
            select(audit_head.c.pruned_before).where(audit_head.c.id == HEAD_ID)
        ).scalar_one_or_none()
    return int(value or 0)


def start_state(engine: Engine) -> CompactRange | None:
    """The compact range at the first kept entry, or None when nothing was pruned."""
    first = pruned_before(engine)
    if first == 0:
        return None
    for row in checkpoint_rows(engine):
        if row.size == first:
            return CompactRange.from_json(row.compact_range)
    return CompactRange()  # no checkpoint at the boundary: verify_log reports it


def verify_database(engine: Engine, public_key: bytes, origin: str | None = None) -> VerifyReport:
    start = start_state(engine)
    notes = [row.note for row in checkpoint_rows(engine)]
    return verify_log(iter_entries(engine, start.size if start else 0), notes, public_key,
                      start=start, origin=origin)


def prove_inclusion(engine: Engine, seq: int, size: int | None = None) -> InclusionProof:
    """Inclusion of entry `seq` in the tree of `size` (default: the latest checkpoint)."""
    size = _latest_size(engine) if size is None else size
    if not 0 <= seq < size:
        raise ProofError(f"entry {seq} is not in a tree of size {size}")
    subtree_root, leaf = _subtree_roots(engine, size)
    proof = merkle.inclusion_proof(seq, size, subtree_root)
    return InclusionProof(seq, size, leaf(seq), subtree_root(0, size), proof)


def prove_consistency(engine: Engine, size1: int, size2: int) -> ConsistencyProof:
    """Consistency between the trees of `size1` and `size2` (normally two checkpoint sizes)."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    subtree_root, _ = _subtree_roots(engine, size2)
    proof = merkle.consistency_proof(size1, size2, subtree_root)
    return ConsistencyProof(size1, size2, subtree_root(0, size1), subtree_root(0, size2), proof)


def _latest_size(engine: Engine) -> int:
    rows = checkpoint_rows(engine)
    if not rows:
        raise ProofError("the audit log has no checkpoint yet")
    return int(rows[-1].size)


def _subtree_roots(engine: Engine, size: int):  # type: ignore[no-untyped-def]
    """(subtree_root(lo, hi), leaf(seq)) over kept leaves plus the pruned boundary's nodes."""
    start = start_state(engine) or CompactRange()
    known = start.nodes()
    leaves: list[bytes] = []
    for row in iter_entries(engine, start.size):
        if row.seq >= size:
            break
        leaves.append(bytes.fromhex(row.leaf_hash))
    if start.size + len(leaves) < size:
        raise ProofError(f"the log holds fewer than {size} entries")

    def leaf(seq: int) -> bytes:
        if seq < start.size:
            raise ProofError(f"entry {seq} was pruned")
        return leaves[seq - start.size]

    def subtree_root(lo: int, hi: int) -> bytes:
        if (lo, hi) in known:
            return known[(lo, hi)]
        if lo >= start.size:
            return merkle.root_of(leaves[lo - start.size:hi - start.size])
        if hi - lo <= 1:
            raise ProofError(f"the proof needs entries pruned before {start.size}")
        k = merkle.split_point(hi - lo)
        return merkle.hash_children(subtree_root(lo, lo + k), subtree_root(lo + k, hi))

    return subtree_root, leaf
