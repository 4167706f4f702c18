"""Identity fixtures: a fixed test keyring (written to a 0600 key file) and stores on `engine`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from compliance.identity import IdentityVault, SubjectKeyStore
from compliance.keys import Keyring, read_keyfile, write_new_keyfile


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret" / "keys.json"
    write_new_keyfile(path)
    return path


@pytest.fixture
def keyring(key_file: Path) -> Keyring:
    return read_keyfile(key_file)


@pytest.fixture
def keys(engine: Engine, key_file: Path) -> SubjectKeyStore:
    return SubjectKeyStore(engine, lambda: read_keyfile(key_file))


@pytest.fixture
def vault(engine: Engine, keys: SubjectKeyStore) -> IdentityVault:
    return IdentityVault(engine, keys)
