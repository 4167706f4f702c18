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
    assert document["media"]["count"] == 0  # as the chat's export: media listed, none here
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


# --- rights pending: the requests made after STOP, until export or erase serves them -----------

ANA_PHONE, BOB_PHONE = "+393330000001", "+447700900001"


def request_after_stop(context, subject: str, request: str) -> int:  # type: ignore[no-untyped-def]
    """The entry actions/rights_requests.py appends when a user who said STOP asks."""
    return context.audit.append(
        {
            "component": "action_server",
            "kind": "access_request",
            "subject": subject,
            "attributes": {
                "request": request,
                "status": "pending_operator",
                "channel": "chat_after_opt_out",
            },
        }
    )


def pending(capsys) -> list[dict]:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    assert cli.main(["rights", "pending", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def served_links(context, subject: str) -> list[int]:  # type: ignore[no-untyped-def]
    with context.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT attributes FROM audit_entries WHERE subject = :s "
                "AND kind = 'operator_command' ORDER BY seq"
            ),
            {"s": subject},
        ).scalars()
        return [json.loads(r)["serves_request_seq"] for r in rows]


@pytest.fixture
def two_users(context):  # type: ignore[no-untyped-def]
    ana = context.vault.register("phone", ANA_PHONE)
    bob = context.vault.register("phone", BOB_PHONE)
    grant_consent(context, [ana, bob])
    seqs = {
        "ana_access": request_after_stop(context, ana, "access"),
        "bob_access": request_after_stop(context, bob, "access"),
        "ana_erasure": request_after_stop(context, ana, "erasure"),
    }
    return ana, bob, seqs


def test_pending_with_no_request(context, capsys) -> None:  # type: ignore[no-untyped-def]
    assert pending(capsys) == []
    assert cli.main(["rights", "pending"]) == 0
    assert capsys.readouterr().out.strip() == "no open requests"


def test_pending_lists_open_requests_oldest_first(two_users, capsys) -> None:  # type: ignore[no-untyped-def]
    ana, bob, seqs = two_users
    listed = pending(capsys)
    assert [(r["seq"], r["subject"], r["request"]) for r in listed] == [
        (seqs["ana_access"], ana, "access"),
        (seqs["bob_access"], bob, "access"),
        (seqs["ana_erasure"], ana, "erasure"),
    ]
    assert all(r["age_seconds"] >= 0 and r["requested_at"].endswith("Z") for r in listed)
    assert cli.main(["rights", "pending"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["SEQ", "REQUEST", "SUBJECT", "REQUESTED", "(UTC)", "AGE"]
    assert [line.split()[:3] for line in table[1:]] == [
        [str(seqs["ana_access"]), "access", ana],
        [str(seqs["bob_access"]), "access", bob],
        [str(seqs["ana_erasure"]), "erasure", ana],
    ]
    for phone in (ANA_PHONE, BOB_PHONE):
        assert phone[1:] not in "\n".join(table)


def test_export_serves_the_access_request_and_erase_the_erasure(  # type: ignore[no-untyped-def]
    context, two_users, tmp_path: Path, capsys
) -> None:
    ana, bob, seqs = two_users
    out = tmp_path / "ana.json"
    capsys.readouterr()
    assert cli.main(["rights", "export", "--subject", ana, "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["served_requests"] == [seqs["ana_access"]]
    assert [r["seq"] for r in pending(capsys)] == [seqs["bob_access"], seqs["ana_erasure"]]

    assert cli.main(["rights", "erase", "--phone", ANA_PHONE]) == 0
    assert json.loads(capsys.readouterr().out)["served_requests"] == [seqs["ana_erasure"]]
    assert [r["seq"] for r in pending(capsys)] == [seqs["bob_access"]]
    assert served_links(context, ana) == [seqs["ana_access"], seqs["ana_erasure"]]
    assert served_links(context, bob) == []


def test_erase_refuses_while_an_access_request_is_open(  # type: ignore[no-untyped-def]
    context, two_users, capsys
) -> None:
    ana, _, seqs = two_users
    capsys.readouterr()
    assert cli.main(["rights", "erase", "--subject", ana]) == 2
    error = capsys.readouterr().err
    assert "--close-access-requests" in error and str(seqs["ana_access"]) in error
    assert context.vault.resolve(ana) == ("phone", ANA_PHONE)  # nothing erased
    assert len(pending(capsys)) == 3

    assert cli.main(["rights", "erase", "--subject", ana, "--close-access-requests"]) == 0
    served = json.loads(capsys.readouterr().out)["served_requests"]
    assert served == [seqs["ana_access"], seqs["ana_erasure"]]
    assert [r["seq"] for r in pending(capsys)] == [seqs["bob_access"]]


def test_an_erasure_in_the_chat_closes_the_subjects_requests(  # type: ignore[no-untyped-def]
    context, two_users, capsys
) -> None:
    ana, _, seqs = two_users
    context.record("erasure", ana, keys_destroyed_count=1)  # as actions/rights.py records it
    assert [r["seq"] for r in pending(capsys)] == [seqs["bob_access"]]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["rights", "export", "--subject", "+393331234567", "--out", "x.json"], "--subject"),
        (["rights", "erase", "--subject", "wa_short"], "--subject"),
        (["rights", "erase", "--phone", "393331234567"], "--phone"),
    ],
    ids=["phone as subject", "short pseudonym", "phone without plus"],
)
def test_a_malformed_subject_is_named(context, capsys, argv, field) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {field}: ")


def test_phone_and_subject_together_are_refused(context, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as info:
        cli.main(["rights", "erase", "--phone", PHONE, "--subject", "wa_" + "a" * 32])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_pending_needs_no_key_file(context, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    subject = context.vault.register("phone", PHONE)
    seq = request_after_stop(context, subject, "erasure")
    monkeypatch.setenv("SIGILLO_KEY_FILE", "/nonexistent/keys.json")
    assert [r["seq"] for r in pending(capsys)] == [seq]
