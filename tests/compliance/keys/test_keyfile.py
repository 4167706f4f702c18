"""Key file: 0600 writes, no overwrite, atomic KEK edits, each malformed case named by field."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from compliance.errors import KeyringError
from compliance.keys import (
    Keyring,
    add_kek,
    default_key_file,
    load_keyring,
    parse_keyfile,
    read_keyfile,
    retire_keks,
    serialize_keyfile,
    write_new_keyfile,
)

K32 = base64.b64encode(bytes(range(32))).decode()
K31 = base64.b64encode(bytes(31)).decode()
K33 = base64.b64encode(bytes(33)).decode()
GOOD = {"version": 1, "pseudonym_key": K32, "keks": {"1": K32}, "active_kek": 1,
        "audit_signing_key": K32}


def _without(name: str) -> dict:
    return {k: v for k, v in GOOD.items() if k != name}


MALFORMED = [
    ("not_json", "{not json", "not valid JSON"),
    ("json_array", "[]", "JSON object"),
    ("unknown_field", {**GOOD, "pseudonym_kye": K32}, "pseudonym_kye"),
    ("missing_version", _without("version"), "'version'"),
    ("wrong_version", {**GOOD, "version": 2}, "'version'"),
    ("missing_pseudonym_key", _without("pseudonym_key"), "'pseudonym_key'"),
    ("short_pseudonym_key", {**GOOD, "pseudonym_key": K31}, "'pseudonym_key'"),
    ("long_pseudonym_key", {**GOOD, "pseudonym_key": K33}, "'pseudonym_key'"),
    ("pseudonym_key_not_base64", {**GOOD, "pseudonym_key": "***"}, "'pseudonym_key'"),
    ("pseudonym_key_not_string", {**GOOD, "pseudonym_key": 5}, "'pseudonym_key'"),
    ("missing_keks", _without("keks"), "'keks'"),
    ("keks_not_object", {**GOOD, "keks": [K32]}, "'keks'"),
    ("keks_empty", {**GOOD, "keks": {}}, "'keks'"),
    ("kek_version_not_int", {**GOOD, "keks": {"one": K32}}, "'keks'"),
    ("kek_version_zero", {**GOOD, "keks": {"0": K32, "1": K32}}, "'keks.0'"),
    ("short_kek", {**GOOD, "keks": {"1": K31}}, "'keks.1'"),
    ("missing_active_kek", _without("active_kek"), "'active_kek'"),
    ("active_kek_absent", {**GOOD, "active_kek": 2}, "'active_kek'"),
    ("active_kek_string", {**GOOD, "active_kek": "1"}, "'active_kek'"),
    ("active_kek_bool", {**GOOD, "active_kek": True}, "'active_kek'"),
    ("missing_audit_signing_key", _without("audit_signing_key"), "'audit_signing_key'"),
    ("short_audit_signing_key", {**GOOD, "audit_signing_key": K31}, "'audit_signing_key'"),
    ("retired_not_list", {**GOOD, "retired_keks": 1}, "'retired_keks'"),
    ("retired_still_held", {**GOOD, "retired_keks": [1]}, "'retired_keks'"),
]


def _write(path: Path, content: object, mode: int = 0o600) -> Path:
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("content,field", [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_malformed_key_file_names_file_and_field(tmp_path: Path, content, field) -> None:
    path = _write(tmp_path / "keys.json", content)
    with pytest.raises(KeyringError) as info:
        read_keyfile(path)
    message = str(info.value)
    assert str(path) in message and field in message
    assert K32 not in message and K31 not in message  # never echoes key material


def test_good_key_file_loads() -> None:
    keyring = parse_keyfile(json.dumps(GOOD), "mem")
    assert keyring.active_kek == 1 and keyring.active_kek_key == bytes(range(32))
    assert parse_keyfile(serialize_keyfile(keyring), "mem") == keyring


def test_write_new_keyfile_is_0600_creates_parents_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "keys.json"
    written = write_new_keyfile(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = read_keyfile(path)
    assert loaded.pseudonym_key == written.pseudonym_key and loaded.keks == written.keks
    assert len(set([loaded.pseudonym_key, loaded.keks[1], loaded.audit_signing_key])) == 3


def test_write_new_keyfile_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_new_keyfile(path)
    before = path.read_bytes()
    with pytest.raises(KeyringError, match="refusing to overwrite"):
        write_new_keyfile(path)
    assert path.read_bytes() == before


def test_write_new_keyfile_ignores_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_new_keyfile(tmp_path / "keys.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


def test_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "keys.json", GOOD, mode=0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        read_keyfile(path)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="not found"):
        read_keyfile(tmp_path / "nope.json")


def test_add_kek_adds_active_version_and_keeps_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = write_new_keyfile(path)
    second = add_kek(path)
    assert second.active_kek == 2 and set(second.keks) == {1, 2}
    assert second.keks[1] == first.keks[1] and second.pseudonym_key == first.pseudonym_key
    assert read_keyfile(path) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_retire_keks_removes_old_versions_and_never_reuses_them(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_new_keyfile(path)
    add_kek(path)
    retired = retire_keks(path, [1])
    assert set(retired.keks) == {2} and retired.retired_keks == (1,)
    assert add_kek(path).active_kek == 3
    with pytest.raises(KeyringError, match="active_kek"):
        retire_keks(path, [3])


def test_keyring_repr_is_masked() -> None:
    keyring = parse_keyfile(json.dumps(GOOD), "mem")
    for text in (repr(keyring), str(keyring)):
        assert K32 not in text and bytes(range(32)).hex() not in text and "\\x00" not in text


def test_load_keyring_precedence(tmp_path: Path) -> None:
    explicit = tmp_path / "a.json"
    write_new_keyfile(explicit)
    data_dir = tmp_path / "data"
    default = data_dir / "keys.json"
    write_new_keyfile(default)
    env = {"SIGILLO_DATA_DIR": str(data_dir)}
    assert default_key_file(env) == default
    assert load_keyring(environ=env).source == str(default)
    assert load_keyring(explicit, environ=env).source == str(explicit)
    env_file = {**env, "SIGILLO_KEY_FILE": str(explicit)}
    assert load_keyring(environ=env_file).source == str(explicit)
    with pytest.raises(KeyringError, match="keys init"):
        load_keyring(environ={"SIGILLO_DATA_DIR": str(tmp_path / "empty")})


def test_keyring_build_is_what_files_produce() -> None:
    keyring = Keyring.build(pseudonym_key=bytes(32), keks={1: bytes(32)}, active_kek=1,
                            audit_signing_key=bytes(32))
    assert keyring.kek(1) == bytes(32) and keyring.kek(2) is None
