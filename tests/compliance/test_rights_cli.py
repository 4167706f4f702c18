"""`python -m compliance rights export|erase`: a DPO serves requests that arrive outside the chat
with the same code as the bot's rights actions; both are audited, nothing prints the number."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from compliance import __main__ as cli
from compliance.context import build_context
from compliance.errors import SubjectErased
from compliance.keys import write_new_keyfile
from devstack.consent import grant_consent

REPO = Path(__file__).resolve().parents[2]
PHONE = "+393331234567"


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    write_new_keyfile(tmp_path / "keys.json")
    env = {
        "SIGILLO_KEY_FILE": str(tmp_path / "keys.json"),
        "SIGILLO_DATABASE_URL": f"sqlite:///{tmp_path / 'sigillo.db'}",
        "SIGILLO_DATA_DIR": str(tmp_path / "data"),
        "SIGILLO_COMPLIANCE_FILE": str(REPO / "bot" / "compliance.yml"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    context = build_context(env, component="cli")
    yield context
    context.audit.close()


def audit_kinds(context, subject: str) -> list[str]:  # type: ignore[no-untyped-def]
    with context.engine.connect() as conn:
        query = sa.text("SELECT kind FROM audit_entries WHERE subject = :s ORDER BY seq")
        return list(conn.execute(query, {"s": subject}).scalars())


def test_export_then_erase(context, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    subject = context.vault.register("phone", PHONE)
    grant_consent(context, [subject])
    out = tmp_path / "dpo" / "export.json"
    assert cli.main(["rights", "export", "--phone", PHONE, "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["subject"] == subject
    assert document["consent"]["current"]["service"] == "confirmed"
    assert len(document["consent"]["history"]) == 4
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert cli.main(["rights", "erase", "--phone", PHONE]) == 0
    printed = capsys.readouterr().out
    assert PHONE not in printed and PHONE[1:] not in printed
    with pytest.raises((SubjectErased, LookupError)):
        context.vault.resolve(subject)
    assert {"access_request", "erasure"} <= set(audit_kinds(context, subject))


def test_a_malformed_number_is_named(context, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["rights", "erase", "--phone", "0039 333"]) == 2
    assert "--phone" in capsys.readouterr().err
