"""The connection a serial writer keeps between its transactions (compliance/storage/
kept_connection.py): one checkout for many transactions on SQLite, nothing held between them,
and a connection that saw a failure never reaches the pool's other users."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from compliance.storage.durability import transaction
from compliance.storage.kept_connection import KeptConnection
from compliance.storage.sqlite_write_lock import held_in_this_process

scratch_metadata = sa.MetaData()
scratch = sa.Table("kept_scratch", scratch_metadata, sa.Column("n", sa.Integer, primary_key=True))


@pytest.fixture
def db(engine: Engine) -> Engine:
    scratch_metadata.create_all(engine)
    yield engine
    scratch_metadata.drop_all(engine)


def _checkouts(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine.pool, "checkout", lambda *_: seen.append(1))
    return seen


def _write(kept: KeptConnection, n: int) -> None:
    with kept.connection() as connection, transaction(connection, durable=True):
        connection.execute(sa.insert(scratch).values(n=n))


def test_sqlite_transactions_share_one_checkout_and_hold_nothing_between(db: Engine):
    kept, checkouts = KeptConnection(db), _checkouts(db)
    for n in range(4):
        _write(kept, n)
        if db.dialect.name == "sqlite":
            assert not held_in_this_process(db.url.database)
    # PostgreSQL checks out per transaction: the pool pings each connection first.
    assert len(checkouts) == (1 if db.dialect.name == "sqlite" else 4)
    kept.close()
    assert db.pool.checkedout() == 0
    with db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(scratch)).scalar() == 4


def test_a_failed_transaction_gives_its_connection_up_invalidated(db: Engine):
    kept = KeptConnection(db)
    _write(kept, 1)
    invalidated: list[object] = []
    event.listen(db.pool, "invalidate", lambda *_: invalidated.append(1))
    with pytest.raises(sa.exc.IntegrityError):
        _write(kept, 1)  # the key exists
    # SQLite: closed, not handed to the pool's next user; PostgreSQL keeps none (the pool's
    # own check-in rolls the failed transaction back).
    assert len(invalidated) == (1 if db.dialect.name == "sqlite" else 0)
    checkouts = _checkouts(db)
    _write(kept, 2)
    assert len(checkouts) == 1  # a fresh connection
    kept.close()
    with db.connect() as connection:
        assert list(connection.execute(sa.select(scratch.c.n).order_by("n")).scalars()) == [1, 2]
