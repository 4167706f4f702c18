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


TOKEN = "EAAG-cli-test-token"


def _pseudonym_state(phone: str) -> dict:  # type: ignore[type-arg]
    """What the ledger holds for `phone` (read with the CLI's own environment)."""
    import os

    from compliance.context import build_context

    context = build_context(dict(os.environ), component="cli")
    subject = context.vault.pseudonym_of("phone", phone)
    return {p: s.value for p, s in context.ledger.state(subject).items()}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (f"  access_token: {TOKEN}\n  phone_number_id: 'not-a-number'\n", "'phone_number_id'"),
        (
            f"  access_token: {TOKEN}\n  phone_number_id: '106540352242922'\n"
            "  api_version: 'latest'\n",
            "'api_version'",
        ),
    ],
    ids=["phone_number_id", "api_version"],
)
def test_optin_sends_with_the_servers_settings_and_a_bad_one_stops_it_before_recording(
    cli_env, capsys, tmp_path, monkeypatch, block, message
) -> None:
    """The channel's block of credentials.yml is read as the Rasa server reads it; a malformed
    setting in it is named (never its value, nor the token) and nothing is recorded."""
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "secret")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "verify")
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("connectors.whatsapp.WhatsAppInput:\n" + block)
    argv = ["consent", "optin", "--phone", "+393331234567", "--purpose", "service"]
    code = cli.main([*argv, "--credentials", str(credentials)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and TOKEN not in err and "not-a-number" not in err
    assert _pseudonym_state("+393331234567") == {"service": "none", "marketing": "none"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "--credentials: no credentials file"),
        ("connectors.whatsapp.WhatsAppInput:\n  access_token: ${SIGILLO_UNSET_VAR}\n", "${VAR}"),
        ("connectors.whatsapp.WhatsAppInput: [1, 2]\n", "must be a mapping"),
    ],
    ids=["missing file", "unset variable", "not a mapping"],
)
def test_optin_refuses_a_credentials_file_it_cannot_read(
    cli_env, capsys, tmp_path, monkeypatch, content, message
) -> None:
    monkeypatch.delenv("SIGILLO_UNSET_VAR", raising=False)
    credentials = tmp_path / "credentials.yml"
    if content is not None:
        credentials.write_text(content)
    argv = ["consent", "optin", "--phone", "+393331234568", "--purpose", "service"]
    code = cli.main([*argv, "--credentials", str(credentials)])
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert _pseudonym_state("+393331234568") == {"service": "none", "marketing": "none"}


def test_optin_without_an_access_token_anywhere_records_and_says_it_sent_nothing(
    cli_env, capsys, tmp_path
) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("connectors.whatsapp.WhatsAppInput:\n  api_version: v23.0\n")
    argv = ["consent", "optin", "--phone", "+393331234569", "--purpose", "service"]
    code = cli.main([*argv, "--credentials", str(credentials)])
    err = capsys.readouterr().err
    assert code == 0 and "confirmation template not sent" in err and str(credentials) in err
    assert _pseudonym_state("+393331234569")["service"] == "awaiting_confirmation"
