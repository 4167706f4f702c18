"""Pure decisions about one person's several identifiers (phone, BSUID, a changed number).

A person may reach us by phone, by BSUID, or by both, and may change number. All their
identifiers form one group whose root (the "canonical" pseudonym) is the first one seen: it keys
the conversation, consent and data of the person, so it never changes once conversations exist.
Replies go to the group's contact identifier: the root unless its number was released (its owner
changed away from it), else the most recently updated unreleased identifier, phones first (a
phone works for templates and authentication; a BSUID does not everywhere).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from compliance.identity.normalize import PHONE


@dataclass(frozen=True)
class Member:
    pseudonym: str
    kind: str
    created_at: datetime
    updated_at: datetime
    released: bool


def choose_canonical(a: Member, b: Member) -> str:
    """The root of two merged groups: the first seen; the lower pseudonym breaks a tie."""
    return min((a.created_at, a.pseudonym), (b.created_at, b.pseudonym))[1]


def contact_of(root: str, members: Iterable[Member]) -> Member | None:
    """The member replies go to, or None if every identifier of the person was released."""
    live = [m for m in members if not m.released]
    for member in live:
        if member.pseudonym == root:
            return member
    if not live:
        return None
    return max(live, key=lambda m: (m.kind == PHONE, m.updated_at, m.pseudonym))
