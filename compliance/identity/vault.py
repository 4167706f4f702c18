"""IdentityVault: pseudonym -> identifier, sealed under the subject's own data key.

The vault is the only place a phone number or BSUID rests, and only as ciphertext (invariant 1):
sealed with SubjectKeyStore.seal_for(pseudonym, "identifier", ...), so the AAD binds it to its
pseudonym and field, and erasing the subject's key makes it unreadable. The pseudonym itself is a
keyed HMAC, so the table holds nothing an attacker without the key file can reverse.

Aliasing (see linking.py): register() records each identifier under its own pseudonym; link()
joins two groups under the first-seen root; canonical() is what conversations are keyed on;
resolve() gives the identifier replies go to. erase() shreds every key of the person's group and
deletes the rows; resolve() then raises SubjectErased.

Known limit: if a recycled phone number was the root of a group, a new owner of that number
pseudonymizes to the same root; that case needs a human (the rights workflow), not a guess here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from compliance.crypto import envelope
from compliance.errors import SubjectErased
from compliance.identity import linking
from compliance.identity.normalize import PHONE, kind_of, normalize_identifier
from compliance.identity.pseudonym import pseudonymize
from compliance.identity.subject_keys import SubjectKeyStore, UnknownSubject
from compliance.storage.direct import Direct
from compliance.storage.tables_identity import identities
from compliance.storage.upsert import insert_ignore

IDENTIFIER_FIELD = "identifier"
_t = identities.c
# The reads on every turn's path, built once and run on an idle driver connection (see
# compliance/storage/direct.py and read_connections.py for why).
_ROW = Direct(sa.select(identities).where(_t.pseudonym == sa.bindparam("pseudonym")))
_GROUP = Direct(
    sa.select(identities)
    .where(sa.or_(_t.pseudonym == sa.bindparam("root"), _t.canonical == sa.bindparam("root")))
    .order_by(_t.pseudonym)
)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class IdentityVault:
    """Pseudonym <-> identifier over SQLAlchemy, with phone/BSUID aliasing."""

    def __init__(
        self, engine: Engine, keys: SubjectKeyStore, *, now: Callable[[], datetime] = _utcnow
    ) -> None:
        self._engine = engine
        self._keys = keys
        self._now = now

    def __repr__(self) -> str:
        return "IdentityVault()"

    def pseudonym_of(self, kind: str, value: str) -> str:
        """The pseudonym `value` would get, without recording anything."""
        return pseudonymize(normalize_identifier(kind, value), self._keys.keyring.pseudonym_key)

    def register(self, kind: str, value: str) -> str:
        """Record the identifier (idempotent) and return its own pseudonym; ConfigError if the
        value is not a valid `kind`. Key conversations on canonical(result)."""
        return self._register(kind, value)[0]

    def admit(self, kind: str, value: str) -> str:
        """register() then canonical(), in one read when the identifier is already recorded
        (every message of a known sender: the webhook's hot path)."""
        pseudonym, row = self._register(kind, value)
        if row is not None:
            return row.canonical or pseudonym
        return self.canonical(pseudonym)

    def _register(self, kind: str, value: str) -> tuple[str, sa.engine.Row | None]:
        """(own pseudonym, its row when it was already current and nothing was written)."""
        identifier = normalize_identifier(kind, value)
        pseudonym = pseudonymize(identifier, self._keys.keyring.pseudonym_key)
        data_key = self._keys.current(pseudonym, create=True)
        row = self._row(pseudonym)
        if (
            row is not None and row.released_at is None and row.sealed_identifier is not None
            and envelope.token_key_version(row.sealed_identifier) == data_key.generation
        ):
            return pseudonym, row
        now = self._now()
        if row is not None and row.released_at is not None and not self._has_aliases(pseudonym):
            # A number its owner left now writes again: a new person. Shred what the old owner's
            # key sealed, and start the newcomer as a group of their own.
            self._keys.destroy(pseudonym)
        sealed = self._keys.seal_for(pseudonym, IDENTIFIER_FIELD, identifier.encode("utf-8"))
        with self._engine.begin() as connection:
            if row is None:
                inserted = insert_ignore(connection, identities, {
                    "pseudonym": pseudonym, "kind": kind_of(identifier),
                    "sealed_identifier": sealed, "canonical": None, "released_at": None,
                    "created_at": now, "updated_at": now,
                })
                if inserted is not None:
                    return pseudonym, None
            values: dict[str, object] = {"sealed_identifier": sealed, "updated_at": now}
            if row is not None and row.released_at is not None and not self._has_aliases(
                pseudonym
            ):
                values.update(canonical=None, released_at=None)
            connection.execute(
                sa.update(identities).where(_t.pseudonym == pseudonym).values(**values)
            )
        return pseudonym, None

    def canonical(self, pseudonym: str) -> str:
        """The root pseudonym of the person; SubjectErased / UnknownSubject if none."""
        row = self._row(pseudonym)
        if row is None:
            self._raise_missing(pseudonym)
        return row.canonical or pseudonym

    def resolve(self, pseudonym: str) -> tuple[str, str]:
        """(kind, identifier) that replies to this person go to."""
        # One read when `pseudonym` is its group's root, as the channel's subjects are.
        rows = self._group_rows(pseudonym)
        own = next((r for r in rows if r.pseudonym == pseudonym), None)
        if own is None:
            self._raise_missing(pseudonym)
        root = own.canonical or pseudonym
        if root != pseudonym:
            rows = self._group_rows(root)
        members = _as_members(rows)
        contact = linking.contact_of(root, (m for m, _ in members))
        if contact is None:
            raise UnknownSubject("no contactable identifier for this subject")
        sealed = dict((m.pseudonym, s) for m, s in members)[contact.pseudonym]
        if sealed is None:
            raise SubjectErased("the subject's identifier was erased")
        value = self._keys.open_for(contact.pseudonym, IDENTIFIER_FIELD, sealed)
        return contact.kind, value.decode("utf-8")

    def identifiers(self, pseudonym: str) -> list[tuple[str, str]]:
        """Every readable identifier of the person (for an access request)."""
        found = []
        for member, sealed in self._members(self.canonical(pseudonym)):
            if sealed is not None:
                value = self._keys.open_for(member.pseudonym, IDENTIFIER_FIELD, sealed)
                found.append((member.kind, value.decode("utf-8")))
        return found

    def members(self, pseudonym: str) -> list[str]:
        return [m.pseudonym for m, _ in self._members(self.canonical(pseudonym))]

    def link(self, pseudonym_a: str, pseudonym_b: str) -> str:
        """Join the groups of two registered pseudonyms; returns the root (first seen)."""
        root_a, root_b = self.canonical(pseudonym_a), self.canonical(pseudonym_b)
        if root_a == root_b:
            return root_a
        a, b = self._member(root_a), self._member(root_b)
        winner = linking.choose_canonical(a, b)
        loser = root_b if winner == root_a else root_a
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(identities)
                .where(sa.or_(_t.pseudonym == loser, _t.canonical == loser))
                .values(canonical=winner, updated_at=self._now())
            )
        return winner

    def relink_number_change(self, old_phone_pseudonym: str, new_phone: str) -> str:
        """The person of `old_phone_pseudonym` now writes from `new_phone`: the new number joins
        their group and becomes the contact; the old number is released. Returns the new
        number's pseudonym."""
        root = self.canonical(old_phone_pseudonym)
        new = self.register(PHONE, new_phone)
        now = self._now()
        with self._engine.begin() as connection:
            if new != root:
                # Whatever hung off the new number belonged to its previous holder: detach it.
                connection.execute(
                    sa.update(identities).where(_t.canonical == new)
                    .values(canonical=None, updated_at=now)
                )
                connection.execute(
                    sa.update(identities).where(_t.pseudonym == new)
                    .values(canonical=root, released_at=None, updated_at=now)
                )
            if old_phone_pseudonym != new:
                connection.execute(
                    sa.update(identities).where(_t.pseudonym == old_phone_pseudonym)
                    .values(released_at=now, updated_at=now)
                )
        return new

    def erase(self, pseudonym: str) -> list[str]:
        """Crypto-shred every key of the person's group and delete its rows; returns the erased
        pseudonyms (already erased: []). Backups need compliance.identity.complete_erasure."""
        try:
            group = self.members(pseudonym)
        except SubjectErased:
            return []
        for member in group:
            self._keys.destroy(member)
        with self._engine.begin() as connection:
            connection.execute(sa.delete(identities).where(_t.pseudonym.in_(group)))
        return group

    # --- internals ---------------------------------------------------------------------------

    def _row(self, pseudonym: str) -> sa.engine.Row | None:
        return _ROW.read(self._engine, {"pseudonym": pseudonym}).first()

    def _raise_missing(self, pseudonym: str) -> None:
        if self._keys.is_erased(pseudonym):
            raise SubjectErased("the subject was erased")
        raise UnknownSubject("no identity recorded for this pseudonym")

    def _has_aliases(self, pseudonym: str) -> bool:
        with self._engine.connect() as connection:
            return connection.execute(
                sa.select(_t.pseudonym).where(_t.canonical == pseudonym).limit(1)
            ).first() is not None

    def _member(self, pseudonym: str) -> linking.Member:
        return next(m for m, _ in self._members(pseudonym) if m.pseudonym == pseudonym)

    def _members(self, root: str) -> list[tuple[linking.Member, bytes | None]]:
        return _as_members(self._group_rows(root))

    def _group_rows(self, root: str) -> list[sa.engine.Row]:
        return _GROUP.read(self._engine, {"root": root}).all()


def _as_members(rows: list[sa.engine.Row]) -> list[tuple[linking.Member, bytes | None]]:
    return [
        (linking.Member(r.pseudonym, r.kind, r.created_at, r.updated_at,
                        r.released_at is not None), r.sealed_identifier)
        for r in rows
    ]
