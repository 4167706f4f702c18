"""Merkle hashing pinned by the transparency-dev/merkle vectors (tests/vectors/merkle), checked
against a naive reference written straight from RFC 9162 §2.1, and by hypothesis properties.

Vector values reproduce with transparency-dev/merkle at 417fb0c (tests/vectors/merkle/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.audit import merkle
from compliance.audit.compact_range import CompactRange, CompactRangeError
from compliance.audit.errors import ProofError

VECTORS = Path(__file__).parents[2] / "vectors" / "merkle"
LEAVES = [bytes.fromhex(h) for h in
          ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
           "606162636465666768696a6b6c6d6e6f"]]
ROOTS = {  # from the README: MTH of the first n leaves
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


# --- naive reference, straight from RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 -------------------------

def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


# --- vectors --------------------------------------------------------------------------------------

def _cases(kind: str) -> list:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no {kind} vectors found"
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(VECTORS / kind)))
            for f in files]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


@pytest.mark.parametrize("case", _cases("inclusion"))
def test_inclusion_vector(case: dict) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("case", _cases("consistency"))
def test_consistency_vector(case: dict) -> None:
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_vector_counts_cover_every_mutation() -> None:
    inclusion = list((VECTORS / "inclusion").rglob("*.json"))
    consistency = list((VECTORS / "consistency").rglob("*.json"))
    assert len(inclusion) + len(consistency) == 196
    assert sum(not json.loads(f.read_text())["wantErr"] for f in inclusion + consistency) < 20


@pytest.mark.parametrize("n", sorted(ROOTS))
def test_roots_of_readme_leaves(n: int) -> None:
    assert merkle.root_of([merkle.hash_leaf(x) for x in LEAVES[:n]]).hex() == ROOTS[n]
    assert ref_mth(LEAVES[:n]).hex() == ROOTS[n]


def test_empty_root_is_sha256_of_nothing() -> None:
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert merkle.root_of([]) == merkle.EMPTY_ROOT == CompactRange().root()


def test_generated_proofs_equal_the_vector_happy_paths() -> None:
    hashes = [merkle.hash_leaf(x) for x in LEAVES]
    for f in (VECTORS / "inclusion").glob("*/happy-path.json"):
        case = json.loads(f.read_text())
        size = case["treeSize"]
        got = merkle.inclusion_proof(case["leafIdx"], size, merkle.list_subtree_root(hashes[:size]))
        assert got == [_b64(p) for p in case["proof"] or []], f
    for f in (VECTORS / "consistency").glob("[0-9]*/happy-path.json"):
        case = json.loads(f.read_text())
        got = merkle.consistency_proof(case["size1"], case["size2"],
                                       merkle.list_subtree_root(hashes[:case["size2"]]))
        assert got == [_b64(p) for p in case["proof"] or []], f


# --- properties -----------------------------------------------------------------------------------

leaves_strategy = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(leaves_strategy, st.data())
def test_fast_equals_reference_and_inclusion_verifies(leaves: list[bytes], data) -> None:
    hashes = [merkle.hash_leaf(x) for x in leaves]
    n = len(leaves)
    root = merkle.root_of(hashes)
    assert root == ref_mth(leaves)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(index, n, merkle.list_subtree_root(hashes))
    assert proof == ref_path(index, leaves)
    merkle.verify_inclusion(index, n, hashes[index], proof, root)


@settings(max_examples=150, deadline=None)
@given(leaves_strategy, st.data())
def test_consistency_between_any_sizes_verifies(leaves: list[bytes], data) -> None:
    hashes = [merkle.hash_leaf(x) for x in leaves]
    n = len(leaves)
    m = data.draw(st.integers(1, n))
    proof = merkle.consistency_proof(m, n, merkle.list_subtree_root(hashes))
    assert proof == (ref_subproof(m, leaves, True) if m < n else [])
    merkle.verify_consistency(m, n, ref_mth(leaves[:m]), ref_mth(leaves), proof)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=4), min_size=2, max_size=40), st.data())
def test_mutated_proofs_fail(leaves: list[bytes], data) -> None:
    hashes = [merkle.hash_leaf(x) for x in leaves]
    n = len(leaves)
    root = merkle.root_of(hashes)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(index, n, merkle.list_subtree_root(hashes))
    mutations = [proof + [root], [root] + proof, proof[:-1]]
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = bytearray(proof[i])
        flipped[bit // 8] ^= 1 << (bit % 8)
        mutations.append(proof[:i] + [bytes(flipped)] + proof[i + 1:])
    for bad in mutations:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, n, hashes[index], bad, root)
    with pytest.raises(ProofError):  # another leaf's hash
        merkle.verify_inclusion(index, n, merkle.hash_leaf(b"x" * 9), proof, root)
    m = data.draw(st.integers(1, n - 1))
    cproof = merkle.consistency_proof(m, n, merkle.list_subtree_root(hashes))
    old = merkle.root_of(hashes[:m])
    for bad_args in [(m, n, old, root, cproof[1:]), (m, n, root, old, cproof),
                     (m, n, old, root, cproof + [root]), (m + 1, n, old, root, cproof)]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*bad_args)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=4), max_size=80))
def test_compact_range_roots_at_every_size(leaves: list[bytes]) -> None:
    compact = CompactRange()
    for i, leaf in enumerate(leaves):
        compact.append(merkle.hash_leaf(leaf))
        assert compact.root() == ref_mth(leaves[: i + 1])
    text = compact.to_json()
    assert text == json.dumps(  # the form the head has always stored
        {"v": 1, "size": len(leaves), "hashes": [base64.b64encode(h).decode() for h in
                                                 compact.hashes]},
        separators=(",", ":"),
    )
    restored = CompactRange.from_json(text)
    assert restored == compact and len(compact.hashes) == bin(len(leaves)).count("1")
    for (lo, hi), h in compact.nodes().items():
        assert h == ref_mth(leaves[lo:hi])


def test_compact_range_rejects_malformed_state() -> None:
    with pytest.raises(CompactRangeError):
        CompactRange(3, [bytes(32)])
    with pytest.raises(CompactRangeError):
        CompactRange.from_json('{"v":1,"size":1,"hashes":["AAAA"]}')
    with pytest.raises(CompactRangeError):
        CompactRange.from_json("not json")
