"""SubjectKeyStore on SQLite and PostgreSQL: creation, tombstones, generations, cache, rewrap."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from compliance.crypto import data_keys
from compliance.errors import IntegrityFailure, KeyringError, SubjectErased
from compliance.identity import SubjectKeyStore, UnknownSubject
from compliance.identity.rotation import raise_fence
from compliance.keys import Keyring, add_kek, read_keyfile
from compliance.storage.tables_identity import subject_keys

P = "wa_" + "a" * 32
Q = "wa_" + "b" * 32


def _rows(engine: Engine) -> list:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(subject_keys).order_by(subject_keys.c.pseudonym)
        ).all()


def test_get_or_create_is_idempotent_and_stored_wrapped(keys, engine) -> None:
    key = keys.get_or_create(P)
    assert len(key) == 32 and keys.get_or_create(P) == key
    fresh = SubjectKeyStore(engine, keys.keyring)  # no cache: read from the database
    assert fresh.get(P) == key
    (row,) = _rows(engine)
    assert row.generation == 1 and row.kek_version == 1 and key not in row.wrapped_key


def test_get_unknown_subject(keys) -> None:
    with pytest.raises(UnknownSubject):
        keys.get(P)
    assert isinstance(UnknownSubject(), LookupError)


def test_destroy_leaves_tombstone_and_get_raises(keys, engine) -> None:
    keys.get_or_create(P)
    keys.get_or_create(Q)
    assert keys.destroy(P) is True and keys.destroy(P) is False
    with pytest.raises(SubjectErased):
        keys.get(P)
    assert keys.is_erased(P) and not keys.is_erased(Q)
    row = _rows(engine)[0]
    assert row.wrapped_key is None and row.kek_version is None and row.erased_at is not None


def test_same_person_after_erasure_gets_a_new_generation(keys) -> None:
    token = keys.seal_for(P, "text", b"before erasure")
    old_key = keys.get(P)
    keys.destroy(P)
    new_key = keys.get_or_create(P)
    assert new_key != old_key and keys.current(P).generation == 2
    with pytest.raises(SubjectErased):  # the old ciphertext is not resurrected
        keys.open_for(P, "text", token)
    assert keys.open_for(P, "text", keys.seal_for(P, "text", b"after")) == b"after"


def test_seal_for_binds_subject_and_field(keys) -> None:
    token = keys.seal_for(P, "text", b"hello")
    keys.get_or_create(Q)
    assert keys.open_for(P, "text", token) == b"hello"
    with pytest.raises(IntegrityFailure):
        keys.open_for(P, "name", token)
    with pytest.raises(IntegrityFailure):
        keys.open_for(Q, "text", token)


def test_destroy_evicts_the_cache(keys) -> None:
    token = keys.seal_for(P, "text", b"x")
    keys.destroy(P)
    with pytest.raises(SubjectErased):
        keys.open_for(P, "text", token)


def test_cache_is_bounded_lru_with_ttl(engine, keyring) -> None:
    clock = [0.0]
    store = SubjectKeyStore(engine, keyring, cache_size=2, cache_ttl=10,
                            monotonic=lambda: clock[0])
    for p in ("wa_1", "wa_2", "wa_3"):
        store.get_or_create(p)
    assert list(store._cache) == ["wa_2", "wa_3"]
    other = SubjectKeyStore(engine, keyring)
    other.destroy("wa_3")  # another process erases
    assert store.get("wa_3")  # still cached here, within the TTL bound
    clock[0] = 11
    with pytest.raises(SubjectErased):
        store.get("wa_3")


def test_rewrap_all_moves_every_key_and_keeps_it(keys, engine, key_file: Path) -> None:
    before = {p: keys.get_or_create(p) for p in (f"wa_{i:02d}" for i in range(7))}
    keys.destroy("wa_03")
    new = add_kek(key_file)
    assert keys.rewrap_all(new, batch_size=2) == 6
    assert {r.kek_version for r in _rows(engine) if r.wrapped_key is not None} == {2}
    only_new = Keyring.build(pseudonym_key=new.pseudonym_key, keks={2: new.keks[2]},
                             active_kek=2, audit_signing_key=new.audit_signing_key)
    reader = SubjectKeyStore(engine, only_new)
    assert all(reader.get(p) == k for p, k in before.items() if p != "wa_03")
    assert keys.rewrap_all(new, batch_size=2) == 0  # nothing left: idempotent


class _FailingAfter:
    """A keyring stand-in that dies after n unwraps: an interrupted rotation."""

    def __init__(self, keyring: Keyring, n: int) -> None:
        self.inner, self.left = keyring, n
        self.active_kek, self.active_kek_key = keyring.active_kek, keyring.active_kek_key

    def kek(self, version: int) -> bytes | None:
        if self.left == 0:
            raise RuntimeError("killed mid-rotation")
        self.left -= 1
        return self.inner.kek(version)


def test_rewrap_all_resumes_after_interruption(keys, engine, key_file: Path) -> None:
    for i in range(9):
        keys.get_or_create(f"wa_{i}")
    new = add_kek(key_file)
    with pytest.raises(RuntimeError):
        keys.rewrap_all(_FailingAfter(new, 5), batch_size=3)  # type: ignore[arg-type]
    versions = sorted(r.kek_version for r in _rows(engine))
    assert versions == [1] * 6 + [2] * 3  # the first batch committed, the second rolled back
    assert keys.rewrap_all(new, batch_size=3) == 6
    assert keys.count_not_at(2) == 0


def test_unwrap_reloads_keyring_after_rotation_elsewhere(engine, key_file: Path) -> None:
    stale = SubjectKeyStore(engine, lambda: read_keyfile(key_file), cache_size=0)
    writer = SubjectKeyStore(engine, read_keyfile(key_file))
    key = writer.get_or_create(P)
    rotated = add_kek(key_file)
    writer.rewrap_all(rotated)
    from compliance.keys import retire_keks
    retire_keks(key_file, [1])
    assert stale.keyring.active_kek == 1
    assert stale.get(P) == key and stale.keyring.active_kek == 2


def test_fence_stops_stale_writer(engine, key_file: Path, keyring: Keyring) -> None:
    add_kek(key_file)
    raise_fence(engine, 2)
    fixed = SubjectKeyStore(engine, keyring)  # cannot reload: must refuse, not wrap under v1
    with pytest.raises(KeyringError, match="older than the database"):
        fixed.get_or_create(P)
    assert _rows(engine) == []
    reloading = SubjectKeyStore(engine, lambda: read_keyfile(key_file))
    reloading._keyring = keyring  # starts stale, reloads on the fence
    reloading.get_or_create(P)
    assert _rows(engine)[0].kek_version == 2


def test_repr_hides_keys(keys) -> None:
    key = keys.get_or_create(P)
    assert key.hex() not in repr(keys) and key.hex() not in repr(keys.current(P))
    assert data_keys.DATA_KEY_BYTES == 32
