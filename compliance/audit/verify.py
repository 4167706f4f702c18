"""Streaming verification of an audit log against its signed checkpoints.

One pass over the entries in seq order: rebuild each leaf from its stored fields, compare with
the stored leaf hash (catches an edited field), extend a compact range (O(log n) memory), and at
each checkpoint size compare the recomputed root with the signed one (catches a rewrite that also
recomputed leaf hashes, and any forged or altered checkpoint). Seqs must be contiguous (catches
deleted and reordered entries) and the log must reach the latest checkpoint (catches truncation).

first_bad_index is the first entry where the log and the checkpoints disagree: the entry itself
when its own leaf or seq is wrong; for a root or signature disagreement, the first entry after
the last checkpoint that did verify, since a root cannot say which leaf below it changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from compliance.audit import checkpoint as cp
from compliance.audit.compact_range import CompactRange
from compliance.audit.entries import leaf_data
from compliance.audit.errors import CheckpointError
from compliance.errors import AuditVerificationError


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int  # entries checked
    checkpoints: int  # checkpoints whose signature and root verified
    size: int  # tree size reached
    root: bytes  # recomputed root at `size`
    first_bad_index: int | None = None
    reason: str | None = None
    unsigned_tail: int = 0  # entries after the latest checkpoint: leaf-checked, not yet signed

    def summary(self) -> str:
        if not self.ok:
            return f"first disagreement at entry {self.first_bad_index}: {self.reason}"
        tail = f" ({self.unsigned_tail} after the latest checkpoint)" if self.unsigned_tail else ""
        return (f"verified {self.entries} entries, {self.checkpoints} checkpoints, "
                f"root {self.root.hex()} at size {self.size}{tail}")

    def raise_for_failure(self) -> VerifyReport:
        if not self.ok:
            raise AuditVerificationError(self.summary(), self.first_bad_index)
        return self


def verify_log(entries: Iterable[tuple], checkpoint_notes: Iterable[str], public_key: bytes, *,
               start: CompactRange | None = None, origin: str | None = None) -> VerifyReport:
    """Verify `entries` (StoredEntry-shaped tuples in seq order) against signed notes.

    `start` is the compact range at the first kept entry of a pruned log; it must match a signed
    checkpoint at its size. `origin`, when given, must be every checkpoint's origin.
    """
    compact = start.copy() if start is not None else CompactRange()
    first = compact.size
    pending: list[tuple[int, cp.Checkpoint | None, str]] = []
    for note in checkpoint_notes:
        size, checkpoint, problem = _parse(note, public_key, origin)
        pending.append((first if size < 0 else size, checkpoint, problem))
    pending.sort(key=lambda item: item[0], reverse=True)  # pop() yields the smallest size
    while pending and pending[-1][0] < first:
        pending.pop()  # vouches only for pruned entries
    verified_upto, good = first, 0
    if first and not (pending and pending[-1][0] == first):
        return _fail(compact, 0, good, first, "no signed checkpoint at the pruned boundary")

    def at_checkpoints() -> str | None:
        nonlocal verified_upto, good
        while pending and pending[-1][0] == compact.size:
            size, checkpoint, problem = pending.pop()
            if checkpoint is None:
                return problem
            if checkpoint.root != compact.root():
                return f"root at checkpoint {size} differs from the recomputed root"
            verified_upto, good = size, good + 1
        return None

    sha256, count = hashlib.sha256, 0
    for row in entries:
        problem = at_checkpoints()
        if problem:
            return _fail(compact, count, good, verified_upto, problem)
        seq = row[0]
        if seq != compact.size:
            reason = (f"entry {compact.size} is missing" if seq > compact.size
                      else f"entry {seq} is out of order or duplicated")
            return _fail(compact, count, good, compact.size, reason)
        leaf = sha256(b"\x00" + leaf_data(seq, row[1], row[2], row[3], row[4], row[5])).digest()
        if leaf.hex() != row[6]:
            return _fail(compact, count, good, seq, "entry does not match its leaf hash")
        compact.append(leaf)
        count += 1
    problem = at_checkpoints()
    if problem:
        return _fail(compact, count, good, verified_upto, problem)
    if pending:
        latest = pending[0][0]
        return _fail(compact, count, good, compact.size,
                     f"log ends at {compact.size} entries but a checkpoint covers {latest}")
    return VerifyReport(True, count, good, compact.size, compact.root(),
                        unsigned_tail=compact.size - verified_upto)


def _parse(note: str, public_key: bytes,
           origin: str | None) -> tuple[int, cp.Checkpoint | None, str]:
    """(size, checkpoint or None, problem): a bad note still needs its size to be placed."""
    body = note.partition("\n\n")[0]
    try:
        size = int(body.split("\n")[1])
    except (IndexError, ValueError):
        size = -1
    try:
        checkpoint = cp.parse_note(note, public_key)
    except CheckpointError as exc:
        return size, None, str(exc)
    if origin is not None and checkpoint.origin != origin:
        return size, None, f"checkpoint at size {size} is from another log"
    return size, checkpoint, ""


def _fail(compact: CompactRange, count: int, good: int, index: int, reason: str) -> VerifyReport:
    return VerifyReport(False, count, good, compact.size, compact.root(), index, reason)
