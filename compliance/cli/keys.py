"""`python -m compliance keys init | show | rotate-kek | retire-kek`: the operator's key commands.

Nothing here prints key material: `show` prints versions and fingerprints (and the audit public
key, which verifiers need). Errors are KeyringError, which __main__ turns into one line and exit 2.
Imports happen inside the commands, so that building the parser (every CLI call) loads no keys code.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = subparsers.add_parser("keys", help="create, inspect and rotate the keyring")
    commands = keys.add_subparsers(dest="keys_command", required=True)

    init = commands.add_parser("init", help="create a new key file (never overwrites one)")
    _key_file_option(init)
    init.set_defaults(func=_init)

    show = commands.add_parser("show", help="print key versions and fingerprints, never keys")
    _key_file_option(show)
    show.set_defaults(func=_show)

    rotate = commands.add_parser(
        "rotate-kek", help="add a KEK, make it active, re-wrap every data key in the database"
    )
    _key_file_option(rotate)
    _batch_option(rotate)
    rotate.set_defaults(func=_rotate)

    retire = commands.add_parser(
        "retire-kek",
        help="complete erasures for backups: rotate, re-wrap, then delete every old KEK",
    )
    _key_file_option(retire)
    _batch_option(retire)
    retire.set_defaults(func=_retire)


def _key_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-file",
        type=Path,
        default=None,
        help="key file (default: SIGILLO_KEY_FILE, else <SIGILLO_DATA_DIR or ./data>/keys.json)",
    )


def _batch_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="data keys re-wrapped per transaction (default 500)",
    )


def _path(args: argparse.Namespace) -> Path:
    from compliance.keys import default_key_file

    return args.key_file if args.key_file is not None else default_key_file()


def _init(args: argparse.Namespace) -> int:
    from compliance.keys import write_new_keyfile

    path = _path(args)
    keyring = write_new_keyfile(path)
    print(
        f"wrote a new keyring to {path} (mode 0600): pseudonym key, KEK version "
        f"{keyring.active_kek}, audit signing key"
    )
    print("keep it out of the database and its backups; losing it loses every encrypted record")
    return 0


def _show(args: argparse.Namespace) -> int:
    from compliance.crypto import primitives
    from compliance.keys import fingerprint, load_keyring

    keyring = load_keyring(args.key_file)
    print(f"source: {keyring.source}")
    print(f"pseudonym key: fingerprint {fingerprint(keyring.pseudonym_key)}")
    for version, kek in keyring.keks.items():
        marker = " (active)" if version == keyring.active_kek else ""
        print(f"kek {version}: fingerprint {fingerprint(kek)}{marker}")
    if keyring.retired_keks:
        print(f"retired keks: {', '.join(str(v) for v in keyring.retired_keks)}")
    public = primitives.ed25519_public_key(keyring.audit_signing_key)
    print(
        f"audit signing key: fingerprint {fingerprint(keyring.audit_signing_key)}, "
        f"public key {public.hex()}"
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from compliance.identity.rotation import rotate_kek

    engine = _engine()
    report = rotate_kek(_path(args), engine, batch_size=args.batch_size)
    _audit(engine, _path(args), "keys_rotate_kek", report)
    print(f"active KEK is now version {report.active_kek}; re-wrapped {report.rewrapped} data keys")
    return 0


def _retire(args: argparse.Namespace) -> int:
    from compliance.identity.rotation import complete_erasure
    from compliance.media import count_media

    engine = _engine()
    report = complete_erasure(_path(args), engine, batch_size=args.batch_size)
    # Media are sealed under their subjects' data keys, not under a KEK: re-wrapping those keys
    # keeps them readable, and the sweep deleted the rows no live key opens (erased subjects).
    media_kept = count_media(engine)
    _audit(
        engine,
        _path(args),
        "keys_retire_kek",
        report,
        media_deleted_count=report.media_deleted,
        media_kept_count=media_kept,
    )
    retired = ", ".join(str(v) for v in report.retired) or "none"
    print(
        f"active KEK is now version {report.active_kek}; re-wrapped {report.rewrapped} data "
        f"keys; retired KEK versions: {retired}"
    )
    print(
        f"stored media: deleted {report.media_deleted} that no live data key opens (erased "
        f"subjects); {media_kept} kept, readable under their re-wrapped data keys"
    )
    print("backups taken before now can no longer be decrypted; take a fresh backup")
    return 0


def _audit(engine, key_file, command: str, report, **counts: int) -> None:  # type: ignore[no-untyped-def]
    """The operator's key change, in the audit log (versions and counts, never keys)."""
    from compliance.audit import AuditLog
    from compliance.keys import read_keyfile

    log = AuditLog(engine, read_keyfile(key_file).audit_signing_key)
    log.append(
        {
            "component": "cli",
            "kind": "operator_command",
            "attributes": {
                "command": command,
                "active_kek": report.active_kek,
                "rewrapped_count": report.rewrapped,
                "retired_count": len(report.retired),
                **counts,
            },
        }
    )
    log.close()


def _engine():  # type: ignore[no-untyped-def]
    from compliance.storage import create_engine_from_url, default_database_url, migrate

    engine = create_engine_from_url(default_database_url())
    migrate(engine)
    return engine
