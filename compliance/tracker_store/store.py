"""EncryptedTrackerStore: a Rasa 3.6 TrackerStore that never writes personal content in clear.

endpoints.yml:

    tracker_store:
      type: compliance.tracker_store.EncryptedTrackerStore
      url: ${SIGILLO_DATABASE_URL}   # optional; default compliance.storage.default_database_url()
      key_file: ${SIGILLO_KEY_FILE}  # optional; default: the keyring's own lookup
      retention_days: 30             # optional; used by `python -m compliance retention run`

Each event is split by event_codec into lookup fields (clear) and personal content, sealed under
the subject's data key (AAD: sender, generation, seq). Unlike Rasa's SQLTrackerStore, a save
appends only the events the tracker gained since the store handed it out, and a retrieve reuses
the tracker the store last saw when the database says nothing changed, so a turn costs the same
at event 10 and at event 200. A subject whose data key was destroyed has no conversation any
more: retrieve returns None and a save is dropped. A database outage raises StorageUnavailable.
I/O is synchronous inside the async methods, as in Rasa's own SQL store: queries are short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from functools import partial
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine

from compliance.errors import SubjectErased
from compliance.storage.guard import storage_errors
from compliance.tracker_store import repository
from compliance.tracker_store.cache import TrackerCache, Version, clone_tracker
from compliance.tracker_store.config import StoreConfig, parse_config
from compliance.tracker_store.repository import Mark
from compliance.tracker_store.retention import delete_conversation
from compliance.tracker_store.sealing import Cipher, SubjectKeys, open_event, seal_event

logger = logging.getLogger(__name__)

_MARK = "_sigillo_mark"  # attribute set on every tracker this store hands out or saves


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class EncryptedTrackerStore(TrackerStore):
    """Rasa tracker store over compliance.storage with per-subject envelope encryption."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: EventBroker | None = None,
        *,
        engine: Engine | None = None,
        subject_keys: SubjectKeys | None = None,
        cipher: Cipher | None = None,
        clock: Callable[[], datetime] = _utcnow,
        **options: Any,
    ) -> None:
        """Rasa passes host=<url>, domain, event_broker and the other endpoints.yml keys;
        tests and tools may inject engine, subject_keys, cipher and clock instead."""
        self.config: StoreConfig = parse_config(host, options)
        if engine is None:
            from compliance.storage import create_engine_from_url, default_database_url, migrate

            engine = create_engine_from_url(self.config.url or default_database_url())
            with storage_errors():
                migrate(engine)
        self.engine = engine
        self._keys = subject_keys or _default_subject_keys(engine, self.config.key_file)
        self._cipher = cipher or _default_cipher()
        self._clock = clock
        self._cache = TrackerCache(self.config.cache_size)
        super().__init__(domain, event_broker)

    @property
    def retention_days(self) -> int:
        return self.config.retention_days

    # --- Rasa's interface -------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events `tracker` gained; publish them to the event broker if one is set."""
        sender = tracker.sender_id
        mark: Mark | None = getattr(tracker, _MARK, None)
        try:
            key = self._keys.get_or_create(sender)
        except SubjectErased:
            logger.info("tracker save dropped: subject %s was erased", sender)
            self._cache.evict(sender)
            return
        seal = partial(self._seal_row, key, sender)
        result = repository.append(self.engine, sender, tracker.events, mark, seal, self._clock())
        if result.version is None or result.mark is None:
            logger.info("tracker save dropped: conversation %s was deleted meanwhile", sender)
            self._cache.evict(sender)
            return
        setattr(tracker, _MARK, result.mark)
        if result.version.event_count - len(tracker.events) == result.version.session_start_seq:
            self._cache.put(sender, result.version, tracker)
        else:  # the tracker spans more than the latest session: rebuild on the next retrieve
            self._cache.evict(sender)
        if self.event_broker is not None and result.written:
            await self._stream_new_events(self.event_broker, result.written, sender)
        logger.debug("tracker %s: %d event(s) appended", sender, len(result.written))

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the latest session (events from the last session_started on)."""
        return self._retrieve(sender_id, full=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """The tracker with every stored event across sessions."""
        return self._retrieve(conversation_id, full=True)

    async def keys(self) -> Iterable[str]:
        return repository.list_senders(self.engine)

    async def exists(self, conversation_id: str) -> bool:
        with storage_errors(), self.engine.connect() as conn:
            if repository.read_version(conn, conversation_id) is None:
                return False
        try:
            self._keys.get(conversation_id)
        except SubjectErased:
            return False
        return True

    async def delete(self, sender_id: str) -> bool:
        """Delete the conversation (not in Rasa's interface; erasure and retention use it)."""
        self._cache.evict(sender_id)
        return delete_conversation(self.engine, sender_id)

    # --- internals --------------------------------------------------------------------------

    def _retrieve(self, sender: str, *, full: bool) -> DialogueStateTracker | None:
        with storage_errors(), self.engine.connect() as conn:
            version = repository.read_version(conn, sender)
            if version is None:
                self._cache.evict(sender)
                return None
            try:
                key = self._keys.get(sender)
            except SubjectErased:
                self._cache.evict(sender)
                return None
            if full:
                tracker = self._rebuild(conn, key, sender, version, 0)
            else:
                tracker = self._session_tracker(conn, key, sender, version)
        if tracker is None:
            return None
        first = 0 if full else version.session_start_seq
        mark = Mark(
            version.generation, len(tracker.events), version.event_count, version.session_start_seq
        )
        setattr(tracker, _MARK, mark)
        if not full:
            self._cache.put(sender, version, tracker)
        logger.debug("tracker %s: retrieved from seq %d", sender, first)
        return tracker

    def _session_tracker(
        self, conn: Any, key: bytes, sender: str, version: Version
    ) -> DialogueStateTracker | None:
        entry = self._cache.get(sender)
        if entry is not None and entry.version == version:
            return clone_tracker(entry.tracker)
        cached = entry.version if entry is not None else None
        if (
            entry is not None
            and cached is not None
            and cached.generation == version.generation
            and cached.session_start_seq == version.session_start_seq
            and cached.event_count < version.event_count
        ):
            events = self._events(conn, key, sender, version, cached.event_count)
            if events is None:
                return None
            tracker = clone_tracker(entry.tracker)
            for event in events:
                tracker.update(event)
            return tracker
        return self._rebuild(conn, key, sender, version, version.session_start_seq)

    def _rebuild(
        self, conn: Any, key: bytes, sender: str, version: Version, from_seq: int
    ) -> DialogueStateTracker | None:
        rows = repository.read_rows(conn, sender, from_seq, version.event_count)
        if len(rows) != version.event_count - from_seq:
            return None  # deleted while we read
        dicts = [self._open_row(key, sender, version.generation, row) for row in rows]
        return DialogueStateTracker.from_dict(
            sender, dicts, self.domain.slots, max_event_history=self.max_event_history
        )

    def _events(
        self, conn: Any, key: bytes, sender: str, version: Version, from_seq: int
    ) -> list[Event] | None:
        rows = repository.read_rows(conn, sender, from_seq, version.event_count)
        if len(rows) != version.event_count - from_seq:
            return None
        dicts = [self._open_row(key, sender, version.generation, row) for row in rows]
        return [e for e in (Event.from_parameters(d) for d in dicts) if e is not None]

    def _open_row(self, key: bytes, sender: str, generation: str, row: Any) -> dict[str, Any]:
        return open_event(self._cipher, key, sender, generation, row.seq, row.clear, row.sealed)

    def _seal_row(
        self, key: bytes, sender: str, generation: str, seq: int, event: dict[str, Any]
    ) -> dict[str, Any]:
        return seal_event(self._cipher, key, sender, generation, seq, event)


def _default_cipher() -> Cipher:
    from compliance.crypto import envelope

    return envelope  # type: ignore[return-value]


def _default_subject_keys(engine: Engine, key_file: str | None) -> SubjectKeys:
    from compliance.identity import SubjectKeyStore
    from compliance.keys import load_keyring

    keyring = load_keyring(key_file) if key_file else load_keyring()
    return SubjectKeyStore(engine, keyring)
