"""Signed checkpoints: (origin, tree size, root hash, time) as a text note, Ed25519-signed.

The body follows transparency-dev/formats log/checkpoint ("<origin>\\n<size>\\n<base64 root>\\n")
with one extension line, the UTC time, so an auditor can see when each tree head was committed
(RFC 9162 §4.10's signed tree head carries a timestamp for the same reason). The signed note
appends a blank line and one signature line in the C2SP signed-note shape:
"— <origin> <base64(key_id[4] || signature[64])>", key_id = SHA-256(origin "\\n" 0x01 pubkey)[:4].
The signature covers the body bytes exactly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from compliance.audit.entries import format_time, parse_time
from compliance.audit.errors import BadCheckpointSignature, MalformedCheckpoint
from compliance.audit.merkle import HASH_SIZE
from compliance.crypto.primitives import ed25519_public_key, ed25519_sign, ed25519_verify

_ED25519_ALG = b"\x01"
_SIG_PREFIX = "\u2014 "  # em dash, as in C2SP signed notes
_ORIGIN = re.compile(r"[\x21-\x7e]{1,128}\Z")  # printable, no spaces: it is also the key name
_SIZE = re.compile(r"(0|[1-9][0-9]{0,19})\Z")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log `origin` had `size` entries with root `root` at `time`."""

    origin: str
    size: int
    root: bytes
    time: datetime

    def body(self) -> str:
        """The exact text that is signed."""
        if not _ORIGIN.match(self.origin):
            raise MalformedCheckpoint("checkpoint origin must be 1-128 printable ASCII, no spaces")
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise MalformedCheckpoint("checkpoint size must be >= 0 and root 32 bytes")
        root = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n{format_time(self.time)}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: bytes  # 64-byte Ed25519 signature over checkpoint.body()

    def note(self, public_key: bytes) -> str:
        """The full signed note: body, blank line, signature line."""
        blob = key_id(self.checkpoint.origin, public_key) + self.signature
        return (f"{self.checkpoint.body()}\n{_SIG_PREFIX}{self.checkpoint.origin} "
                f"{base64.b64encode(blob).decode('ascii')}\n")


def key_id(origin: str, public_key: bytes) -> bytes:
    return hashlib.sha256(origin.encode("ascii") + b"\n" + _ED25519_ALG + public_key).digest()[:4]


def sign(checkpoint: Checkpoint, seed: bytes) -> SignedCheckpoint:
    return SignedCheckpoint(checkpoint, ed25519_sign(seed, checkpoint.body().encode("ascii")))


def public_key_of(seed: bytes) -> bytes:
    return ed25519_public_key(seed)


def verify(signed: SignedCheckpoint, public_key: bytes) -> Checkpoint:
    """The checkpoint if its signature verifies under `public_key`, else BadCheckpointSignature."""
    body = signed.checkpoint.body().encode("ascii")
    if not ed25519_verify(public_key, body, signed.signature):
        raise BadCheckpointSignature(
            f"checkpoint at size {signed.checkpoint.size}: signature does not verify"
        )
    return signed.checkpoint


def parse_body(text: str) -> Checkpoint:
    """Parse "<origin>\\n<size>\\n<base64 root>\\n<time>\\n" strictly: no extra lines."""
    lines = text.split("\n")
    if len(lines) != 5 or lines[4] != "":
        raise MalformedCheckpoint("checkpoint body must be exactly four lines")
    origin, size, root_b64, time = lines[:4]
    if not _ORIGIN.match(origin):
        raise MalformedCheckpoint("checkpoint origin line is invalid")
    if not _SIZE.match(size):
        raise MalformedCheckpoint("checkpoint size line is not a decimal integer")
    try:
        root = base64.b64decode(root_b64, validate=True)
        moment = parse_time(time)
    except (binascii.Error, ValueError):
        raise MalformedCheckpoint("checkpoint root or time line is invalid") from None
    if len(root) != HASH_SIZE:
        raise MalformedCheckpoint("checkpoint root must be 32 bytes")
    checkpoint = Checkpoint(origin, int(size), root, moment)
    if checkpoint.body() != text:  # non-canonical base64 or time spelling
        raise MalformedCheckpoint("checkpoint body is not in canonical form")
    return checkpoint


def parse_note(note: str, public_key: bytes) -> Checkpoint:
    """Parse a signed note and verify its signature; the one entry point for untrusted text."""
    body, sep, sig_block = note.partition("\n\n")
    if not sep:
        raise MalformedCheckpoint("signed note has no blank line before its signature")
    body += "\n"
    checkpoint = parse_body(body)
    sig_lines = sig_block.split("\n")
    if len(sig_lines) != 2 or sig_lines[1] != "" or not sig_lines[0].startswith(_SIG_PREFIX):
        raise MalformedCheckpoint("signed note must end with exactly one signature line")
    name, _, blob_b64 = sig_lines[0][len(_SIG_PREFIX):].partition(" ")
    try:
        blob = base64.b64decode(blob_b64, validate=True)
    except binascii.Error:
        raise MalformedCheckpoint("signature line is not base64") from None
    if name != checkpoint.origin or len(blob) != 4 + 64:
        raise MalformedCheckpoint("signature line names another key or has the wrong length")
    if blob[:4] != key_id(checkpoint.origin, public_key):
        raise BadCheckpointSignature(f"checkpoint at size {checkpoint.size}: signed by another key")
    return verify(SignedCheckpoint(checkpoint, blob[4:]), public_key)
