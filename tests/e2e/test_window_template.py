"""Outside the 24-hour window, with `outside_window: template`, a message the business starts is
replaced by the window template in the user's language, through the real stack: the simulator,
the WhatsApp channel, the Rasa server and the action server.

The stack differs from the shared one only by its compliance settings (SIGILLO_COMPLIANCE_FILE),
so it is started for this module and stopped after it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from devstack.consent import grant_consent
from tests.e2e.rasa_api import trigger

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = "sigillo_window_reopen"


@pytest.fixture(scope="module")
def template_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from devstack.stack import local_whatsapp_stack, start_stack

    workdir = tmp_path_factory.mktemp("window-template-stack")
    settings = yaml.safe_load((REPO / "bot" / "compliance.yml").read_text(encoding="utf-8"))
    settings["customer_service_window"] = {
        "hours": 24,
        "outside_window": "template",
        "template": {
            "en": {"name": TEMPLATE, "language": "en_US"},
            "it": {"name": TEMPLATE, "language": "it"},
        },
    }
    settings_file = workdir / "compliance.yml"
    settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    config = local_whatsapp_stack(
        trained_model, workdir, env={"SIGILLO_COMPLIANCE_FILE": str(settings_file)}
    )
    with start_stack(config) as stack:
        yield stack


@pytest.fixture(scope="module")
def sim(template_stack) -> Iterator:  # type: ignore[no-untyped-def]
    from connectors.whatsapp.simulator.client import SimulatorClient

    with SimulatorClient(template_stack.simulator_url) as client:
        yield client


@pytest.fixture(scope="module")
def context(template_stack):  # type: ignore[no-untyped-def]
    from compliance.context import build_context

    context = build_context({**os.environ, **template_stack.env}, component="cli")
    assert context.settings.outside_window == "template"  # the override reached this process too
    yield context
    context.audit.close()


def audit(context, subject: str, kind: str, until, wait: float = 30.0) -> list[dict]:  # type: ignore[no-untyped-def]
    """The attributes of the subject's audit entries of one kind, once `until(rows)` holds."""
    deadline = time.monotonic() + wait
    while True:
        with context.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT attributes FROM audit_entries WHERE subject = :s AND kind = :k "
                    "ORDER BY seq"
                ),
                {"s": subject, "k": kind},
            ).scalars()
            found = [json.loads(r) for r in rows]
        if until(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)



@pytest.mark.parametrize(
    ("user", "says", "language"),
    [
        ("447700900410", "hi", "en_US"),
        ("393331000410", "ciao", "it"),
        # An Italian number writing English is spoken to in English, and so is its template.
        ("393331000411", "hello, when will my order arrive?", "en_US"),
    ],
    ids=["english", "italian", "italian number writing english"],
)
def test_outside_the_window_the_template_goes_in_the_users_language(
    template_stack, sim, context, user: str, says: str, language: str
) -> None:
    subject = context.vault.register("phone", "+" + user)
    grant_consent(context, [subject])
    start = sim.next_index(user)
    assert sim.send(user, text=says)["webhook_status"] == 200
    assert sim.replies(user, start, count=1, wait=45)  # the bot answered: the session exists
    # The user's last message was 25 hours ago: only a template may go now.
    context.ledger.record_inbound(subject, datetime.now(timezone.utc) - timedelta(hours=25))
    before = sim.next_index(user)

    trigger(template_stack, subject, "delivery_times")

    [sent] = sim.messages(user, after=before, wait=20, status="sent")["messages"]
    assert sent["body"]["type"] == "template"  # and no free-form text
    assert sent["body"]["template"]["name"] == TEMPLATE
    assert sent["body"]["template"]["language"]["code"] == language
    later = sim.messages(user, after=before, wait=3)["messages"]
    assert [m["id"] for m in later] == [sent["id"]]
    [replaced] = audit(context, subject, "send_refused", until=bool)
    assert replaced == {
        "reason": "outside_window",
        "response": "utter_delivery_times",
        "replaced_by": "template",
        "template": TEMPLATE,
        "template_language": language,
    }
    outbound = audit(
        context,
        subject,
        "outbound_message",
        until=lambda rows: any(r.get("message_type") == "template" for r in rows),
    )
    templates = [r for r in outbound if r.get("message_type") == "template"]
    assert [r["response"] for r in templates] == ["utter_delivery_times"]
