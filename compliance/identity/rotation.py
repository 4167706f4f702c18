"""KEK rotation, and the step that makes an erasure reach the backups.

Why erasure needs a rotation. destroy() removes a subject's wrapped data key from the live
database, but a backup taken earlier still holds it, wrapped under a KEK that the key file still
holds: restore the backup, and the subject is readable again. So complete_erasure():

  1. adds a new KEK to the key file and makes it active;
  2. raises the database's KEK fence to it, so no process with a stale keyring wraps a new key
     under an old KEK from now on (such a process reloads the key file, or fails loudly);
  3. re-wraps every remaining data key to the new KEK (resumable, a commit per batch);
  4. checks that no live key is left under an old KEK, and only then
  5. deletes every old KEK from the key file (recorded as retired, never reused).

After step 5 every wrapped key in every copy of the database made before step 3 needs a KEK that
no longer exists: the erased subject's ciphertexts in such a backup are unreadable, wherever they
are (vault, tracker store, inbox). The price, stated plainly: such a backup is unreadable for
every subject, not only the erased one; take a fresh backup after each completion. Erasures may
be batched (run `python -m compliance keys retire-kek` daily, well inside GDPR's one month), and
the erasure is only complete for backups once this has run. It also assumes copies of the key
file are not kept beyond that deadline (invariant 7 keeps the keys out of database backups).
A crash anywhere is safe: re-run; an old KEK is deleted only once nothing live needs it.
Key-file keyrings only: environment-variable keyrings are rotated by the deployment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from compliance.errors import KeyringError
from compliance.identity.subject_keys import SubjectKeyStore
from compliance.keys.keyfile import add_kek, read_keyfile, retire_keks
from compliance.keys.keyring import Keyring
from compliance.media import delete_unreadable_media
from compliance.storage.tables_identity import FENCE_ID, kek_fence


@dataclass(frozen=True)
class RotationReport:
    active_kek: int
    rewrapped: int
    retired: tuple[int, ...] = ()
    media_deleted: int = 0  # stored media rows no live key could open any more


def rotate_kek(
    key_file: str | os.PathLike[str], engine: Engine, *, batch_size: int = 500
) -> RotationReport:
    """Add a KEK, make it active, and re-wrap every data key to it (old KEKs stay)."""
    return _rewrap_all(add_kek(key_file), engine, batch_size)


def rewrap_to_active(
    key_file: str | os.PathLike[str], engine: Engine, *, batch_size: int = 500
) -> RotationReport:
    """Finish an interrupted rotation: re-wrap to the key file's active KEK, adding none."""
    return _rewrap_all(read_keyfile(key_file), engine, batch_size)


def _rewrap_all(keyring: Keyring, engine: Engine, batch_size: int) -> RotationReport:
    raise_fence(engine, keyring.active_kek)
    rewrapped = SubjectKeyStore(engine, keyring, cache_size=0).rewrap_all(keyring, batch_size)
    return RotationReport(keyring.active_kek, rewrapped)


def complete_erasure(
    key_file: str | os.PathLike[str], engine: Engine, *, batch_size: int = 500
) -> RotationReport:
    """Rotate, then delete every old KEK: erased subjects become unreadable in old backups."""
    rotated = rotate_kek(key_file, engine, batch_size=batch_size)
    keyring = read_keyfile(key_file)
    left = SubjectKeyStore(engine, keyring, cache_size=0).count_not_at(keyring.active_kek)
    if left:
        raise KeyringError(
            f"{keyring.source}: {left} data keys are still under an old KEK; nothing was retired "
            "(run `python -m compliance keys retire-kek` again)"
        )
    old = sorted(v for v in keyring.keks if v != keyring.active_kek)
    if old:
        retire_keks(key_file, old)
    # Rows sealed under a destroyed key are unreadable already; deleting them too leaves nothing
    # behind from an erasure that did not reach the media table itself (a recycled number).
    media_deleted = delete_unreadable_media(engine)
    return RotationReport(rotated.active_kek, rotated.rewrapped, tuple(old), media_deleted)


def raise_fence(engine: Engine, kek_version: int) -> None:
    """Set the lowest KEK version new data keys may be wrapped under (never lowers it)."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(kek_fence)
            .where(kek_fence.c.id == FENCE_ID)
            .where(kek_fence.c.min_kek_version < kek_version)
            .values(min_kek_version=kek_version)
        )
