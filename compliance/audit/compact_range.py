"""O(log n) append state of an RFC 9162 tree: the roots of its perfect subtrees.

A tree of size n is the concatenation of perfect subtrees, one per set bit of n, largest first
(RFC 9162 §2.1.1 splits at the largest power of two). Keeping only their roots lets the writer and
the streaming verifier extend the tree leaf by leaf and read its root at any size without
rereading old leaves: a million entries verify in a few kilobytes. ≈ transparency-dev/merkle
compact/range.go (for ranges that start at 0).
"""

from __future__ import annotations

import base64
import binascii
import json

from compliance.audit.merkle import EMPTY_ROOT, HASH_SIZE, hash_children

_STATE_VERSION = 1


class CompactRangeError(ValueError):
    """A serialized compact range is malformed (wrong count of hashes for its size)."""


class CompactRange:
    """Perfect-subtree roots of leaves [0, size), left to right."""

    __slots__ = ("size", "_hashes")

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        hashes = list(hashes or [])
        if size < 0 or len(hashes) != bin(size).count("1"):
            raise CompactRangeError("a compact range holds one hash per set bit of its size")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise CompactRangeError(f"compact range hashes must be {HASH_SIZE} bytes")
        self.size = size
        self._hashes = hashes

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf: merge equal-height subtrees, as a binary counter carries."""
        hashes = self._hashes
        hashes.append(leaf_hash)
        n = self.size
        while n & 1:
            right = hashes.pop()
            hashes[-1] = hash_children(hashes[-1], right)
            n >>= 1
        self.size += 1

    def root(self) -> bytes:
        """MTH(D[0:size]): fold the subtree roots right to left."""
        if not self._hashes:
            return EMPTY_ROOT
        hashes = self._hashes
        r = hashes[-1]
        for h in reversed(hashes[:-1]):
            r = hash_children(h, r)
        return r

    def nodes(self) -> dict[tuple[int, int], bytes]:
        """{(lo, hi): root} of each perfect subtree; proofs over pruned leaves read these."""
        out: dict[tuple[int, int], bytes] = {}
        lo, hashes = 0, iter(self._hashes)
        for bit in reversed(range(self.size.bit_length())):
            if self.size >> bit & 1:
                out[(lo, lo + (1 << bit))] = next(hashes)
                lo += 1 << bit
        return out

    def copy(self) -> CompactRange:
        twin = CompactRange.__new__(CompactRange)  # valid already: __init__'s checks skipped
        twin.size, twin._hashes = self.size, list(self._hashes)
        return twin

    def to_json(self) -> str:
        """json.dumps({"v", "size", "hashes": [base64, ...]}, separators=(",", ":")), built
        directly: base64 needs no escaping, and the audit head writes this on every append."""
        hashes = '","'.join([binascii.b2a_base64(h, newline=False).decode("ascii")
                             for h in self._hashes])
        listed = f'"{hashes}"' if self._hashes else ""
        return f'{{"v":{_STATE_VERSION},"size":{self.size},"hashes":[{listed}]}}'

    @classmethod
    def from_json(cls, text: str) -> CompactRange:
        try:
            doc = json.loads(text)
            if doc.get("v") != _STATE_VERSION:
                raise CompactRangeError("unknown compact range state version")
            hashes = [base64.b64decode(h, validate=True) for h in doc["hashes"]]
            return cls(int(doc["size"]), hashes)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if isinstance(exc, CompactRangeError):
                raise
            raise CompactRangeError("malformed compact range state") from None

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, CompactRange) and self.size == other.size
                and self._hashes == other._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self.size}, root={self.root().hex()[:16]}…)"
