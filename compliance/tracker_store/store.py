"""EncryptedTrackerStore: a Rasa 3.6 TrackerStore that never writes personal content in clear.

endpoints.yml:

    tracker_store:
      type: compliance.tracker_store.EncryptedTrackerStore
      url: ${SIGILLO_DATABASE_URL}   # optional; default compliance.storage.default_database_url()
      key_file: ${SIGILLO_KEY_FILE}  # optional; default: the keyring's own lookup
      retention_days: 30             # optional; used by `python -m compliance retention run`

Built so, the store takes this process's engine, subject keys and audit log for that database
and keyring (compliance.context.shared_storage): on the compliance database, the very ones the
channel and ConsentPolicy use, not a second pool and a second audit writer on the same file.
Each event is split by event_codec into lookup fields (clear) and personal content, sealed under
the subject's data key (AAD: sender, generation, seq). A save that adds bot actions appends the
events and the actions' `bot_action` audit entries in one transaction of the audit log (one
durable commit: both or neither). Unlike Rasa's SQLTrackerStore, a save
appends only the events the tracker gained since the store handed it out, and a retrieve reuses
the tracker the store last saw when the database says nothing changed, so a turn costs the same
at event 10 and at event 200. A subject whose data key was destroyed has no conversation any
more: retrieve returns None and a save is dropped. A database outage raises StorageUnavailable.
I/O is synchronous inside the async methods, as in Rasa's own SQL store: queries are short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine

from compliance.audit.entries import NewEntry
from compliance.errors import ConfigError, SubjectErased
from compliance.identity.pseudonym import is_pseudonym
from compliance.storage.guard import storage_errors
from compliance.tracker_store import repository, turn_writes
from compliance.tracker_store.cache import TrackerCache, Version, clone_tracker
from compliance.tracker_store.config import StoreConfig, parse_config
from compliance.tracker_store.repository import Appended, Mark, RowSealer
from compliance.tracker_store.retention import delete_conversation
from compliance.tracker_store.sealing import SubjectKeys, open_event, seal_event

if TYPE_CHECKING:
    from compliance.audit import AuditLog

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
        audit: AuditLog | None = None,
        clock: Callable[[], datetime] = _utcnow,
        **options: Any,
    ) -> None:
        """Rasa passes host=<url>, domain, event_broker and the other endpoints.yml keys;
        tests and tools may inject engine, subject_keys, the audit log (on the same database:
        a save and its audit entries share a transaction) and clock instead."""
        self.config: StoreConfig = parse_config(host, options)
        if engine is None:
            # Built by Rasa from endpoints.yml: the process's shared engine, keys and audit log
            # for this database (compliance.context), so that on the compliance database the
            # store's bot-action entries queue on the same writer as the channel's, and every
            # bot action goes into the audit log.
            from compliance.context import shared_storage

            with storage_errors():
                shared = shared_storage(self.config.url, self.config.key_file)
            engine = shared.engine
            audit = audit or shared.audit
            subject_keys = subject_keys or shared.keys
        if audit is not None and audit.engine.url != engine.url:
            raise ConfigError("the tracker store's audit log must be on the store's database")
        self.engine = engine
        self._database = str(engine.url)  # what turn_writes keys on (the inbox's, the same way)
        self._audit = audit
        self._keys = subject_keys or _default_subject_keys(engine, self.config.key_file)
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
        with storage_errors():
            # Outside our transaction: creating a key writes, and SQLite allows one writer.
            self._keys.get_or_create(sender)
        seal = partial(seal_event, self._keys, sender)
        events, now = tracker.events, self._clock()
        unsaved = _unsaved(events, mark)
        presealed = repository.preseal(unsaved, mark, seal) if mark is not None else None
        writes = turn_writes.pending(self._database, _message_ids(unsaved))
        if self._audit is not None and (writes or _any_bot_action(unsaved)):
            result = self._append_audited(sender, events, mark, seal, now, writes, presealed)
            turn_writes.settle(self._database, writes)
        else:  # nothing to audit: the store's own transaction, no audit commit
            result = repository.append(self.engine, sender, events, mark, seal, now, presealed)
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
        return self._key_usable(conversation_id)

    async def delete(self, sender_id: str) -> bool:
        """Delete the conversation (not in Rasa's interface; erasure and retention use it)."""
        self._cache.evict(sender_id)
        return delete_conversation(self.engine, sender_id)

    # --- internals --------------------------------------------------------------------------

    def _append_audited(
        self,
        sender: str,
        events: Sequence[Event],
        mark: Mark | None,
        seal: RowSealer,
        now: datetime,
        writes: dict[str, turn_writes.Write],
        presealed: list[dict[str, Any]] | None,
    ) -> Appended:
        """repository.append in the audit log's transaction, with one `bot_action` entry per
        action written and the turn writes registered for the messages saved (turn_writes.py):
        the events, their entries and those writes commit together or not at all."""
        audit = self._audit
        assert audit is not None
        outcome: list[Appended] = []

        def change(conn: Any) -> list[NewEntry]:
            result = repository.append_on(conn, sender, events, mark, seal, now, presealed)
            outcome[:] = [result]  # the last run is the one that committed
            for write in writes.values():
                write(conn)
            return _action_entries(sender, result.written)

        def attempt() -> Appended:
            # A turn with a write to run (the WhatsApp channel's: its inbox row) is replayed
            # from that durable row if a power failure loses this commit: no need to wait for
            # the disk. Any other save is the only record of its turn (compliance/storage/
            # durability.py).
            audit.append_derived(change, durable=not writes)
            return outcome[0]

        return repository.retry_conflicts(attempt)

    def _retrieve(self, sender: str, *, full: bool) -> DialogueStateTracker | None:
        with storage_errors(), self.engine.connect() as conn:
            version = repository.read_version(conn, sender)
            if version is None:
                self._cache.evict(sender)
                return None
            state = self._key_state(sender)
            if state != "usable":
                self._cache.evict(sender)
                if state == "erased":
                    self._forget(sender)
                return None
            shredded = False
            try:
                if full:
                    tracker = self._rebuild(conn, sender, version, 0)
                else:
                    tracker = self._session_tracker(conn, sender, version)
            except SubjectErased:  # sealed under a data key (generation) that was destroyed
                tracker, shredded = None, True
        if tracker is None:  # or deleted while we read
            self._cache.evict(sender)
            if shredded:
                self._forget(sender)
            return None
        mark = Mark(
            version.generation, len(tracker.events), version.event_count, version.session_start_seq
        )
        setattr(tracker, _MARK, mark)
        if not full:
            self._cache.put(sender, version, tracker)
        return tracker

    def _key_usable(self, sender: str) -> bool:
        return self._key_state(sender) == "usable"

    def _key_state(self, sender: str) -> str:
        """usable, erased (destroyed: crypto-shredded) or missing (never made)."""
        try:
            with storage_errors():
                self._keys.get(sender)
        except SubjectErased:
            return "erased"
        except LookupError:  # no key was ever made: the rows cannot be read either
            logger.warning("tracker %s has events but no data key", sender)
            return "missing"
        return "usable"

    def _forget(self, sender: str) -> None:
        # Rows sealed under a destroyed key are noise: removing them lets the next message start
        # a clean conversation instead of tripping over them on every retrieve.
        logger.info("tracker %s: data key destroyed, conversation removed", sender)
        delete_conversation(self.engine, sender)

    def _session_tracker(
        self, conn: Any, sender: str, version: Version
    ) -> DialogueStateTracker | None:
        entry = self._cache.get(sender)
        if entry is not None and entry.version == version:
            return clone_tracker(entry.tracker)
        if (
            entry is not None
            and entry.version.generation == version.generation
            and entry.version.session_start_seq == version.session_start_seq
            and entry.version.event_count < version.event_count
        ):
            dicts = self._read(conn, sender, version, entry.version.event_count)
            if dicts is None:
                return None
            tracker = clone_tracker(entry.tracker)
            for event in (Event.from_parameters(d) for d in dicts):
                if event is not None:
                    tracker.update(event)
            return tracker
        return self._rebuild(conn, sender, version, version.session_start_seq)

    def _rebuild(
        self, conn: Any, sender: str, version: Version, from_seq: int
    ) -> DialogueStateTracker | None:
        dicts = self._read(conn, sender, version, from_seq)
        if dicts is None:
            return None
        return DialogueStateTracker.from_dict(
            sender, dicts, self.domain.slots, max_event_history=self.max_event_history
        )

    def _read(
        self, conn: Any, sender: str, version: Version, from_seq: int
    ) -> list[dict[str, Any]] | None:
        rows = repository.read_rows(conn, sender, from_seq, version.event_count)
        if len(rows) != version.event_count - from_seq:
            return None  # deleted while we read
        return [
            open_event(self._keys, sender, version.generation, r.seq, r.clear_fields, r.sealed)
            for r in rows
        ]


def _unsaved(events: Sequence[Event], mark: Mark | None) -> Sequence[Event]:
    """Every event a save may write: those after the mark, or all of them without one (the
    slow path then writes a suffix)."""
    return repository.unsaved(events, mark.synced) if mark is not None else events


def _message_ids(events: Iterable[Event]) -> list[str | None]:
    return [event.message_id for event in events if isinstance(event, UserUttered)]


def _is_bot_action(event: Event) -> bool:
    return isinstance(event, ActionExecuted) and event.action_name != "action_listen"


def _any_bot_action(events: Iterable[Event]) -> bool:
    return any(_is_bot_action(event) for event in events)


def _action_entries(sender: str, events: Iterable[Event]) -> list[NewEntry]:
    """One `bot_action` audit entry per action the bot ran (names only, never content), with
    `in_reply_to`: the id of the user message the action answered (the WhatsApp channel's is the
    keyed hash its `inbound_message` entry holds), so that an auditor ties each action to its
    message without relying on the order of the log. A sender id that is not a pseudonym (`rasa
    shell`, a channel that passes raw ids) is never written to the log: such entries carry no
    subject and no message id."""
    subject = sender if is_pseudonym(sender) else None
    entries = []
    in_reply_to = None
    for event in events:
        if isinstance(event, UserUttered):
            in_reply_to = event.message_id
        elif _is_bot_action(event):
            attributes = {"action": event.action_name, "policy": event.policy}
            if subject is not None and in_reply_to is not None:
                attributes["in_reply_to"] = in_reply_to
            entries.append(
                NewEntry(
                    component="rasa", kind="bot_action", subject=subject, attributes=attributes
                )
            )
    return entries


def _default_subject_keys(engine: Engine, key_file: str | None) -> SubjectKeys:
    from compliance.identity.subject_keys import SubjectKeyStore
    from compliance.keys.keyfile import load_keyring

    # A callable, so the key store can re-read the key file after a KEK rotation elsewhere.
    return SubjectKeyStore(engine, lambda: load_keyring(key_file))
