"""Random conversations through the real trained agent, checked against design.md invariant 4
(consent) and invariant 3 as far as the ledger goes (every consent change audited).

Why a property test: the consent flow is a state machine spread over NLU, ConsentPolicy, four
learned or rule policies and the consent actions; the hand-written stories check the paths we
thought of, hypothesis checks the ones we did not (STOP in the middle of a confirmation, START
twice, "delete my data" before consent, a button tapped out of turn, ...).

Set-up: the agent is loaded once per session in this process, with the action server of
tests/property/conftest.py (its own key file and SQLite database). Each example talks as a fresh
pseudonym, so examples never share a ledger row. What the bot "sends" is what Rasa hands the
output channel; the ledger is read after every turn, as the WhatsApp channel's send guard would
read it when it sends.

What cannot be checked here: the in-process agent has no WhatsApp channel, so nobody writes the
inbound_message / outbound_message audit entries (tests/e2e cover those through the simulator).
What the actions write is checked: each ledger receipt has its consent_change audit entry.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rasa.core.channels.channel import CollectingOutputChannel

from compliance.consent.model import SERVICE, ConsentState
from compliance.consent.send_guard import MessageKind
from compliance.gate import message_kind
from tests.property.conftest import ActionServer

pytestmark = pytest.mark.e2e

# What users type, by kind, in both languages. Buttons arrive as their payloads, as the WhatsApp
# channel turns a tap into "/affirm" or "/deny". "/affirm" appears more than once on purpose:
# without it, few examples would ever reach a confirmed double opt-in.
MESSAGES: dict[str, tuple[str, ...]] = {
    "greeting": ("hi", "hello there", "ciao", "buongiorno"),
    "order": ("where is my order A1234", "dov'è il mio ordine A1234?", "order status please"),
    "help": ("help", "what can you do?", "aiuto", "cosa sai fare?"),
    "button": ("/affirm", "/affirm", "/affirm", "/deny"),
    "affirm_text": ("yes please", "sì, va bene"),
    "stop": ("STOP", "stop", "Stop!", "BASTA", "ANNULLA", "please stop writing to me"),
    "stop_marketing": ("stop marketing", "STOP OFFERTE"),
    "start": ("START", "ISCRIVIMI"),
    "privacy": ("privacy", "informativa privacy"),
    "my_data": ("what data do you have on me?", "quali dati avete su di me?"),
    "delete": ("delete my data", "cancella i miei dati"),
    "gibberish": ("asdfgh qwerty", "zxcvb", "🙂🙂", "lorem ipsum dolor"),
}
message_strategy = st.sampled_from([text for texts in MESSAGES.values() for text in texts]) | (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=12)
)
# Half the examples begin with a completed double opt-in (notice, yes, confirm), so that what
# follows a confirmed consent (business messages, STOP, stop marketing, erasure) is explored too;
# a random walk reaches the confirmation only rarely. At most 8 turns in all.
OPT_IN_PREFIXES = ((), ("hi", "/affirm", "/affirm"), ("ciao", "sì, va bene", "/affirm"))
conversation_strategy = st.builds(
    lambda prefix, tail: [*prefix, *tail],
    st.sampled_from(OPT_IN_PREFIXES),
    st.lists(message_strategy, min_size=1, max_size=5),
)


class RecordingOutputChannel(CollectingOutputChannel):
    """CollectingOutputChannel that also keeps the message dict Rasa hands the channel, which
    carries the response name (`utter_action`) the WhatsApp channel's gate classifies by."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[dict[str, Any]] = []

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.raw.append(dict(message))
        await super().send_response(recipient_id, message)


def kind_of(message: dict[str, Any]) -> MessageKind:
    """The gate's classification (compliance.gate.message_kind). The export document pointer
    of action_data_export is the answer to an access request, which the channel delivers as
    part of the rights flow, so it counts as consent flow."""
    custom = message.get("custom")
    if isinstance(custom, dict) and "sigillo_export" in custom:
        return MessageKind.CONSENT_FLOW
    return message_kind(message.get("utter_action"))


@dataclass(frozen=True)
class LedgerView:
    """The consent facts of one subject that the invariants need, read from the ledger."""

    confirmed: bool
    opted_out: bool


def fresh_pseudonym() -> str:
    """A pseudonym shaped like the channel's ("wa_" + 32 base32 characters), never reused."""
    return "wa_" + base64.b32encode(os.urandom(20)).decode("ascii").lower()


@dataclass
class Bot:
    agent: Any
    loop: asyncio.AbstractEventLoop
    context: Any

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        channel = RecordingOutputChannel()
        self.loop.run_until_complete(
            self.agent.handle_text(text, sender_id=sender, output_channel=channel)
        )
        return channel.raw

    def ledger(self, sender: str) -> LedgerView:
        records = self.context.ledger.records(sender)
        service = records[SERVICE]
        return LedgerView(
            confirmed=service.state is ConsentState.CONFIRMED
            and service.notice_version == self.context.settings.notice_version,
            opted_out=service.state is ConsentState.WITHDRAWN,
        )

    def unaudited_receipts(self, sender: str) -> Counter[tuple[str, ...]]:
        """Ledger receipts of `sender` without a consent_change audit entry (as a multiset)."""
        from compliance.audit.reader import iter_entries

        def key(fields: dict[str, Any]) -> tuple[str, ...]:
            return tuple(str(fields.get(k)) for k in ("purpose", "event", "from_state", "to_state"))

        receipts = Counter(key(r.as_audit_dict()) for r in self.context.ledger.history(sender))
        audited = Counter(
            key(json.loads(entry.attributes))
            for entry in iter_entries(self.context.engine)
            if entry.subject == sender and entry.kind == "consent_change"
        )
        return receipts - audited


