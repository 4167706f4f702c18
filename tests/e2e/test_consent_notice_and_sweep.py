"""A new privacy notice, and expiry without a scheduler, through a stack of their own.

The stack reads a copy of bot/compliance.yml (SIGILLO_COMPLIANCE_FILE, which the channel, the
action server and ConsentPolicy all honour) with a newer notice version and a sweep every second.
The users' earlier consent is recorded under the shipped file's version, as if given before the
notice changed. Then, through the simulator, the real channel, Rasa and the action server:
- order updates and offers are asked again, one after the other, each confirmed twice, and
  nothing of either purpose may be sent before;
- a first opt-in from the shop's site that nobody confirms expires with no message from anyone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.whatsapp.simulator.client import text_of
from devstack.consent import grant_consent
from devstack.training import ROOT

pytestmark = pytest.mark.e2e

OLD_NOTICE, NEW_NOTICE = "2025-01", "2031-07"
SWEEP_MINUTES = 1 / 60  # a sweep every second


@pytest.fixture(scope="module")
def notice_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from devstack.stack import local_whatsapp_stack, start_stack

    workdir = tmp_path_factory.mktemp("notice-stack")
    shipped = (ROOT / "bot" / "compliance.yml").read_text(encoding="utf-8")
    assert (
        f'version: "{OLD_NOTICE}"' in shipped
        and "pending_confirmation_sweep_minutes: 15" in shipped
    )
    settings = workdir / "compliance.yml"
    settings.write_text(
        shipped.replace(f'version: "{OLD_NOTICE}"', f'version: "{NEW_NOTICE}"').replace(
            "pending_confirmation_sweep_minutes: 15",
            f"pending_confirmation_sweep_minutes: {SWEEP_MINUTES}",
        ),
        encoding="utf-8",
    )
    config = local_whatsapp_stack(
        trained_model, workdir, env={"SIGILLO_COMPLIANCE_FILE": str(settings)}
    )
    with start_stack(config) as stack:
        yield stack


def context_for(stack, settings_file: str | None = None):  # type: ignore[no-untyped-def]
    from compliance.context import build_context

    env = {**os.environ, **stack.env}
    if settings_file:
        env["SIGILLO_COMPLIANCE_FILE"] = settings_file
    return build_context(env, component="cli")


@pytest.fixture(scope="module")
def before_the_change(notice_stack):  # type: ignore[no-untyped-def]
    """The compliance layer as it was under the shipped notice (same database and keys)."""
    return context_for(notice_stack, str(ROOT / "bot" / "compliance.yml"))


@pytest.fixture(scope="module")
def now_context(notice_stack):  # type: ignore[no-untyped-def]
    return context_for(notice_stack)


@pytest.fixture(scope="module")
def sim(notice_stack) -> Iterator:  # type: ignore[no-untyped-def]
    from connectors.whatsapp.simulator.client import SimulatorClient

    with SimulatorClient(notice_stack.simulator_url) as client:
        yield client


@pytest.fixture(scope="module")
def talk(sim) -> Callable[..., list[dict]]:  # type: ignore[no-untyped-def]
    def say(user: str, count: int = 1, **spec: object) -> list[dict]:
        start = sim.next_index(user)
        assert sim.send(user, **spec)["webhook_status"] == 200
        return sim.replies(user, start, count=count, wait=45)

    return say


def buttons(message: dict) -> list[dict]:
    return [b["reply"] for b in message["body"]["interactive"]["action"]["buttons"]]


def consent_events(context, subject: str) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(r.purpose, r.event.value, r.notice_version) for r in context.ledger.history(subject)]


TEXTS = {
    "en": {
        "notice": f"Privacy notice v{NEW_NOTICE}",
        "confirm": "tap Confirm",
        "done": "You'll receive updates",
        "marketing": "offers and promotions",
        "marketing_confirm": "keep receiving offers",
        "marketing_done": "You'll keep receiving offers",
        "order": "where is my order A1234?",
    },
    "it": {
        "notice": f"Informativa privacy v{NEW_NOTICE}",
        "confirm": "tocca Conferma",
        "done": "Riceverai qui gli aggiornamenti",
        "marketing": "offerte e promozioni",
        "marketing_confirm": "continuare a ricevere offerte",
        "marketing_done": "Continuerai a ricevere offerte",
        "order": "dov'è il mio ordine A1234?",
    },
}


@pytest.mark.parametrize(("language", "user"), [("en", "447700900470"), ("it", "393331230470")])
def test_a_new_notice_asks_again_for_order_updates_then_offers(
    before_the_change, now_context, talk, language, user
) -> None:
    from compliance.gate import ComplianceGate

    t = TEXTS[language]
    subject = before_the_change.vault.register("phone", "+" + user)
    grant_consent(before_the_change, [subject], "service")
    grant_consent(before_the_change, [subject], "marketing")
    before = len(before_the_change.ledger.history(subject))

    # The notice changed: until the user confirms again, nothing of either purpose may go.
    gate = ComplianceGate(now_context)
    for purpose in ("service", "marketing"):
        decision = gate.check_send(
            subject, {"utter_action": "utter_offer", "metadata": {"purpose": purpose}}
        )
        assert (decision.allowed, decision.reason) == (False, "notice_outdated")

    notice, question = talk(user, count=2, text=t["order"])
    assert t["notice"] in text_of(notice)
    assert now_context.ledger.state(subject) == {"service": "asked", "marketing": "asked"}
    (confirm,) = talk(user, button_reply=buttons(question)[0])
    assert t["confirm"] in text_of(confirm)
    done, marketing = talk(user, count=2, button_reply=buttons(confirm)[0])
    assert t["done"] in text_of(done) and t["marketing"] in text_of(marketing)
    (marketing_confirm,) = talk(user, button_reply=buttons(marketing)[0])
    assert t["marketing_confirm"] in text_of(marketing_confirm)
    (marketing_done,) = talk(user, button_reply=buttons(marketing_confirm)[0])
    assert t["marketing_done"] in text_of(marketing_done)
    (status,) = talk(user, text=t["order"])
    assert "A1234" in text_of(status)

    assert consent_events(now_context, subject)[before:] == [
        ("service", "notice_version_changed", NEW_NOTICE),
        ("marketing", "notice_version_changed", NEW_NOTICE),
        ("service", "consent_given", NEW_NOTICE),
        ("service", "confirmed", NEW_NOTICE),
        ("marketing", "consent_given", NEW_NOTICE),
        ("marketing", "confirmed", NEW_NOTICE),
    ]
    decision = gate.check_send(
        subject, {"utter_action": "utter_offer", "metadata": {"purpose": "marketing"}}
    )
    assert decision.allowed
    with now_context.engine.connect() as conn:
        audited = conn.execute(
            sa.text(
                "SELECT count(*) FROM audit_entries WHERE subject = :s AND kind = 'consent_change'"
            ),
            {"s": subject},
        ).scalar_one()
    assert audited == len(now_context.ledger.history(subject))  # every change audited


def test_an_unconfirmed_site_opt_in_expires_with_nobody_writing(now_context, sim) -> None:
    ledger = now_context.ledger
    user = "447700900471"
    subject = now_context.vault.register("phone", "+" + user)
    long_ago = datetime.now(timezone.utc) - ledger.pending_expiry - timedelta(minutes=5)
    ledger.record_external_optin(subject, ["service", "marketing"], at=long_ago, evidence_id="f-9")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and set(ledger.state(subject).values()) != {"expired"}:
        time.sleep(0.2)
    assert ledger.state(subject) == {"service": "expired", "marketing": "expired"}
    expiries = [r for r in ledger.history(subject) if r.event.value == "expire"]
    assert sorted(r.purpose for r in expiries) == ["marketing", "service"]  # once each
    assert {r.method.value for r in expiries} == {"system"}
    with now_context.engine.connect() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT component FROM audit_entries WHERE subject = :s "
                    "AND kind = 'consent_change' ORDER BY seq"
                ),
                {"s": subject},
            )
            .scalars()
            .all()
        )
    assert rows[-2:] == ["channel", "channel"]  # the running channel's sweep did it
    assert sim.messages(user)["messages"] == []  # and nobody wrote to anyone
    time.sleep(2)  # more sweeps: nothing more happens
    assert len([r for r in ledger.history(subject) if r.event.value == "expire"]) == 2
