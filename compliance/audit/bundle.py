"""Self-contained audit bundles: export from the database, verify offline with no keys or DB.

A bundle is a directory (or the same files in a .tar / .tar.gz) holding README.txt, manifest.json
(format version, origin, public key, the compact range at the first kept entry of a pruned log),
checkpoints.jsonl (signed notes, RFC 9162 §4.10-style tree heads) and entries.jsonl (one stored
entry a line). The export is read in one snapshot so checkpoints and entries agree. A verifier
should compare the public key fingerprint printed by `audit verify --bundle` with the one it
trusts: a bundle's own key proves only that it is internally consistent.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.engine import Engine

from compliance.audit.compact_range import CompactRange, CompactRangeError
from compliance.audit.entries import StoredEntry
from compliance.audit.errors import MalformedBundle
from compliance.audit.tables import HEAD_ID, audit_checkpoints, audit_entries, audit_head
from compliance.audit.verify import VerifyReport, verify_log
from compliance.storage.guard import storage_errors

FORMAT = "sigillo-audit-bundle"
FORMAT_VERSION = 1
_FILES = ("README.txt", "manifest.json", "checkpoints.jsonl", "entries.jsonl")
_FIELDS = StoredEntry._fields

README = """Sigillo audit log bundle (format version 1)

entries.jsonl      one audit entry a line; "attributes" is the canonical JSON text that was hashed
checkpoints.jsonl  signed checkpoints: {"size": n, "note": "<signed note>"}
manifest.json      origin, Ed25519 public key (base64), and "start": the compact range at the
                   first entry when older entries were pruned (null otherwise)

How to verify (offline):  python -m compliance audit verify --bundle <this bundle>
What it checks, without a database or private key:
 1. each entry's leaf hash = SHA-256(0x00 || canonical JSON of the entry) (RFC 9162 section 2.1.1);
 2. seqs are contiguous from the start;
 3. the Merkle root recomputed at every checkpoint size equals the root in the checkpoint, and
    every checkpoint's Ed25519 signature verifies under the public key;
 4. the entries reach the latest checkpoint (nothing was truncated).
Compare the printed public key fingerprint with the one your organisation published.
The log contains no personal data: subjects are pseudonyms, content appears only as keyed hashes.
"""


def key_fingerprint(public_key: bytes) -> str:
    return "sha256:" + hashlib.sha256(public_key).hexdigest()[:32]


def export_bundle(engine: Engine, path: str | Path, public_key: bytes,
                  origin: str = "sigillo") -> int:
    """Write the bundle at `path` (a directory, or .tar/.tar.gz by suffix); returns the count."""
    path = Path(path)
    if path.name.endswith((".tar", ".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory() as tmp:
            count = export_bundle(engine, tmp, public_key, origin)
            mode = "w" if path.name.endswith(".tar") else "w:gz"
            with tarfile.open(path, mode) as tar:
                for name in _FILES:
                    tar.add(Path(tmp) / name, arcname=name)
            return count
    path.mkdir(parents=True, exist_ok=True)
    count = 0
    with storage_errors(), engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")  # one read snapshot (pysqlite would not begin)
        else:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        first = connection.execute(select(audit_head.c.pruned_before)
                                   .where(audit_head.c.id == HEAD_ID)).scalar_one()
        notes = list(connection.execute(
            select(audit_checkpoints.c.size, audit_checkpoints.c.note,
                   audit_checkpoints.c.compact_range).order_by(audit_checkpoints.c.size)))
        start = next((r.compact_range for r in notes if r.size == first), None) if first else None
        with (path / "checkpoints.jsonl").open("w", encoding="utf-8") as out:
            for row in notes:
                out.write(json.dumps({"size": row.size, "note": row.note}) + "\n")
        c = audit_entries.c
        query = (select(c.seq, c.time, c.component, c.kind, c.subject, c.attributes, c.leaf_hash)
                 .where(c.seq >= first).order_by(c.seq))
        with (path / "entries.jsonl").open("w", encoding="utf-8") as out:
            result = connection.execution_options(stream_results=True).execute(query)
            for row in result:
                doc = dict(zip(_FIELDS, row, strict=True))
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
                count += 1
    manifest = {
        "format": FORMAT, "version": FORMAT_VERSION, "origin": origin,
        "public_key": base64.b64encode(public_key).decode("ascii"),
        "public_key_fingerprint": key_fingerprint(public_key),
        "start": json.loads(start) if start else None,
        "entries": count, "checkpoints": len(notes),
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (path / "README.txt").write_text(README, encoding="utf-8")
    return count


def verify_bundle(path: str | Path, public_key: bytes | None = None) -> VerifyReport:
    """Verify a bundle offline; with `public_key`, the bundle must be signed by exactly that key."""
    with ExitStack() as stack:
        files = _open_files(Path(path), stack)
        manifest = _load_manifest(files["manifest.json"])
        try:
            bundle_key = base64.b64decode(manifest["public_key"], validate=True)
            start_doc = manifest.get("start")
            start = CompactRange.from_json(json.dumps(start_doc)) if start_doc else None
        except (ValueError, TypeError, KeyError, CompactRangeError):
            raise MalformedBundle("manifest.json: public_key or start is malformed") from None
        if public_key is not None and public_key != bundle_key:
            return VerifyReport(False, 0, 0, 0, b"", 0, "bundle is signed by another key")
        notes = [_json_line(line, "checkpoints.jsonl")["note"]
                 for line in files["checkpoints.jsonl"] if line.strip()]
        return verify_log(_entries(files["entries.jsonl"]), notes, bundle_key,
                          start=start, origin=manifest.get("origin"))


def _open_files(path: Path, stack: ExitStack) -> dict[str, IO[str]]:
    if path.is_dir():
        missing = [n for n in _FILES[1:] if not (path / n).is_file()]
        if missing:
            raise MalformedBundle(f"bundle is missing {', '.join(missing)}")
        return {n: stack.enter_context((path / n).open(encoding="utf-8")) for n in _FILES[1:]}
    try:
        tar = stack.enter_context(tarfile.open(path))
        files = {}
        for name in _FILES[1:]:
            raw = tar.extractfile(name)
            if raw is None:
                raise KeyError(name)
            files[name] = io.TextIOWrapper(stack.enter_context(raw), encoding="utf-8")
        return files
    except (OSError, tarfile.TarError, KeyError):
        raise MalformedBundle("bundle is neither a bundle directory nor a readable tar") from None


def _load_manifest(handle: IO[str]) -> dict:
    doc = _json_line(handle.read(), "manifest.json")
    if doc.get("format") != FORMAT or doc.get("version") != FORMAT_VERSION:
        raise MalformedBundle(f"manifest.json: not a {FORMAT} version {FORMAT_VERSION}")
    return doc


def _entries(handle: IO[str]) -> Iterator[tuple]:
    for line in handle:
        if line.strip():
            doc = _json_line(line, "entries.jsonl")
            try:
                yield tuple(doc[name] for name in _FIELDS)
            except (KeyError, TypeError):
                raise MalformedBundle("entries.jsonl: an entry lacks a field") from None


def _json_line(text: str, name: str) -> dict:
    try:
        doc = json.loads(text)
    except ValueError:
        raise MalformedBundle(f"{name}: a line is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedBundle(f"{name}: expected a JSON object")
    return doc
