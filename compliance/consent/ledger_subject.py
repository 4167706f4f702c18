"""The ledger's per-subject facts for the channel: the 24-hour window, the single opt-out
confirmation, and the send guard's inputs read in one query.

Split from ledger.py (one concern a file); ConsentLedger inherits these methods, which rely on
its engine, purposes, window and clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from compliance.consent import transitions
from compliance.consent.model import ConsentState
from compliance.consent.tables import consent_state
from compliance.consent.window import is_window_open
from compliance.storage.direct import Direct


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; everything we store is UTC.
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


# Run on every turn: built once (building one costs more than running it on SQLite) and run on
# the driver's cursor (compliance/storage/direct.py).
_REFRESH_WINDOW = Direct(
    consent_state.update()
    .where(consent_state.c.subject == sa.bindparam("s_subject"))
    .values(last_inbound_at=sa.bindparam("s_at"))
)
_SUBJECT_ROWS = Direct(
    sa.select(consent_state).where(consent_state.c.subject == sa.bindparam("s_subject"))
)
# A sender's first turn creates their rows inside the turn start's transaction, which holds
# SQLite's write lock: built once too.
_SUBJECT_PURPOSES = Direct(
    sa.select(consent_state.c.purpose).where(consent_state.c.subject == sa.bindparam("s_subject"))
)
_NEW_ROWS = Direct(consent_state.insert())


@dataclass(frozen=True)
class SendContext:
    """What the send guard needs to know about one subject, read in one query."""

    state_by_purpose: dict[str, ConsentState]
    opted_out: bool
    opt_out_confirmation_sent: bool
    window_open: bool
    # Confirmed under an older privacy notice: not consent for the current one (send_guard).
    outdated_purposes: frozenset[str] = frozenset()


class SubjectFacts:
    """Per-subject facts; mixed into ConsentLedger."""

    # -- per-subject facts for the channel --------------------------------------------------

    def record_inbound(self, subject: str, at: datetime | None = None) -> None:
        """An inbound message opened or refreshed the 24-hour window."""
        with self._engine.begin() as conn:
            self.record_inbound_on(conn, subject, at)

    def record_inbound_on(self, conn: Connection, subject: str, at: datetime | None = None) -> bool:
        """record_inbound in the caller's transaction (the gate's, with the audit entry)."""
        at = _utc(at) or self._clock()
        params = {"s_subject": subject, "s_at": at}
        # One statement for a known subject (every purpose has its row); the rows of a
        # newcomer are created first.
        if _REFRESH_WINDOW.execute(conn, params).rowcount < len(self.purposes):
            self._ensure_rows(conn, subject, at)
            _REFRESH_WINDOW.execute(conn, params)
        return True

    def record_window_closed(self, subject: str) -> None:
        """Meta answered 131047 (outside the window): no free-form until the next inbound."""
        self._update_subject(subject, last_inbound_at=None)

    def mark_opt_out_confirmation_sent(self, subject: str, at: datetime | None = None) -> None:
        """The single opt-out confirmation went out; nothing else will, until a new opt-in."""
        self._update_subject(subject, opt_out_confirmation_sent_at=_utc(at) or self._clock())

    def send_context(self, subject: str, now: datetime | None = None) -> SendContext:
        """The send guard's inputs for `subject` (see send_guard.may_send)."""
        now = _utc(now) or self._clock()
        rows = _SUBJECT_ROWS.read(self._engine, {"s_subject": subject}).all()
        states = {p: ConsentState.NONE for p in self.purposes}
        states.update({r.purpose: ConsentState(r.state) for r in rows})
        last_inbound = max(
            (_utc(r.last_inbound_at) for r in rows if r.last_inbound_at), default=None
        )
        return SendContext(
            state_by_purpose=states,
            opted_out=transitions.is_opted_out(states),
            opt_out_confirmation_sent=any(r.opt_out_confirmation_sent_at for r in rows),
            window_open=is_window_open(last_inbound, now, self.window),
            outdated_purposes=frozenset(
                r.purpose
                for r in rows
                if transitions.is_outdated(
                    ConsentState(r.state), r.notice_version, self.notice_version
                )
            ),
        )

    def _ensure_rows(self, conn: Connection, subject: str, at: datetime) -> None:
        existing = set(_SUBJECT_PURPOSES.execute(conn, {"s_subject": subject}).scalars())
        missing = [
            {"subject": subject, "purpose": purpose, "state": ConsentState.NONE.value,
             "updated_at": at}
            for purpose in self.purposes
            if purpose not in existing
        ]
        if missing:
            _NEW_ROWS.execute(conn, missing)

    def _update_subject(self, subject: str, **values) -> None:  # noqa: ANN003
        with self._engine.begin() as conn:
            conn.execute(
                consent_state.update().where(consent_state.c.subject == subject).values(**values)
            )
