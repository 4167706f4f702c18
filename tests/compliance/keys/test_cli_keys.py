"""`python -m compliance keys …`: init, refuse overwrite (exit 2), show, rotate-kek, retire-kek."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from compliance.__main__ import main
from compliance.identity import IdentityVault, SubjectKeyStore
from compliance.keys import read_keyfile
from compliance.storage import create_engine_from_url, migrate


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SIGILLO_KEY_FILE", "SIGILLO_PSEUDONYM_KEY", "SIGILLO_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIGILLO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_init_writes_default_key_file_and_refuses_overwrite(env: Path, capsys) -> None:
    assert main(["keys", "init"]) == 0
    path = env / "data" / "keys.json"
    assert str(path) in capsys.readouterr().out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    assert main(["keys", "init"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_init_with_explicit_path_and_show_prints_no_keys(env: Path, capsys) -> None:
    path = env / "elsewhere" / "k.json"
    assert main(["keys", "init", "--key-file", str(path)]) == 0
    capsys.readouterr()
    assert main(["keys", "show", "--key-file", str(path)]) == 0
    out = capsys.readouterr().out
    keyring = read_keyfile(path)
    assert "kek 1: fingerprint" in out and "(active)" in out
    for key in (keyring.pseudonym_key, keyring.keks[1], keyring.audit_signing_key):
        assert key.hex() not in out
    import base64

    assert base64.b64encode(keyring.keks[1]).decode() not in out


def test_show_without_keyring_is_a_clear_error(env: Path, capsys) -> None:
    assert main(["keys", "show"]) == 2
    assert "keys init" in capsys.readouterr().err


def test_rotate_then_retire_rewraps_the_database(env: Path, capsys) -> None:
    assert main(["keys", "init"]) == 0
    path = env / "data" / "keys.json"
    engine = create_engine_from_url(f"sqlite:///{env / 'data' / 'sigillo.db'}")
    migrate(engine)
    vault = IdentityVault(engine, SubjectKeyStore(engine, lambda: read_keyfile(path)))
    p = vault.register("phone", "+393331234567")
    assert main(["keys", "rotate-kek"]) == 0
    assert "version 2; re-wrapped 1" in capsys.readouterr().out
    assert main(["keys", "retire-kek", "--batch-size", "10"]) == 0
    assert "retired KEK versions: 1, 2" in capsys.readouterr().out
    assert set(read_keyfile(path).keks) == {3}
    assert IdentityVault(engine, SubjectKeyStore(engine, read_keyfile(path))).resolve(p) == (
        "phone",
        "+393331234567",
    )
    # Both key changes are operator commands in the audit log, which still verifies.
    import sqlalchemy as sa

    from compliance.audit import verify_database
    from compliance.crypto.primitives import ed25519_public_key

    with engine.connect() as conn:
        commands = (
            conn.execute(
                sa.text(
                    "SELECT attributes FROM audit_entries"
                    " WHERE kind = 'operator_command' ORDER BY seq"
                )
            )
            .scalars()
            .all()
        )
    assert ["keys_rotate_kek" in c for c in commands] == [True, False]
    assert ["keys_retire_kek" in c for c in commands] == [False, True]
    key = ed25519_public_key(read_keyfile(path).audit_signing_key)
    assert verify_database(engine, key).ok


PHOTO = b"\xff\xd8\xff\xe0JFIF" + b"PLAINTEXT-PHOTO-MARKER" * 8


@pytest.mark.parametrize(
    "media,erased,deleted,kept",
    [
        ((), (), 0, 0),
        (("ana",), (), 0, 1),
        (("ana", "ben", "ben"), ("ben",), 2, 1),
        (("ben",), ("ben",), 1, 0),
    ],
    ids=["no_media", "live_media_kept", "erased_subjects_media_deleted", "only_erased_media"],
)
def test_retire_kek_reports_and_audits_the_media_it_deleted_and_kept(
    env: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys, media, erased, deleted, kept
) -> None:
    """Media are sealed under data keys, so the re-wrap keeps them readable; the rows of erased
    subjects are deleted. The printed report and the `keys_retire_kek` entry give both counts."""
    import json

    import sqlalchemy as sa

    from compliance.media import MediaStore

    monkeypatch.setenv("SIGILLO_DATABASE_URL", db_url)
    assert main(["keys", "init"]) == 0
    path = env / "data" / "keys.json"
    engine = create_engine_from_url(db_url)
    migrate(engine)
    keys = SubjectKeyStore(engine, lambda: read_keyfile(path), cache_size=0)
    vault = IdentityVault(engine, keys)
    subjects = {
        "ana": vault.register("phone", "+393331234560"),
        "ben": vault.register("phone", "+393331234561"),
    }
    store = MediaStore(engine, keys)
    stored = [
        (who, store.put(subjects[who], f"h1:{n:064d}", "image", "image/jpeg", PHOTO))
        for n, who in enumerate(media)
    ]
    for who in erased:
        keys.destroy(subjects[who])
    capsys.readouterr()

    assert main(["keys", "retire-kek"]) == 0
    out = capsys.readouterr().out
    assert f"stored media: deleted {deleted} that no live data key opens" in out
    assert f"{kept} kept, readable under their re-wrapped data keys" in out
    with engine.connect() as conn:
        attributes = conn.execute(
            sa.text("SELECT attributes FROM audit_entries WHERE kind = 'operator_command'")
        ).scalar_one()
    audited = json.loads(attributes)
    assert audited["command"] == "keys_retire_kek"
    assert (audited["media_deleted_count"], audited["media_kept_count"]) == (deleted, kept)
    # What was kept still opens under the keyring that no longer holds the old KEK.
    after = MediaStore(engine, SubjectKeyStore(engine, read_keyfile(path), cache_size=0))
    for who, summary in stored:
        if who not in erased:
            assert after.read(subjects[who], summary.handle) == PHOTO
    engine.dispose()
