"""Checkpoints: known body, sign/verify round trip, every mutation rejected with a typed error."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from compliance.audit import checkpoint as cp
from compliance.audit.errors import BadCheckpointSignature, MalformedCheckpoint
from compliance.crypto.primitives import ed25519_public_key

SEED = bytes(range(32))
OTHER = bytes(range(1, 33))
PUB = ed25519_public_key(SEED)
WHEN = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
CHECKPOINT = cp.Checkpoint("sigillo", 42, bytes(range(32)), WHEN)


def test_body_known_answer() -> None:
    assert CHECKPOINT.body() == (
        "sigillo\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n2024-01-02T03:04:05.000006Z\n"
    )


def test_round_trip() -> None:
    note = cp.sign(CHECKPOINT, SEED).note(PUB)
    assert cp.parse_note(note, PUB) == CHECKPOINT
    assert note.startswith(CHECKPOINT.body() + "\n\u2014 sigillo ")


def _note() -> str:
    return cp.sign(CHECKPOINT, SEED).note(PUB)


def _flip_signature_bit(note: str) -> str:
    import base64

    head, _, line = note.rstrip("\n").rpartition("\n")
    name, blob = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    return f"{head}\n{name} {base64.b64encode(bytes(raw)).decode()}\n"


MUTATIONS = [
    ("size-plus-one", lambda n: n.replace("\n42\n", "\n43\n", 1), BadCheckpointSignature),
    ("other-origin", lambda n: n.replace("sigillo\n", "sigillx\n", 1), MalformedCheckpoint),
    ("root-changed", lambda n: n.replace("AAEC", "AAED", 1), BadCheckpointSignature),
    ("time-changed", lambda n: n.replace("05.000006Z", "06.000006Z"), BadCheckpointSignature),
    ("signature-bit-flip", _flip_signature_bit, BadCheckpointSignature),
    ("no-signature", lambda n: n.partition("\n\n")[0] + "\n\n", MalformedCheckpoint),
    ("two-signatures", lambda n: n + n.rpartition("\n\n")[2], MalformedCheckpoint),
    ("extra-body-line", lambda n: n.replace("Z\n\n", "Z\nextra\n\n"), MalformedCheckpoint),
    ("missing-blank-line", lambda n: n.replace("Z\n\n", "Z\n"), MalformedCheckpoint),
    ("size-not-decimal", lambda n: n.replace("\n42\n", "\n042\n", 1), MalformedCheckpoint),
    ("truncated", lambda n: n[:20], MalformedCheckpoint),
    ("empty", lambda n: "", MalformedCheckpoint),
]


@pytest.mark.parametrize(("mutate", "error"), [(m, e) for _, m, e in MUTATIONS],
                         ids=[label for label, _, _ in MUTATIONS])
def test_mutated_notes_are_rejected(mutate, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        cp.parse_note(mutate(_note()), PUB)


def test_other_key_is_rejected() -> None:
    with pytest.raises(BadCheckpointSignature):
        cp.parse_note(_note(), ed25519_public_key(OTHER))
    forged = cp.sign(CHECKPOINT, OTHER).note(PUB)  # right key id, wrong signer
    with pytest.raises(BadCheckpointSignature):
        cp.parse_note(forged, PUB)


def test_invalid_checkpoint_fields() -> None:
    with pytest.raises(MalformedCheckpoint):
        cp.Checkpoint("has space", 1, bytes(32), WHEN).body()
    with pytest.raises(MalformedCheckpoint):
        cp.Checkpoint("sigillo", 1, bytes(31), WHEN).body()
