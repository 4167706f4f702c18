"""`python -m compliance audit …`: verify, export, prove, consistency, prune, checkpoint.

Exit codes: 0 verified / done; 1 the log or bundle does not verify (one line naming the first
disagreeing entry); 2 a ComplianceError (bad input, missing key, database down), printed by
compliance.__main__. Output carries hashes, sizes and seqs only: the log holds no personal data.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from typing import Any

from compliance.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audit", help="verify, export and prove the audit log")
    commands = parser.add_subparsers(dest="audit_command", required=True)

    verify = commands.add_parser("verify", help="verify the log (or an exported bundle)")
    verify.add_argument("--bundle", help="verify this exported bundle offline instead of the DB")
    verify.add_argument("--public-key", help="expected Ed25519 public key, base64 (32 bytes)")
    verify.set_defaults(func=_verify)

    export = commands.add_parser("export", help="write a self-contained, verifiable bundle")
    export.add_argument("--out", required=True, help="directory, or a .tar / .tar.gz file")
    export.set_defaults(func=_export)

    prove = commands.add_parser("prove", help="inclusion proof of one entry (RFC 9162 §2.1.3)")
    prove.add_argument("--seq", type=int, required=True)
    prove.add_argument("--size", type=int, help="tree size (default: latest checkpoint)")
    prove.set_defaults(func=_prove)

    consistency = commands.add_parser("consistency", help="consistency proof (RFC 9162 §2.1.4)")
    consistency.add_argument("--from", dest="size1", type=int, required=True)
    consistency.add_argument("--to", dest="size2", type=int, required=True)
    consistency.set_defaults(func=_consistency)

    prune = commands.add_parser("prune", help="delete entries past retention, keep verifiability")
    prune.add_argument("--older-than-days", type=int, default=None)
    prune.set_defaults(func=_prune)

    checkpoint = commands.add_parser("checkpoint", help="sign the current tree head now")
    checkpoint.set_defaults(func=_checkpoint)


def _verify(args: argparse.Namespace) -> int:
    from compliance.audit.bundle import key_fingerprint, verify_bundle
    from compliance.audit.reader import verify_database

    expected = _decode_key(args.public_key) if args.public_key else None
    if args.bundle:
        report = verify_bundle(args.bundle, expected)
        where = f"bundle {args.bundle}"
    else:
        public_key = expected or _public_key()
        report = verify_database(_engine(), public_key)
        where = f"key {key_fingerprint(public_key)}"
    if not report.ok:
        print(report.summary(), file=sys.stderr)
        return 1
    print(f"{report.summary()} ({where})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from compliance.audit.bundle import export_bundle

    log = _log()
    log.append({"component": "cli", "kind": "operator_command",
                "attributes": {"command": "audit_export"}})
    count = export_bundle(log.engine, args.out, log.public_key, log.origin)
    print(f"exported {count} entries to {args.out}")
    return 0


def _prove(args: argparse.Namespace) -> int:
    from compliance.audit.merkle import verify_inclusion
    from compliance.audit.reader import prove_inclusion

    p = prove_inclusion(_engine(), args.seq, args.size)
    verify_inclusion(p.seq, p.size, p.leaf_hash, p.proof, p.root)
    _print_json({"seq": p.seq, "tree_size": p.size, "leaf_hash": _b64(p.leaf_hash),
                 "root": _b64(p.root), "proof": [_b64(h) for h in p.proof]})
    return 0


def _consistency(args: argparse.Namespace) -> int:
    from compliance.audit.merkle import verify_consistency
    from compliance.audit.reader import prove_consistency

    p = prove_consistency(_engine(), args.size1, args.size2)
    verify_consistency(p.size1, p.size2, p.root1, p.root2, p.proof)
    _print_json({"size1": p.size1, "size2": p.size2, "root1": _b64(p.root1),
                 "root2": _b64(p.root2), "proof": [_b64(h) for h in p.proof]})
    return 0


def _prune(args: argparse.Namespace) -> int:
    from compliance.audit.pruning import DEFAULT_RETENTION_DAYS, prune

    days = DEFAULT_RETENTION_DAYS if args.older_than_days is None else args.older_than_days
    result = prune(_log(), days)
    print(f"pruned {result.deleted_entries} entries and {result.deleted_checkpoints} checkpoints; "
          f"log verifiable from entry {result.pruned_before} (recorded as entry "
          f"{result.audit_seq})")
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    signed = _log().checkpoint_now()
    print(f"checkpoint at size {signed.checkpoint.size}, root {signed.checkpoint.root.hex()}")
    return 0


def _engine():  # type: ignore[no-untyped-def]
    from compliance.storage import create_engine_from_url, default_database_url, migrate

    engine = create_engine_from_url(default_database_url())
    migrate(engine)
    return engine


def _signing_seed() -> bytes:
    from compliance.keys import load_keyring  # the keyring owns key files and variables

    seed = load_keyring().audit_signing_key
    for unwrap in ("reveal", "get_secret_value"):  # tolerate a Secret wrapper
        if not isinstance(seed, bytes) and hasattr(seed, unwrap):
            seed = getattr(seed, unwrap)()
    if not isinstance(seed, bytes):
        raise ConfigError("keyring audit_signing_key must be 32 bytes")
    return seed


def _public_key() -> bytes:
    from compliance.audit.checkpoint import public_key_of

    return public_key_of(_signing_seed())


def _log():  # type: ignore[no-untyped-def]
    from compliance.audit.log import AuditLog

    return AuditLog(_engine(), _signing_seed())


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != 32:
        raise ConfigError("--public-key must be a base64 Ed25519 public key (32 bytes)")
    return key


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _print_json(doc: dict) -> None:
    print(json.dumps(doc, indent=2))
