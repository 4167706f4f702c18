"""The consent ledger: current consent per (subject, purpose) and a receipt for every change.

Each change writes the new state and its receipt in ONE transaction, guarded by a compare-and-set
on the previous state, so two processes (the Rasa server's channel and the action server) cannot
both move the same record from the same state; the loser gets ConsentError and may retry.
After the commit the audit hook receives the receipt as a dict holding the pseudonym and keyed
hashes only. Receipts are kept after erasure: they hold no identifier in clear and are the
controller's evidence of lawful processing (GDPR art. 7(1), art. 17(3)(b)).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from compliance.consent import transitions
from compliance.consent.ledger_subject import SubjectFacts, _utc, _utcnow
from compliance.consent.model import (
    ConsentEvent,
    ConsentReceipt,
    ConsentRecord,
    ConsentState,
    EventType,
    Method,
)
from compliance.consent.tables import consent_receipts, consent_state
from compliance.consent.window import CUSTOMER_SERVICE_WINDOW
from compliance.errors import ConfigError, ConsentError

AuditHook = Callable[[dict], None]
_EVIDENCE_DOMAIN = b"sigillo/consent-evidence/v1\x00"


class ConsentLedger(SubjectFacts):
    """Consent state and receipts in the compliance database (tables of migration 0003_consent)."""

    def __init__(
        self,
        engine: Engine,
        hash_key: bytes,
        audit_hook: AuditHook | None = None,
        *,
        purposes: Iterable[str] = ("service", "marketing"),
        notice_version: str | None = None,
        pending_expiry: timedelta = timedelta(hours=72),
        window: timedelta = CUSTOMER_SERVICE_WINDOW,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not isinstance(hash_key, bytes) or len(hash_key) < 16:
            raise ConfigError("ConsentLedger.hash_key: must be at least 16 bytes")
        self._engine = engine
        self._hash_key = hash_key
        self._audit_hook = audit_hook
        self.purposes = tuple(purposes)
        self.notice_version = notice_version
        self.pending_expiry = pending_expiry
        self.window = window
        self._clock = clock

    @classmethod
    def from_settings(cls, engine: Engine, hash_key: bytes, settings, audit_hook=None):  # noqa: ANN001, ANN206
        """A ledger configured from bot/compliance.yml (ComplianceSettings)."""
        return cls(
            engine,
            hash_key,
            audit_hook,
            purposes=tuple(settings.purposes),
            notice_version=settings.notice_version,
            pending_expiry=settings.pending_expiry,
            window=settings.window,
        )

    def evidence_hash(self, evidence_id: str) -> str:
        """Keyed hash of a message or submission id: proves the event without storing the id."""
        message = _EVIDENCE_DOMAIN + evidence_id.encode("utf-8")
        mac = hmac.new(self._hash_key, message, hashlib.sha256)
        return mac.hexdigest()

    # -- changes ---------------------------------------------------------------------------

    def apply(
        self,
        subject: str,
        purpose: str,
        event: EventType | str,
        *,
        at: datetime | None = None,
        method: Method | str = Method.CHAT,
        notice_version: str | None = None,
        evidence_id: str | None = None,
    ) -> ConsentReceipt:
        """Apply one event to one purpose; ConsentError if the state machine forbids it."""
        return self.apply_many(
            subject,
            [purpose],
            event,
            at=at,
            method=method,
            notice_version=notice_version,
            evidence_id=evidence_id,
        )[0]

    def apply_many(
        self,
        subject: str,
        purposes: Iterable[str],
        event: EventType | str,
        *,
        at: datetime | None = None,
        method: Method | str = Method.CHAT,
        notice_version: str | None = None,
        evidence_id: str | None = None,
        skip_disallowed: bool = False,
    ) -> list[ConsentReceipt]:
        """Apply one event to several purposes in one transaction (all or nothing).

        skip_disallowed: leave purposes where the move is not legal (STOP on a purpose already
        withdrawn) instead of raising.
        """
        ev = ConsentEvent(
            type=EventType(event),
            at=_utc(at) or self._clock(),
            method=Method(method),
            notice_version=notice_version,
            evidence_hash=self.evidence_hash(evidence_id) if evidence_id else None,
        )
        wanted = [self._check_purpose(p) for p in purposes]
        for attempt in (1, 2):
            try:
                receipts = self._apply_in_transaction(subject, wanted, ev, skip_disallowed)
                break
            except IntegrityError as exc:
                # A row for this subject was created concurrently (record_inbound, or another
                # process): the transaction was rolled back, so read again and retry once.
                if attempt == 2:
                    raise ConsentError("consent state changed concurrently; retry") from exc
        self._audit(receipts)
        return [r for _, r in receipts]

    def _apply_in_transaction(
        self, subject: str, purposes: list[str], ev: ConsentEvent, skip_disallowed: bool
    ) -> list[tuple[int, ConsentReceipt]]:
        receipts: list[tuple[int, ConsentReceipt]] = []
        with self._engine.begin() as conn:
            records = self._records(conn, subject)
            for purpose in purposes:
                record = records[purpose]
                if skip_disallowed and not transitions.allowed(record.state, ev.type):
                    continue
                new, receipt = transitions.apply(record, ev, pending_expiry=self.pending_expiry)
                receipts.append((self._store(conn, record, new, receipt), receipt))
        return receipts

    def withdraw(
        self, subject: str, purposes: Iterable[str] | None = None, **kwargs
    ) -> list[ConsentReceipt]:  # noqa: ANN003, E501
        """Opt-out: withdraw `purposes` (all when None); purposes already withdrawn are left."""
        chosen = self.purposes if purposes is None else tuple(purposes)
        return self.apply_many(subject, chosen, EventType.WITHDRAWN, skip_disallowed=True, **kwargs)

    def record_external_optin(
        self,
        phone_pseudonym: str,
        purposes: Iterable[str],
        method: Method | str = Method.WEB_FORM,
        *,
        at: datetime | None = None,
        notice_version: str | None = None,
        evidence_id: str | None = None,
    ) -> list[ConsentReceipt]:
        """First step of a double opt-in made outside the chat (checkbox on the shop's site).

        The subject is left awaiting_confirmation; the channel then sends the configured
        confirmation template, and the user's tap (a `confirmed` event) completes it.
        """
        version = notice_version or self.notice_version
        if not version:
            raise ConfigError("record_external_optin: notice_version is required")
        return self.apply_many(
            phone_pseudonym,
            purposes,
            EventType.EXTERNAL_FIRST_OPTIN,
            at=at,
            method=method,
            notice_version=version,
            evidence_id=evidence_id,
        )

    def expire_pending(self, now: datetime | None = None) -> list[ConsentReceipt]:
        """Expire every first opt-in that waited longer than pending_expiry for confirmation.

        The one sweep: `python -m compliance consent expire` and the channel's periodic
        housekeeping (compliance/gate.py) both call it. Safe to run on several instances at
        once: each expiry is a compare-and-set on `awaiting_confirmation`, so a record another
        sweep (or a late tap) moved first is skipped, and it gets one receipt and one audit
        entry, never two. Database errors propagate: the caller retries on its next run.
        """
        now = _utc(now) or self._clock()
        cutoff = now - self.pending_expiry
        query = sa.select(consent_state.c.subject, consent_state.c.purpose).where(
            consent_state.c.state == ConsentState.AWAITING_CONFIRMATION.value,
            consent_state.c.pending_since <= cutoff,
        )
        with self._engine.connect() as conn:
            due = conn.execute(query).all()
        receipts = []
        for subject, purpose in due:
            try:
                receipts.append(
                    self.apply(subject, purpose, EventType.EXPIRE, at=now, method=Method.SYSTEM)
                )
            except ConsentError:
                continue  # confirmed or changed meanwhile: nothing to expire
        return receipts

    def mark_erased(self, subject: str, at: datetime | None = None) -> list[ConsentReceipt]:
        """Erasure: every purpose becomes erased and the window is closed; receipts stay."""
        receipts = self.apply_many(
            subject,
            self.purposes,
            EventType.ERASED,
            at=at,
            method=Method.RIGHTS_REQUEST,
            skip_disallowed=True,
        )
        self._update_subject(subject, last_inbound_at=None, opt_out_confirmation_sent_at=None)
        return receipts

    # -- reads -------------------------------------------------------------------------------

    def records(self, subject: str) -> dict[str, ConsentRecord]:
        with self._engine.connect() as conn:
            return self._records(conn, subject)

    def state(self, subject: str) -> dict[str, ConsentState]:
        """Current state per configured purpose (none for a purpose never touched)."""
        return {p: r.state for p, r in self.records(subject).items()}

    def history(self, subject: str) -> list[ConsentReceipt]:
        """Every receipt of the subject, oldest first."""
        query = (
            sa.select(consent_receipts)
            .where(consent_receipts.c.subject == subject)
            .order_by(consent_receipts.c.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            ConsentReceipt(
                subject=row["subject"],
                purpose=row["purpose"],
                from_state=ConsentState(row["from_state"]),
                to_state=ConsentState(row["to_state"]),
                notice_version=row["notice_version"],
                method=Method(row["method"]),
                time=_utc(row["time"]),
                evidence_hash=row["evidence_hash"],
                event=EventType(row["event"]),
            )
            for row in rows
        ]

    # -- internals ---------------------------------------------------------------------------

    def _check_purpose(self, purpose: str) -> str:
        if purpose not in self.purposes:
            raise ConfigError(
                f"purpose: unknown purpose {purpose!r}; allowed: {', '.join(self.purposes)}"
            )
        return purpose

    def _records(self, conn: Connection, subject: str) -> dict[str, ConsentRecord]:
        rows = (
            conn.execute(sa.select(consent_state).where(consent_state.c.subject == subject))
            .mappings()
            .all()
        )
        out = {p: ConsentRecord(subject=subject, purpose=p) for p in self.purposes}
        for row in rows:
            out[row["purpose"]] = ConsentRecord(
                subject=subject,
                purpose=row["purpose"],
                state=ConsentState(row["state"]),
                notice_version=row["notice_version"],
                updated_at=_utc(row["updated_at"]),
                pending_since=_utc(row["pending_since"]),
            )
        return out

    def _store(
        self, conn: Connection, old: ConsentRecord, new: ConsentRecord, receipt: ConsentReceipt
    ) -> int:
        values = {
            "state": new.state.value,
            "notice_version": new.notice_version,
            "updated_at": new.updated_at,
            "pending_since": new.pending_since,
        }
        if new.state in (ConsentState.WITHDRAWN, ConsentState.ASKED):
            values["opt_out_confirmation_sent_at"] = None  # a new opt-out gets its confirmation
        key = (consent_state.c.subject == old.subject) & (consent_state.c.purpose == old.purpose)
        if old.updated_at is None:  # no row yet; a concurrent insert raises IntegrityError
            conn.execute(
                consent_state.insert().values(subject=old.subject, purpose=old.purpose, **values)
            )
        else:
            self._cas_update(conn, key, old, values)
        result = conn.execute(
            consent_receipts.insert().values(
                subject=receipt.subject,
                purpose=receipt.purpose,
                event=receipt.event.value,
                from_state=receipt.from_state.value,
                to_state=receipt.to_state.value,
                notice_version=receipt.notice_version,
                method=receipt.method.value,
                time=receipt.time,
                evidence_hash=receipt.evidence_hash,
            )
        )
        return int(result.inserted_primary_key[0])

    @staticmethod
    def _cas_update(conn: Connection, key, old: ConsentRecord, values: dict) -> None:  # noqa: ANN001
        result = conn.execute(
            consent_state.update()
            .where(key & (consent_state.c.state == old.state.value))
            .values(**values)
        )
        if result.rowcount != 1:
            raise ConsentError(
                f"consent state of purpose '{old.purpose}' changed concurrently; retry"
            )

    def _audit(self, receipts: list[tuple[int, ConsentReceipt]]) -> None:
        if self._audit_hook is None:
            return
        for receipt_id, receipt in receipts:
            entry = receipt.as_audit_dict()
            entry["receipt_id"] = receipt_id
            self._audit_hook(entry)
