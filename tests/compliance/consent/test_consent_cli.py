"""`python -m compliance consent …` on a temporary key file and database, and the audit adapter
against NewEntry."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from compliance import __main__ as cli
from compliance.consent.audit_adapter import audit_hook
from compliance.consent.model import ConsentReceipt, ConsentState, EventType, Method

SUBJECT = "wa_" + "ab" * 16


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """A real key file and database for the CLI; the phone it was given, as the vault holds it."""
    from compliance.keys import write_new_keyfile

    write_new_keyfile(tmp_path / "keys.json")
    monkeypatch.setenv("SIGILLO_KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("SIGILLO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("WHATSAPP_ACCESS_TOKEN", raising=False)
    return []


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]


def test_optin_show_expire(cli_env, capsys) -> None:
    code, lines = run(
        capsys,
        "consent",
        "optin",
        "--phone",
        "+39 333 1234567",
        "--purpose",
        "service",
        "--evidence-id",
        "form-1",
    )
    assert code == 0 and lines[0]["subject"].startswith("wa_")
    subject = lines[0]["subject"]
    assert lines == [{"subject": subject, "purpose": "service", "state": "awaiting_confirmation"}]
    code, lines = run(capsys, "consent", "show", "--subject", subject)
    assert lines[0]["state"] == {"service": "awaiting_confirmation", "marketing": "none"}
    assert lines[1]["method"] == "web_form" and len(lines[1]["evidence_hash"]) == 64
    assert "+39" not in json.dumps(lines)
    code, lines = run(capsys, "consent", "expire")
    assert code == 0 and lines == [{"expired": 0}]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--phone", "3331234567", "--purpose", "service"], "--phone: must be an E.164"),
        (["--phone", "+393331234567", "--purpose", "surveys"], "unknown purpose 'surveys'"),
    ],
    ids=["not e164", "unknown purpose"],
)
def test_optin_errors_name_the_field(cli_env, capsys, argv, message) -> None:
    code = cli.main(["consent", "optin", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "333" not in err


def test_audit_adapter_builds_a_valid_entry() -> None:
    from compliance.audit import NewEntry

    receipt = ConsentReceipt(
        SUBJECT,
        "service",
        ConsentState.ASKED,
        ConsentState.AWAITING_CONFIRMATION,
        "2025-01",
        Method.CHAT,
        datetime(2025, 1, 1, tzinfo=timezone.utc),
        "c" * 64,
        EventType.CONSENT_GIVEN,
    )
    appended: list = []
    change = {**receipt.as_audit_dict(), "receipt_id": 3}
    audit_hook(appended.append, "action_server")(change)
    entry = NewEntry.coerce(appended[0])
    assert entry.kind == "consent_change" and entry.subject == SUBJECT
    assert entry.attributes["to_state"] == "awaiting_confirmation"
