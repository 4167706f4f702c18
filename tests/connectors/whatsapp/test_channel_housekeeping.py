"""The WhatsApp channel's wiring of the housekeeping: a Sanic server serving the channel's
blueprint, with the real compliance gate on SQLite and a sweep every few hundredths of a second,
expires a stale first opt-in with no message from anyone, and stops the sweep at shutdown."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sanic import Sanic

from compliance.context import build_context
from compliance.gate import ComplianceGate
from compliance.keys import write_new_keyfile
from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.config import WhatsAppConfig
from connectors.whatsapp.inbox import Inbox
from devstack.processes import free_port

REPO = Path(__file__).resolve().parents[3]
SUBJECT = "wa_" + "w" * 32


@pytest.fixture
def context(tmp_path: Path):  # type: ignore[no-untyped-def]
    write_new_keyfile(tmp_path / "keys.json")
    shipped = (REPO / "bot" / "compliance.yml").read_text(encoding="utf-8")
    (tmp_path / "compliance.yml").write_text(
        shipped.replace(
            "pending_confirmation_sweep_minutes: 15", "pending_confirmation_sweep_minutes: 0.001"
        ),
        encoding="utf-8",
    )
    env = {
        "SIGILLO_KEY_FILE": str(tmp_path / "keys.json"),
        "SIGILLO_DATABASE_URL": f"sqlite:///{tmp_path / 'sigillo.db'}",
        "SIGILLO_COMPLIANCE_FILE": str(tmp_path / "compliance.yml"),
    }
    context = build_context(env, component="channel")
    yield context
    context.audit.close()


def channel_for(context) -> WhatsAppInput:  # type: ignore[no-untyped-def]
    config = WhatsAppConfig.from_credentials(
        {
            "app_secret": "housekeeping-test-secret",
            "verify_token": "verify",
            "access_token": "token",
            "phone_number_id": "106540352242922",
            "api_base_url": "http://127.0.0.1:9",  # never called: nobody writes
        },
        {},
    )
    gate = ComplianceGate(context)
    return WhatsAppInput(config, gate, Inbox(context.engine, gate))


async def serve(channel: WhatsAppInput, until) -> bool:  # type: ignore[no-untyped-def]
    """Run a Sanic server with the channel's blueprint through its listeners until `until()`;
    say whether the sweep still ran once the stop listeners were done."""

    async def on_new_message(message) -> None:  # type: ignore[no-untyped-def]
        raise AssertionError("no message is expected")

    app = Sanic(f"housekeeping_{free_port()}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")
    server = await app.create_server(host="127.0.0.1", port=free_port(), return_asyncio_server=True)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        for _ in range(200):
            if until():
                break
            await asyncio.sleep(0.05)
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
    await asyncio.sleep(0.2)  # a sweep left running would tick again here
    return channel.housekeeper.running


def test_a_running_channel_expires_a_stale_opt_in_and_stops_the_sweep(context) -> None:
    ledger = context.ledger
    long_ago = datetime.now(timezone.utc) - 2 * ledger.pending_expiry
    ledger.record_external_optin(SUBJECT, ["service"], at=long_ago, evidence_id="form-1")
    channel = channel_for(context)
    assert channel.housekeeper.interval == pytest.approx(0.06)

    still_running = asyncio.run(
        serve(channel, lambda: ledger.state(SUBJECT)["service"].value == "expired")
    )

    assert ledger.state(SUBJECT)["service"].value == "expired"
    assert [r.event.value for r in ledger.history(SUBJECT)][-1] == "expire"
    assert still_running is False  # stopped by before_server_stop
