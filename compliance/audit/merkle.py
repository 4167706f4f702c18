"""RFC 9162 (RFC 6962) Merkle Tree Hash: leaf and node hashing, roots, inclusion and consistency
proofs, generation and verification.

Domain separation (RFC 9162 §2.1.1): a leaf hashes as SHA-256(0x00 || data), an interior node as
SHA-256(0x01 || left || right), so no leaf can pose as a node; the empty tree's root is
SHA-256(""). Generation walks the RFC's recursive definitions (PATH in §2.1.3.1, SUBPROOF in
§2.1.4.1) iteratively over a `subtree_root(lo, hi)` callback, so a caller whose old leaves were
pruned can answer from stored perfect-subtree roots. Verification is the bit-walking algorithm
of §2.1.3.2 and §2.1.4.2, which needs no tree at all. ≈ transparency-dev/merkle proof/*.go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from compliance.audit.errors import ProofError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeRoot = Callable[[int, int], bytes]


def hash_leaf(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (RFC 9162 §2.1.1's k). Requires n > 1."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the leaves whose hashes are given, in O(log n) extra memory."""
    from compliance.audit.compact_range import CompactRange

    compact = CompactRange()
    for leaf in leaf_hashes:
        compact.append(leaf)
    return compact.root()


def list_subtree_root(leaf_hashes: Sequence[bytes]) -> SubtreeRoot:
    """A subtree_root callback over an in-memory list of leaf hashes."""
    return lambda lo, hi: root_of(leaf_hashes[lo:hi])


def inclusion_proof(index: int, size: int, subtree_root: SubtreeRoot) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1. Requires 0 <= index < size."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    top_down: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            top_down.append(subtree_root(lo + k, hi))
            hi = lo + k
        else:
            top_down.append(subtree_root(lo, lo + k))
            lo += k
    return top_down[::-1]


def consistency_proof(size1: int, size2: int, subtree_root: SubtreeRoot) -> list[bytes]:
    """PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1. Requires 0 < size1 <= size2."""
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        return []
    top_down: list[bytes] = []
    lo, hi, m, complete = 0, size2, size1, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            top_down.append(subtree_root(lo + k, hi))
            hi = lo + k
        else:
            top_down.append(subtree_root(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    tail = [] if complete else [subtree_root(lo, hi)]
    return tail + top_down[::-1]


def root_from_inclusion_proof(index: int, size: int, leaf_hash: bytes,
                              proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof, RFC 9162 §2.1.3.2 steps 1-4 (without the compare)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes([leaf_hash, *proof])
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Raise ProofError unless `proof` shows leaf `index` with `leaf_hash` is in the tree `root`."""
    if root_from_inclusion_proof(index, size, leaf_hash, proof) != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise ProofError unless tree (size2, root2) extends tree (size1, root1): RFC 9162 §2.1.4.2.

    Equal sizes need an empty proof and equal roots; a size-0 tree must have the empty root;
    a proof from the empty tree proves nothing and is refused.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size2 ({size2}) is smaller than size1 ({size1})")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty consistency proof")
        if root1 != root2 or (size1 == 0 and root1 != EMPTY_ROOT):
            raise ProofError("roots of equal-size trees differ")
        return
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hashes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is a power of two, its root is a proof node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the new root")


def _check_hashes(hashes: Sequence[bytes]) -> None:
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ProofError(f"proof hashes must be {HASH_SIZE} bytes")
