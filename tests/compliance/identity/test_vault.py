"""IdentityVault on SQLite and PostgreSQL: register, resolve, aliasing, number change, erasure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from compliance.errors import ConfigError, SubjectErased
from compliance.identity import IdentityVault, UnknownSubject, is_pseudonym
from compliance.storage.tables_identity import identities, subject_keys

PHONE = "+393331234567"
PHONE_2 = "+393339876543"
BSUID = "IT.13491208655302741918"


def _all_bytes(engine: Engine) -> bytes:
    """Every value of every identity table, as bytes, to search for clear identifiers."""
    out = b""
    with engine.connect() as connection:
        for table in (identities, subject_keys):
            for row in connection.execute(sa.select(table)):
                for value in row:
                    out += value if isinstance(value, bytes) else str(value).encode()
    return out


def test_register_is_idempotent_and_stores_no_clear_identifier(vault, engine) -> None:
    p = vault.register("phone", "+39 333 123 4567")
    assert is_pseudonym(p) and vault.register("phone", "393331234567") == p
    assert vault.pseudonym_of("phone", PHONE) == p
    b = vault.register("bsuid", BSUID)
    assert b != p
    stored = _all_bytes(engine)
    for clear in (PHONE, PHONE[1:], "3331234567", BSUID, "13491208655302741918"):
        assert clear.encode() not in stored


def test_resolve_returns_kind_and_identifier(vault) -> None:
    assert vault.resolve(vault.register("phone", PHONE)) == ("phone", PHONE)
    assert vault.resolve(vault.register("bsuid", BSUID)) == ("bsuid", BSUID)


def test_resolve_unknown(vault) -> None:
    with pytest.raises(UnknownSubject):
        vault.resolve("wa_" + "z" * 32)


def test_register_rejects_bad_value_and_writes_nothing(vault, engine) -> None:
    with pytest.raises(ConfigError, match="identifier.phone"):
        vault.register("phone", "12")
    assert _all_bytes(engine) == b""


def test_link_keeps_first_seen_as_canonical(vault) -> None:
    phone = vault.register("phone", PHONE)
    bsuid = vault.register("bsuid", BSUID)
    assert vault.link(bsuid, phone) == phone
    assert vault.canonical(bsuid) == vault.canonical(phone) == phone
    assert vault.resolve(bsuid) == ("phone", PHONE)  # replies go to the canonical
    assert vault.link(phone, bsuid) == phone  # idempotent
    assert sorted(vault.identifiers(bsuid)) == [("bsuid", BSUID), ("phone", PHONE)]


def test_link_bsuid_first_then_phone(vault) -> None:
    bsuid = vault.register("bsuid", BSUID)
    phone = vault.register("phone", PHONE)
    assert vault.link(phone, bsuid) == bsuid
    assert vault.canonical(phone) == bsuid and vault.resolve(phone) == ("bsuid", BSUID)


def test_link_merges_whole_groups(vault) -> None:
    a = vault.register("phone", PHONE)
    b = vault.register("bsuid", BSUID)
    c = vault.register("phone", PHONE_2)
    d = vault.register("bsuid", "IT.777")
    vault.link(a, b)
    vault.link(c, d)
    assert vault.link(d, b) == a
    assert {vault.canonical(x) for x in (a, b, c, d)} == {a}


def test_number_change_moves_contact_and_releases_old_number(vault) -> None:
    old = vault.register("phone", PHONE)
    bsuid = vault.register("bsuid", BSUID)
    vault.link(old, bsuid)
    new = vault.relink_number_change(old, PHONE_2)
    assert vault.canonical(new) == old  # the conversation continues under the same key
    assert vault.resolve(old) == ("phone", PHONE_2)  # replies go to the new number
    assert vault.resolve(bsuid) == ("phone", PHONE_2)


def test_recycled_alias_number_becomes_a_new_person(vault) -> None:
    bsuid = vault.register("bsuid", BSUID)
    old = vault.register("phone", PHONE)
    vault.link(old, bsuid)  # canonical is the BSUID
    vault.relink_number_change(old, PHONE_2)
    assert vault.register("phone", PHONE) == old  # someone new got the old number
    assert vault.canonical(old) == old and vault.resolve(old) == ("phone", PHONE)
    assert vault.canonical(bsuid) == bsuid and vault.resolve(bsuid) == ("bsuid", BSUID)
    assert sorted(vault.identifiers(bsuid)) == [("bsuid", BSUID), ("phone", PHONE_2)]


def test_erase_shreds_the_whole_group(vault, keys) -> None:
    phone = vault.register("phone", PHONE)
    bsuid = vault.register("bsuid", BSUID)
    other = vault.register("phone", PHONE_2)
    vault.link(phone, bsuid)
    assert sorted(vault.erase(bsuid)) == sorted([phone, bsuid])
    for p in (phone, bsuid):
        with pytest.raises(SubjectErased):
            vault.resolve(p)
        with pytest.raises(SubjectErased):
            keys.get(p)
    assert vault.erase(phone) == []
    assert vault.resolve(other) == ("phone", PHONE_2)


def test_destroy_alone_makes_resolve_raise_subject_erased(vault, keys) -> None:
    p = vault.register("phone", PHONE)
    keys.destroy(p)
    with pytest.raises(SubjectErased):
        vault.resolve(p)
    assert vault.register("phone", PHONE) == p  # the person writes again: a new key
    assert vault.resolve(p) == ("phone", PHONE)


def test_sealed_identifier_is_bound_to_its_row(vault, engine) -> None:
    a = vault.register("phone", PHONE)
    b = vault.register("phone", PHONE_2)
    with engine.begin() as connection:  # an attacker swaps the ciphertexts between rows
        sealed_a = connection.execute(
            sa.select(identities.c.sealed_identifier).where(identities.c.pseudonym == a)
        ).scalar_one()
        connection.execute(
            sa.update(identities).where(identities.c.pseudonym == b)
            .values(sealed_identifier=sealed_a)
        )
    from compliance.errors import DecryptionError
    with pytest.raises(DecryptionError):
        vault.resolve(b)


def test_repr_is_content_free(vault) -> None:
    vault.register("phone", PHONE)
    assert PHONE not in repr(vault) and isinstance(vault, IdentityVault)
