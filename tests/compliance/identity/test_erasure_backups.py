"""Crypto-shredding reaches backups: a copy of the database taken before an erasure cannot be
read for the erased subject once complete_erasure() has run (compliance/identity/rotation.py).

The tests also pin the two facts the design rests on: destroy() alone does not defeat an old
backup (it still holds the wrapped key, and the key file still holds its KEK), and after
completion the old backup is unreadable for every subject (the documented price).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance.crypto import data_keys
from compliance.errors import DecryptionError, SubjectErased, UnknownKeyVersion
from compliance.identity import IdentityVault, SubjectKeyStore, complete_erasure
from compliance.keys import read_keyfile
from compliance.storage import create_engine_from_url, migrate
from compliance.storage.tables_identity import subject_keys

ERASED_PHONE = "+393331234567"
KEPT_PHONE = "+393339876543"


def _backup(db: Path, copy: Path) -> None:
    """What an operator's file-level backup holds: the database file after a WAL checkpoint."""
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(db, copy)


def _stack(url: str, key_file: Path) -> tuple[SubjectKeyStore, IdentityVault]:
    engine = create_engine_from_url(url)
    keys = SubjectKeyStore(engine, lambda: read_keyfile(key_file), cache_size=0)
    return keys, IdentityVault(engine, keys)


def test_backup_taken_before_erasure_is_unreadable_for_the_erased_subject(
    tmp_path: Path, key_file: Path
) -> None:
    db, backup = tmp_path / "live.db", tmp_path / "backup-before-erasure.db"
    live_url, backup_url = f"sqlite:///{db}", f"sqlite:///{backup}"
    migrate(create_engine_from_url(live_url))
    keys, vault = _stack(live_url, key_file)
    erased, kept = vault.register("phone", ERASED_PHONE), vault.register("phone", KEPT_PHONE)
    # A tracker-store-like ciphertext sealed under the subject's data key (it would be in the
    # backup too): the message text is as shredded as the identifier.
    message = keys.seal_for(erased, "text", b"my prescription is ...")
    _backup(db, backup)

    vault.erase(erased)
    with pytest.raises(SubjectErased):
        vault.resolve(erased)
    # destroy() alone: the backup still opens with today's key file. This is the gap.
    old_keys, old_vault = _stack(backup_url, key_file)
    assert old_vault.resolve(erased) == ("phone", ERASED_PHONE)
    assert old_keys.open_for(erased, "text", message).startswith(b"my prescription")

    report = complete_erasure(key_file, create_engine_from_url(live_url), batch_size=1)
    assert report.retired == (1,) and report.active_kek == 2 and report.rewrapped == 1

    # The same backup, with the key file as it now is: the erased subject is gone for good.
    old_keys, old_vault = _stack(backup_url, key_file)
    with pytest.raises(UnknownKeyVersion):
        old_vault.resolve(erased)
    with pytest.raises(DecryptionError):
        old_keys.open_for(erased, "text", message)
    keyring = read_keyfile(key_file)
    assert 1 not in keyring.keks and keyring.retired_keks == (1,)
    with create_engine_from_url(backup_url).connect() as connection:
        rows = connection.execute(sa.select(subject_keys)).all()
    for row in rows:  # no KEK left in the key file opens any wrapped key of the backup
        for version in keyring.keks:
            forged = bytearray(row.wrapped_key)
            forged[1:5] = version.to_bytes(4, "big")  # even relabelled to a held version
            with pytest.raises(DecryptionError):
                data_keys.unwrap(keyring, bytes(forged), row.pseudonym)
    # The documented price: the old backup is unreadable for the kept subject too.
    with pytest.raises(UnknownKeyVersion):
        old_vault.resolve(kept)

    # The live database is intact for everyone else, and a fresh backup reads.
    keys, vault = _stack(live_url, key_file)
    assert vault.resolve(kept) == ("phone", KEPT_PHONE)
    with pytest.raises(SubjectErased):
        vault.resolve(erased)
    fresh = tmp_path / "backup-after.db"
    _backup(db, fresh)
    assert _stack(f"sqlite:///{fresh}", key_file)[1].resolve(kept) == ("phone", KEPT_PHONE)


def test_complete_erasure_on_each_backend_with_a_row_snapshot(engine, key_file: Path) -> None:
    keys = SubjectKeyStore(engine, lambda: read_keyfile(key_file), cache_size=0)
    vault = IdentityVault(engine, keys)
    erased, kept = vault.register("phone", ERASED_PHONE), vault.register("phone", KEPT_PHONE)
    with engine.connect() as connection:  # a logical backup (pg_dump-like) of the key table
        snapshot = connection.execute(sa.select(subject_keys)).all()
    vault.erase(erased)
    complete_erasure(key_file, engine)
    keyring = read_keyfile(key_file)
    for row in snapshot:
        with pytest.raises(UnknownKeyVersion):
            data_keys.unwrap(keyring, row.wrapped_key, row.pseudonym)
    assert vault.resolve(kept) == ("phone", KEPT_PHONE)
    assert keys.count_not_at(keyring.active_kek) == 0


def test_complete_erasure_is_rerunnable(engine, key_file: Path) -> None:
    keys = SubjectKeyStore(engine, lambda: read_keyfile(key_file), cache_size=0)
    vault = IdentityVault(engine, keys)
    kept = vault.register("phone", KEPT_PHONE)
    first = complete_erasure(key_file, engine)
    second = complete_erasure(key_file, engine)
    assert (first.retired, second.retired) == ((1,), (2,))
    assert read_keyfile(key_file).retired_keks == (1, 2)
    assert vault.resolve(kept) == ("phone", KEPT_PHONE)