@pytest.fixture(scope="session")
def bot(trained_model: Path, action_server: ActionServer) -> Iterator[Bot]:
    """The trained agent, loaded once, with the session's action server; and the compliance
    context of the same database and key file, to read the ledger and the audit log."""
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.endpoints import EndpointConfig

    from compliance.context import build_context

    loop = asyncio.new_event_loop()
    agent = loop.run_until_complete(
        load_agent(
            model_path=str(trained_model),
            endpoints=AvailableEndpoints(action=EndpointConfig(url=action_server.webhook)),
        )
    )
    context = build_context({**os.environ, **action_server.env}, component="cli")
    try:
        yield Bot(agent=agent, loop=loop, context=context)
    finally:
        context.engine.dispose()
        loop.close()


def describe(turns: list[tuple[str, list[dict[str, Any]]]]) -> str:
    return "\n".join(
        f"  user: {text!r} -> bot: {[m.get('utter_action') or m.get('custom') for m in sent]}"
        for text, sent in turns
    )


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(conversation=conversation_strategy)
def test_random_conversations_keep_consent(bot: Bot, conversation: list[str]) -> None:
    """After every turn, from what the bot sent and what the ledger says:
    (a) nothing outside the consent flow unless consent is confirmed when it is sent;
    (b) a turn that ends opted out sends at most the opt-out confirmation, and only in the turn
        that opted out; once opted out, silence until START reopens the double opt-in (and a
        business message again needs its confirmation, which (a) checks);
    (c) every ledger receipt of the subject has its consent_change audit entry.
    """
    sender = fresh_pseudonym()
    before = bot.ledger(sender)
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for text in conversation:
        sent = bot.say(sender, text)
        after = bot.ledger(sender)
        turns.append((text, sent))
        kinds = [kind_of(m) for m in sent]
        history = describe(turns)

        if not after.confirmed:
            business = [
                m.get("utter_action")
                for m, k in zip(sent, kinds, strict=True)
                if k is MessageKind.BUSINESS
            ]
            assert not business, f"(a) business message before confirmed consent:\n{history}"
        if after.opted_out:
            others = [k for k in kinds if k is not MessageKind.OPT_OUT_CONFIRMATION]
            assert not others, f"(b) message other than the opt-out confirmation:\n{history}"
            if before.opted_out:
                assert not kinds, f"(b) message to an opted-out user:\n{history}"
            assert len(kinds) <= 1, f"(b) more than one opt-out confirmation:\n{history}"
        elif MessageKind.OPT_OUT_CONFIRMATION in kinds:
            pytest.fail(f"(b) opt-out confirmation to a user who is not opted out:\n{history}")
        missing = bot.unaudited_receipts(sender)
        assert not missing, f"(c) receipts without audit entry {dict(missing)}:\n{history}"
        before = after
        state = "confirmed" if after.confirmed else "opted out" if after.opted_out else "other"
        event(f"a turn ended with consent: {state}")


# Scripted conversations with a known outcome: they show that the checks above see business
# messages and the opt-out confirmation at all (a property that never meets them proves little).
SCRIPTS = [
    (
        "en",
        ["hi", "/affirm", "/affirm", "where is my order A1234", "STOP", "where is my order A1234"],
        [
            MessageKind.CONSENT_FLOW,
            MessageKind.CONSENT_FLOW,
            MessageKind.CONSENT_FLOW,
            MessageKind.BUSINESS,
            MessageKind.OPT_OUT_CONFIRMATION,
            None,
        ],
    ),
    (
        "it",
        ["ciao", "/affirm", "/affirm", "dov'è il mio ordine A1234?", "BASTA", "ciao"],
        [
            MessageKind.CONSENT_FLOW,
            MessageKind.CONSENT_FLOW,
            MessageKind.CONSENT_FLOW,
            MessageKind.BUSINESS,
            MessageKind.OPT_OUT_CONFIRMATION,
            None,
        ],
    ),
]


@pytest.mark.parametrize(("language", "texts", "expected"), SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_scripted_double_opt_in_then_stop(
    bot: Bot, language: str, texts: list[str], expected: list[MessageKind | None]
) -> None:
    """Per turn, the kind of every message sent must be the expected one (None: silence)."""
    sender = fresh_pseudonym()
    for text, want in zip(texts, expected, strict=True):
        kinds = {kind_of(m) for m in bot.say(sender, text)}
        assert kinds == ({want} if want else set()), (language, text, kinds)
