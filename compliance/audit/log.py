"""AuditLog: the one writer path of the audit log, safe with many writers on one database.

Every append runs in a transaction that first locks the single audit_head row (PostgreSQL:
SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE, which takes the database write lock before the
read). The head holds the tree size and the compact range, so each writer extends exactly the
tree the previous one left: seqs stay gapless and the log never forks, across the Rasa server,
the action server and any number of instances. Checkpoints (RFC 9162 §4.10 signed tree heads)
are written in the same transaction every `checkpoint_every` entries and when
`checkpoint_seconds` have passed; a failure rolls everything back (StorageUnavailable).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, create_engine, event, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from compliance.audit import checkpoint as cp
from compliance.audit.compact_range import CompactRange
from compliance.audit.entries import NewEntry, canonical_json, format_time, leaf_data, parse_time
from compliance.audit.merkle import hash_leaf
from compliance.audit.tables import HEAD_ID, audit_checkpoints, audit_entries, audit_head
from compliance.errors import ConfigError
from compliance.storage.direct import Direct, execute_driver_sql
from compliance.storage.durability import transaction
from compliance.storage.group_commit import GroupCommitter
from compliance.storage.guard import storage_errors
from compliance.storage.kept_connection import KeptConnection
from compliance.storage.sqlite_write_lock import WriteLockedConnection

DEFAULT_ORIGIN = "sigillo"
DEFAULT_CHECKPOINT_EVERY = 256
DEFAULT_CHECKPOINT_SECONDS = 60.0
_SQLITE_BUSY_SECONDS = 60  # writers queue on the lock; an append holds it for milliseconds

# Every append runs these; built once so each call only binds values (building a statement
# costs more than running it on SQLite, and an append is on every turn's path), and run on the
# driver's cursor (compliance/storage/direct.py).
_HEAD_QUERY = select(audit_head).where(audit_head.c.id == HEAD_ID)
_READ_HEAD = Direct(_HEAD_QUERY)
_READ_HEAD_FOR_UPDATE = Direct(_HEAD_QUERY.with_for_update())
_WRITE_HEAD = Direct(update(audit_head).where(audit_head.c.id == HEAD_ID).values(
    size=bindparam("h_size"),
    compact_range=bindparam("h_compact_range"),
    last_checkpoint_size=bindparam("h_last_checkpoint_size"),
    last_checkpoint_time=bindparam("h_last_checkpoint_time"),
    pruned_before=bindparam("h_pruned_before"),
))
_INSERT_ENTRIES = Direct(insert(audit_entries))


# One append: run in the append's transaction, it makes its changes and returns the entries to
# append (none: the changes commit alone); and whether its commit must survive a power loss.
@dataclass(frozen=True)
class _Request:
    run: Callable[[Connection], list[NewEntry]]
    durable: bool = True
# An audit_head row's values (size, compact range, last checkpoint size and time, pruned_before):
# the key of the memoised parse below.
_HeadKey = tuple[int, str, int, str | None, int]


@dataclass
class _Head:
    size: int
    compact: CompactRange
    last_checkpoint_size: int
    last_checkpoint_time: datetime | None
    pruned_before: int
    # last_checkpoint_time as the row stores it: written back unchanged by most appends.
    last_checkpoint_text: str | None = None


class AuditLog:
    """Append-only, Merkle-hashed, checkpoint-signed log of every turn (design.md invariant 3).

    `signing_seed` is the keyring's 32-byte Ed25519 `audit_signing_key`; `clock` returns an aware
    UTC datetime and is injectable for tests. The engine must be a file SQLite or PostgreSQL.
    Build one per process and share it: on SQLite it owns a small private connection pool.
    """

    def __init__(self, engine: Engine, signing_seed: bytes, *, origin: str = DEFAULT_ORIGIN,
                 checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
                 checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
                 clock: Callable[[], datetime] | None = None) -> None:
        if not isinstance(signing_seed, bytes) or len(signing_seed) != 32:
            raise ConfigError("signing_seed must be the 32-byte Ed25519 audit_signing_key")
        if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be an integer >= 1")
        if not checkpoint_seconds > 0:
            raise ConfigError("checkpoint_seconds must be > 0")
        try:
            cp.Checkpoint(origin, 0, bytes(32), datetime.now(timezone.utc)).body()
        except cp.MalformedCheckpoint:
            raise ConfigError("origin must be 1-128 printable ASCII, no spaces") from None
        self.engine = engine
        self.origin = origin
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = float(checkpoint_seconds)
        self._seed = signing_seed
        self.public_key = cp.public_key_of(signing_seed)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._writer = _writer_engine(engine)
        # The connections the group commit's batches keep between them (SQLite): one for
        # durable batches and one for relaxed ones, each staying at its synchronous level, so
        # that a turn's mix of both (its outbound entry, its start and end) switches no level
        # (a PRAGMA statement each way, compliance/storage/durability.py).
        self._batch_connections = {
            durable: KeptConnection(self._writer) for durable in (True, False)
        }
        self._group: GroupCommitter[_Request, list[int]] = GroupCommitter(self._append_batch)

    def __repr__(self) -> str:  # never the seed
        return f"AuditLog(origin={self.origin!r}, dialect={self.engine.dialect.name!r})"

    def close(self) -> None:
        """Release the private SQLite writer pool (the shared engine is the caller's)."""
        for kept in self._batch_connections.values():
            kept.close()
        if self._writer is not self.engine:
            self._writer.dispose()

    def append(self, fields: NewEntry | Mapping[str, Any]) -> int:
        """Append one entry; returns its seq (its 0-based leaf index)."""
        return self.append_many([fields])[0]

    def append_many(self, fields: Iterable[NewEntry | Mapping[str, Any]]) -> list[int]:
        """Append entries in one transaction (one lock, one commit): all or none are written."""
        entries = [NewEntry.coerce(f) for f in fields]  # validated before taking the lock
        if not entries:
            return []
        return self._group.submit(_Request(lambda _connection: entries))

    def append_with(
        self,
        change: Callable[[Connection], bool],
        fields: Iterable[NewEntry | Mapping[str, Any]],
    ) -> list[int]:
        """Run `change` in the append's transaction, then append `fields` unless it returned
        False: a state change and its audit entry commit together or not at all, and share
        one durable commit (a turn's window refresh, a status's first sighting). `change`
        may run on another thread (group commit) and must not append itself."""
        entries = [NewEntry.coerce(f) for f in fields]
        if not entries:
            raise ValueError("append_with needs at least one entry")
        return self._group.submit(
            _Request(lambda connection: entries if change(connection) else [])
        )

    def append_derived(
        self,
        change: Callable[[Connection], Iterable[NewEntry | Mapping[str, Any]]],
        *,
        durable: bool = True,
    ) -> list[int]:
        """Run `change` in the append's transaction and append the entries it returns: for a
        write whose audit entries depend on what it wrote (the tracker store appends a turn's
        events and audits the bot actions among them). Both commit together, in one commit,
        or neither does; no entries: the change commits alone. `change` may run on another
        thread (group commit), may run again after a rolled-back attempt (a failed batch is
        retried item by item) and must not append itself.

        `durable=False` is for work that a durable record lets be done again (a turn, replayed
        from its inbox row): its commit does not wait for the disk, unless it shares a group
        commit with one that must (compliance/storage/durability.py)."""
        return self._group.submit(
            _Request(lambda connection: [NewEntry.coerce(f) for f in change(connection)], durable)
        )

    def _append_batch(self, requests: list[_Request]) -> list[list[int]]:
        """Every request of a group commit in one transaction (see group_commit.py), on the
        connection the batches of its durability keep between them (kept_connection.py). The
        head is read and written here rather than through locked(): two generator layers fewer
        around three transactions a turn."""
        seqs: list[list[int]] = []
        durable = any(request.durable for request in requests)
        with storage_errors(), self._batch_connections[durable].connection() as connection:
            with transaction(connection, durable=durable):
                head = _read_head(connection)
                for request in requests:
                    entries = request.run(connection)
                    seqs.append(self.append_locked(connection, head, entries) if entries else [])
                _write_head(connection, head)
        return seqs

    def checkpoint_now(self) -> cp.SignedCheckpoint:
        """Sign the current tree head now (unless one exists at this size) and return it."""
        with self.locked() as (connection, head):
            if head.last_checkpoint_size == head.size and head.last_checkpoint_time is not None:
                row = connection.execute(
                    select(audit_checkpoints).where(audit_checkpoints.c.size == head.size)
                ).one()
                return cp.SignedCheckpoint(
                    cp.parse_note(row.note, self.public_key), base64.b64decode(row.signature)
                )
            signed = self._checkpoint(connection, head, self._clock())
            return signed

    @contextmanager
    def locked(self, *, durable: bool = True) -> Iterator[tuple[Connection, _Head]]:
        """A transaction holding the head lock; the head is written back on success. Its
        commit waits for the disk unless `durable` is False (see append_derived)."""
        with storage_errors(), self._writer.connect() as connection:
            with transaction(connection, durable=durable):
                head = _read_head(connection)
                yield connection, head
                _write_head(connection, head)

    def append_locked(self, connection: Connection, head: _Head,
                      entries: list[NewEntry]) -> list[int]:
        """Append inside `locked()`; pruning uses it to record itself in its own transaction.

        Requires a non-empty `entries`; the clock is read once per entry, under the lock.
        """
        if not entries:
            raise ValueError("append_locked needs at least one entry")
        now = self._clock()
        rows: list[dict[str, Any]] = []
        seqs: list[int] = []
        for index, entry in enumerate(entries):
            now = now if index == 0 else self._clock()
            time_text = format_time(now)
            attributes = canonical_json(dict(entry.attributes))
            leaf = hash_leaf(leaf_data(head.size, time_text, entry.component, entry.kind,
                                       entry.subject, attributes))
            rows.append({"seq": head.size, "time": time_text, "component": entry.component,
                         "kind": entry.kind, "subject": entry.subject,
                         "attributes": attributes, "leaf_hash": leaf.hex()})
            seqs.append(head.size)
            head.compact.append(leaf)
            head.size += 1
            if head.size % self.checkpoint_every == 0:
                _INSERT_ENTRIES.execute(connection, rows)
                rows = []
                self._checkpoint(connection, head, now)
        if rows:
            _INSERT_ENTRIES.execute(connection, rows)
        last = head.last_checkpoint_time  # `now` is the time of the last entry appended
        if head.last_checkpoint_size != head.size and (
            last is None or (now - last).total_seconds() >= self.checkpoint_seconds
        ):
            self._checkpoint(connection, head, now)
        return seqs

    def _checkpoint(self, connection: Connection, head: _Head,
                    now: datetime) -> cp.SignedCheckpoint:
        signed = cp.sign(cp.Checkpoint(self.origin, head.size, head.compact.root(), now),
                         self._seed)
        time_text = format_time(now)
        connection.execute(insert(audit_checkpoints).values(
            size=head.size,
            root=signed.checkpoint.root.hex(),
            time=time_text,
            signature=base64.b64encode(signed.signature).decode("ascii"),
            note=signed.note(self.public_key),
            compact_range=head.compact.to_json(),
        ))
        head.last_checkpoint_size = head.size
        head.last_checkpoint_time, head.last_checkpoint_text = now, time_text
        return signed


def _read_head(connection: Connection) -> _Head:
    """The head, read in the append's transaction: FOR UPDATE on PostgreSQL; on SQLite the
    transaction began with BEGIN IMMEDIATE and holds the write lock already."""
    query = _READ_HEAD if connection.dialect.name == "sqlite" else _READ_HEAD_FOR_UPDATE
    row = query.execute(connection).one_or_none()
    if row is None:
        raise ConfigError("audit tables are missing: run compliance.storage.migrate()")
    return _parse_head(row)


def _write_head(connection: Connection, head: _Head) -> None:
    written = (
        head.size,
        head.compact.to_json(),
        head.last_checkpoint_size,
        head.last_checkpoint_text,
        head.pruned_before,
    )
    _WRITE_HEAD.execute(connection, dict(zip(_HEAD_PARAMS, written, strict=True)))
    _remember_head(written, head)


_HEAD_PARAMS = ("h_size", "h_compact_range", "h_last_checkpoint_size", "h_last_checkpoint_time",
                "h_pruned_before")

# The head row this process last read or wrote, with its parse. Every transaction still reads
# the row (another writer may have moved it on) and reuses the parse when the text matches: the
# common case, as the channel's and the tracker store's logs take turns in one Rasa server.
# Parsing is a pure function of the row, so one memo serves every AuditLog and database.
_last_head: tuple[_HeadKey, _Head] | None = None


def _parse_head(row: Any) -> _Head:
    """The head of an audit_head row; its parse is reused when the row is the one last seen,
    which saves decoding the compact range and the checkpoint time on every append."""
    global _last_head
    key: _HeadKey = (row.size, row.compact_range, row.last_checkpoint_size,
                     row.last_checkpoint_time, row.pruned_before)
    last = _last_head
    if last is not None and last[0] == key:
        return _copy_head(last[1])
    head = _Head(
        size=row.size,
        compact=CompactRange.from_json(row.compact_range),
        last_checkpoint_size=row.last_checkpoint_size,
        last_checkpoint_time=(parse_time(row.last_checkpoint_time)
                              if row.last_checkpoint_time else None),
        pruned_before=row.pruned_before,
        last_checkpoint_text=row.last_checkpoint_time,
    )
    if head.compact.size != head.size:
        raise ConfigError("audit_head is inconsistent: compact range size != size")
    _last_head = (key, _copy_head(head))
    return head


def _remember_head(written: _HeadKey, head: _Head) -> None:
    """Memo the head as written, before the commit: if the commit fails the row keeps its old
    text, which then no longer matches, and the next transaction parses the row afresh."""
    global _last_head
    _last_head = (written, _copy_head(head))


def _copy_head(head: _Head) -> _Head:
    """A copy the caller may extend (the compact range is the only mutable part)."""
    return _Head(head.size, head.compact.copy(), head.last_checkpoint_size,
                 head.last_checkpoint_time, head.pruned_before, head.last_checkpoint_text)


def _writer_engine(engine: Engine) -> Engine:
    """For SQLite, a private engine whose transactions start with BEGIN IMMEDIATE.

    pysqlite defers BEGIN until the first write, so a plain transaction reads the head unlocked
    and two writers would extend the same tree (a fork). SQLAlchemy's documented fix
    ("Serializable isolation / Savepoints / Transactional DDL", pysqlite dialect): disable the
    driver's own transaction handling and emit BEGIN ourselves. A private engine keeps that
    change away from the other users of the shared engine; synchronous=FULL makes each audit
    commit durable across power loss, not just process death.
    """
    if engine.dialect.name != "sqlite":
        return engine
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        raise ConfigError("the audit log needs a file SQLite database or PostgreSQL")
    writer = create_engine(engine.url, future=True, poolclass=QueuePool, pool_size=2,
                           connect_args={"timeout": _SQLITE_BUSY_SECONDS,
                                         "check_same_thread": False,
                                         "factory": WriteLockedConnection})

    @event.listens_for(writer, "connect")
    def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        # As on the shared engine: the changes that commit with an entry run here too.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(writer, "begin")
    def _begin(connection) -> None:  # type: ignore[no-untyped-def]
        execute_driver_sql(connection, "BEGIN IMMEDIATE")

    return writer
