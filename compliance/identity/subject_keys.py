"""SubjectKeyStore: one data key per pseudonym, wrapped under the keyring's KEK, and shredded on
erasure.

Threat model. The database (and every backup of it) holds data keys only wrapped under a KEK that
lives in the key file (invariant 7). destroy() NULLs the wrapped key, which makes the subject's
ciphertexts unreadable in the live database at once. It does NOT by itself defeat a backup taken
before the erasure: that copy still holds the wrapped key, and the key file still holds the KEK.
compliance.identity.rotation.complete_erasure closes that gap by rotating to a new KEK, re-wrapping
every remaining key and deleting the old KEK from the key file. Cached unwrapped keys live in
process memory for at most `cache_ttl` seconds, so another process's erasure takes effect here
within that bound (destroy() evicts at once in this process).

Generations: the row of an erased subject stays as a tombstone; if the same person writes again,
a new random key is made under generation + 1. Tokens carry the generation as their key version,
so open_for() reports an older generation as SubjectErased instead of trying the new key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from compliance.crypto import data_keys, envelope, primitives
from compliance.errors import ComplianceError, KeyringError, SubjectErased, UnknownKeyVersion
from compliance.keys.keyring import Keyring
from compliance.storage.direct import Direct
from compliance.storage.tables_identity import FENCE_ID, kek_fence, subject_keys
from compliance.storage.upsert import insert_ignore

KeyringSource = Keyring | Callable[[], Keyring]
# A sender's first turn in a process reads its key (compliance/storage/direct.py).
_KEY_ROW = Direct(
    sa.select(subject_keys.c.generation, subject_keys.c.wrapped_key)
    .where(subject_keys.c.pseudonym == sa.bindparam("pseudonym"))
)


class UnknownSubject(ComplianceError, LookupError):
    """No key or identity was ever recorded for this pseudonym."""


@dataclass(frozen=True)
class DataKey:
    pseudonym: str
    generation: int
    key: bytes = field(repr=False)
    # Set up once per key and cached with it: it lives exactly as long as the key does here.
    cipher: primitives.Cipher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cipher", primitives.Cipher(self.key))


class _StaleKeyring(Exception):
    """Rolls back a key creation whose KEK is below the database's fence."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SubjectKeyStore:
    """Data keys per pseudonym over SQLAlchemy. `keyring` may be a callable that reloads the key
    file: it is called again when a KEK version is missing or below the fence (another process
    rotated)."""

    def __init__(
        self,
        engine: Engine,
        keyring: KeyringSource,
        *,
        cache_size: int = 4096,
        cache_ttl: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._engine = engine
        self._source = keyring
        self._keyring = keyring if isinstance(keyring, Keyring) else keyring()
        self._cache: OrderedDict[str, tuple[DataKey, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl
        self._monotonic = monotonic
        self._now = now
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SubjectKeyStore(keyring={self._keyring!r}, cached={len(self._cache)})"

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    def use_keyring(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def reload_keyring(self) -> bool:
        """Re-read the keyring if it came from a callable; True if it may have changed."""
        if isinstance(self._source, Keyring):
            return False
        self._keyring = self._source()
        return True

    # --- data keys ---------------------------------------------------------------------------

    def get_or_create(self, pseudonym: str) -> bytes:
        return self.current(pseudonym, create=True).key

    def get(self, pseudonym: str) -> bytes:
        """The data key; SubjectErased after destroy(), UnknownSubject if never created."""
        return self.current(pseudonym).key

    def current(self, pseudonym: str, *, create: bool = False) -> DataKey:
        cached = self._cache_get(pseudonym)
        if cached is not None:
            return cached
        for _ in range(3):  # a lost creation race or a rotation elsewhere: read again
            row = self._row(pseudonym)
            if row is not None and row.wrapped_key is not None:
                key = self._unwrap(row.wrapped_key, pseudonym)
                data_key = DataKey(pseudonym, row.generation, key)
                self._cache_put(data_key)
                return data_key
            if not create:
                if row is None:
                    raise UnknownSubject("no data key for this pseudonym")
                raise SubjectErased("the subject's data key was destroyed")
            self._create(pseudonym, row.generation + 1 if row is not None else 1)
        raise KeyringError("could not create a data key (concurrent rotation); retry")

    def is_erased(self, pseudonym: str) -> bool:
        row = self._row(pseudonym)
        return row is not None and row.wrapped_key is None

    def destroy(self, pseudonym: str) -> bool:
        """Crypto-shred: NULL the wrapped key, keep a tombstone. True if a live key existed."""
        with self._lock:
            self._cache.pop(pseudonym, None)
        with self._engine.begin() as connection:
            result = connection.execute(
                sa.update(subject_keys)
                .where(subject_keys.c.pseudonym == pseudonym)
                .where(subject_keys.c.wrapped_key.is_not(None))
                .values(wrapped_key=None, kek_version=None, erased_at=self._now())
            )
        return result.rowcount > 0

    # --- sealing with the subject's key ------------------------------------------------------

    def seal_for(self, pseudonym: str, field_name: str, plaintext: bytes) -> bytes:
        """`plaintext` sealed under the subject's current key, bound to (pseudonym, field)."""
        data_key = self.current(pseudonym, create=True)
        return envelope.seal(data_key.cipher, plaintext, envelope.field_aad(pseudonym, field_name),
                             key_version=data_key.generation)

    def open_for(self, pseudonym: str, field_name: str, token: bytes) -> bytes:
        """The plaintext; SubjectErased if the key (or the generation it was sealed under) is
        destroyed, IntegrityFailure if tampered or bound to another subject or field."""
        generation = envelope.token_key_version(token)
        data_key = self.current(pseudonym)
        if generation > data_key.generation:  # our cache predates a re-creation elsewhere
            self._evict(pseudonym)
            data_key = self.current(pseudonym)
        if generation < data_key.generation:
            raise SubjectErased("sealed under a data key generation that was destroyed")
        if generation != data_key.generation:
            raise UnknownKeyVersion("sealed under a data key generation this store does not hold")
        return envelope.open_sealed(data_key.cipher, token,
                                    envelope.field_aad(pseudonym, field_name))

    # --- KEK rotation ------------------------------------------------------------------------

    def rewrap_all(self, keyring: Keyring | None = None, batch_size: int = 500) -> int:
        """Re-wrap every live data key to the active KEK; returns how many rows changed.

        Resumable: rows already at the active version are skipped and each batch commits on its
        own, so an interrupted run is finished by running it again.
        """
        keyring = keyring or self._keyring
        target, kek = keyring.active_kek, keyring.active_kek_key
        changed, after = 0, ""
        while True:
            with self._engine.begin() as connection:
                rows = connection.execute(
                    sa.select(subject_keys.c.pseudonym, subject_keys.c.generation,
                              subject_keys.c.wrapped_key, subject_keys.c.kek_version)
                    .where(subject_keys.c.wrapped_key.is_not(None))
                    .where(subject_keys.c.kek_version != target)
                    .where(subject_keys.c.pseudonym > after)
                    .order_by(subject_keys.c.pseudonym)
                    .limit(batch_size)
                ).all()
                for row in rows:
                    wrapped = data_keys.rewrap(keyring, row.wrapped_key, row.pseudonym, target, kek)
                    changed += connection.execute(
                        sa.update(subject_keys)
                        .where(subject_keys.c.pseudonym == row.pseudonym)
                        .where(subject_keys.c.generation == row.generation)
                        .where(subject_keys.c.kek_version == row.kek_version)
                        .values(wrapped_key=wrapped, kek_version=target)
                    ).rowcount
            if len(rows) < batch_size:
                return changed
            after = rows[-1].pseudonym

    def count_not_at(self, kek_version: int) -> int:
        """Live data keys wrapped under any KEK version other than `kek_version`."""
        with self._engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(subject_keys)
                .where(subject_keys.c.wrapped_key.is_not(None))
                .where(subject_keys.c.kek_version != kek_version)
            ).scalar_one()

    # --- internals ---------------------------------------------------------------------------

    def _row(self, pseudonym: str) -> sa.engine.Row | None:
        return _KEY_ROW.read(self._engine, {"pseudonym": pseudonym}).first()

    def _unwrap(self, wrapped: bytes, pseudonym: str) -> bytes:
        try:
            return data_keys.unwrap(self._keyring, wrapped, pseudonym)
        except UnknownKeyVersion:
            if not self.reload_keyring():
                raise
            return data_keys.unwrap(self._keyring, wrapped, pseudonym)

    def _create(self, pseudonym: str, generation: int) -> None:
        for attempt in range(2):
            try:
                with self._engine.begin() as connection:
                    self._write_new_key(connection, pseudonym, generation)
                    # Checked after the write, inside its transaction: the write holds the lock
                    # a rotation's fence update must wait for (see tables_identity.kek_fence).
                    fence = connection.execute(
                        sa.select(kek_fence.c.min_kek_version)
                        .where(kek_fence.c.id == FENCE_ID).with_for_update(read=True)
                    ).scalar_one_or_none() or 0
                    if self._keyring.active_kek < fence:
                        raise _StaleKeyring
                return
            except _StaleKeyring:
                if attempt or not self.reload_keyring():
                    raise KeyringError(
                        f"{self._keyring.source}: active KEK {self._keyring.active_kek} is older "
                        "than the database's; reload the key file"
                    ) from None

    def _write_new_key(self, connection: Connection, pseudonym: str, generation: int) -> None:
        keyring = self._keyring
        wrapped = data_keys.wrap(keyring.active_kek, keyring.active_kek_key,
                                 data_keys.generate_data_key(), pseudonym)
        values = {"wrapped_key": wrapped, "kek_version": keyring.active_kek,
                  "created_at": self._now()}
        if generation == 1:
            insert_ignore(connection, subject_keys,
                          {"pseudonym": pseudonym, "generation": 1, **values})
            return
        connection.execute(
            sa.update(subject_keys)
            .where(subject_keys.c.pseudonym == pseudonym)
            .where(subject_keys.c.generation == generation - 1)
            .where(subject_keys.c.wrapped_key.is_(None))
            .values(generation=generation, **values)
        )

    def _cache_get(self, pseudonym: str) -> DataKey | None:
        with self._lock:
            entry = self._cache.get(pseudonym)
            if entry is None:
                return None
            if entry[1] <= self._monotonic():
                del self._cache[pseudonym]
                return None
            self._cache.move_to_end(pseudonym)
            return entry[0]

    def _cache_put(self, data_key: DataKey) -> None:
        if self._cache_size <= 0:
            return
        with self._lock:
            self._cache[data_key.pseudonym] = (data_key, self._monotonic() + self._cache_ttl)
            self._cache.move_to_end(data_key.pseudonym)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _evict(self, pseudonym: str) -> None:
        with self._lock:
            self._cache.pop(pseudonym, None)
