"""The conversation judge of the random WhatsApp conversations (conversation_audit.py), on
hand-made logs: a clean conversation passes, and each breach is named by the rule it breaks.
Pure and fast; it is what shows the e2e property test can fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from compliance.consent.keywords import KeywordMatch
from tests.e2e.conversation_audit import Delivered, Entry, UserStep, check_conversation

STATUSES = ("sent", "delivered", "read")
STEPS = {
    "hi": UserStep("text 'hi'", "in-hi"),
    "yes": UserStep("tap 'Yes'", "in-yes", affirmative=True),
    "confirm": UserStep("tap 'Confirm'", "in-confirm", affirmative=True),
    "noise": UserStep("text '??'", "in-noise"),
    "order": UserStep("text 'order A1234'", "in-order"),
    "stop": UserStep("text 'STOP'", "in-stop", KeywordMatch.OPT_OUT),
    "start": UserStep("text 'START'", "in-start", KeywordMatch.OPT_IN),
}


class Log:
    """Builds a subject's audit entries and the user's outbox, turn by turn: each turn ends
    with the tracker's save, a `bot_action` entry naming the message it answered."""

    def __init__(self) -> None:
        self.steps: list[UserStep] = []
        self.entries: list[Entry] = []
        self.delivered: list[Delivered] = []
        self._unsaved: str | None = None  # the message of the turn in progress

    def add(self, kind: str, **attributes: object) -> Log:
        self.entries.append(Entry(len(self.entries), kind, attributes))
        return self

    def arrive(self, name: str) -> Log:
        """A message's inbound entry, ahead of its turn (the judge must not depend on where)."""
        step = STEPS[name]
        hashed = f"{step.message_hash}-{len(self.steps)}"
        self.steps.append(UserStep(step.label, hashed, step.keyword, step.affirmative))
        return self.add("inbound_message", message_id_hash=hashed)

    def save(self, step: int) -> Log:
        """The end of the turn that answered the `step`th message."""
        return self.add("bot_action", action="x", in_reply_to=self.steps[step].message_hash)

    def user(self, name: str) -> Log:
        """The previous turn ends; a message arrives and its turn starts at once."""
        self.finish()
        self.arrive(name)
        self._unsaved = self.steps[-1].message_hash
        return self

    def finish(self) -> Log:
        if self._unsaved is not None:
            self.add("bot_action", action="x", in_reply_to=self._unsaved)
            self._unsaved = None
        return self

    def consent(self, before: str, after: str, event: str = "x") -> Log:
        return self.add(
            "consent_change", purpose="service", from_state=before, to_state=after, event=event
        )

    def bot(self, *responses: str) -> Log:
        for response in responses:
            hashed = f"out-{len(self.delivered)}"
            self.delivered.append(Delivered(hashed, STATUSES))
            self.add("outbound_message", message_id_hash=hashed, response=response)
            for status in STATUSES:
                self.add("delivery_status", message_id_hash=hashed, status=status)
        return self

    def opted_in(self) -> Log:
        return (
            self.user("hi")
            .consent("none", "notice_shown")
            .consent("notice_shown", "asked")
            .bot("utter_privacy_notice", "utter_ask_consent")
            .user("yes")
            .consent("asked", "awaiting_confirmation")
            .bot("utter_ask_confirm_consent")
            .user("confirm")
            .consent("awaiting_confirmation", "confirmed")
            .bot("utter_consent_confirmed")
        )

    def opted_out(self) -> Log:
        return self.opted_in().user("stop").consent("confirmed", "withdrawn").bot(OPT_OUT)


OPT_OUT = "utter_opt_out_confirmed"


def drop(kind: str, nth: int = 0) -> Callable[[Log], Log]:
    """Remove the nth entry of `kind`: an audit write that did not happen."""

    def edit(log: Log) -> Log:
        matching = [e for e in log.entries if e.kind == kind]
        log.entries.remove(matching[nth])
        return log

    return edit


def duplicate(kind: str) -> Callable[[Log], Log]:
    def edit(log: Log) -> Log:
        first = next(e for e in log.entries if e.kind == kind)
        log.entries.append(Entry(len(log.entries), first.kind, first.attributes))
        return log

    return edit


def undelivered_outbound(log: Log) -> Log:
    """An outbound entry for a message the user never received."""
    return log.add("outbound_message", message_id_hash="out-ghost", response="utter_greet")


def unaudited_delivery(log: Log) -> Log:
    log.delivered.append(Delivered("out-unaudited", ()))
    return log


def ahead_of_their_turns(third: str) -> Log:
    """Three messages whose inbound entries all precede their turns; the third message's turn
    confirms the consent (its reply is the caller's)."""
    return (
        Log()
        .arrive("hi")
        .arrive("yes")
        .arrive(third)
        .consent("none", "asked")
        .bot("utter_ask_consent")
        .save(0)
        .consent("asked", "awaiting_confirmation")
        .bot("utter_ask_confirm_consent")
        .save(1)
        .consent("awaiting_confirmation", "confirmed")
    )


CLEAN: list[tuple[str, Callable[[], Log]]] = [
    (
        "double opt-in, then an order question",
        lambda: Log().opted_in().user("order").bot("utter_order"),
    ),
    ("STOP: one confirmation, then silence", lambda: Log().opted_out().user("hi").user("stop")),
    (
        "START after STOP runs the double opt-in again",
        lambda: (
            Log()
            .opted_out()
            .user("start")
            .consent("withdrawn", "asked", "opt_in_restart")
            .bot("utter_opted_back_in_start", "utter_ask_consent")
        ),
    ),
    ("a refusal that is not sent", lambda: Log().user("hi").add("send_refused", response="x")),
    (
        "inbound entries ahead of their turns: each turn still judged by its own message",
        lambda: ahead_of_their_turns("confirm").bot("utter_consent_confirmed").save(2),
    ),
]

BREACHES: list[tuple[str, Callable[[], Log], str]] = [
    ("no inbound entry", lambda: drop("inbound_message", 1)(Log().opted_in()), "inbound audit"),
    (
        "two inbound entries",
        lambda: duplicate("inbound_message")(Log().opted_in()),
        "inbound audit",
    ),
    ("no outbound entry", lambda: unaudited_delivery(Log().opted_in()), "outbound audit"),
    ("outbound never delivered", lambda: undelivered_outbound(Log().opted_in()), "outbound audit"),
    ("no status entry", lambda: drop("delivery_status", 4)(Log().opted_in()), "status audit"),
    ("business before consent", lambda: Log().user("hi").bot("utter_greet"), "consent"),
    (
        "business while awaiting the confirmation",
        lambda: Log().user("hi").consent("asked", "awaiting_confirmation").bot("utter_order"),
        "consent",
    ),
    (
        "confirmed without a confirmation request",
        lambda: Log().user("confirm").consent("awaiting_confirmation", "confirmed"),
        "double opt-in",
    ),
    (
        "confirmed by noise",
        lambda: (
            Log()
            .user("yes")
            .consent("asked", "awaiting_confirmation")
            .bot("utter_ask_confirm_consent")
            .user("noise")
            .consent("awaiting_confirmation", "confirmed")
        ),
        "double opt-in",
    ),
    ("a message after STOP", lambda: Log().opted_out().user("hi").bot("utter_greet"), "opt-out"),
    (
        "a consent-flow message after STOP",
        lambda: Log().opted_out().user("hi").bot("utter_ask_consent"),
        "opt-out",
    ),
    ("a second confirmation", lambda: Log().opted_out().user("stop").bot(OPT_OUT), "opt-out"),
    ("STOP that withdraws nothing", lambda: Log().opted_in().user("stop"), "opt-out"),
    (
        "silence broken after a STOP the ledger ignored",
        lambda: Log().user("stop").user("hi").bot("utter_privacy_notice"),
        "opt-out",
    ),
    ("a confirmation without STOP", lambda: Log().opted_in().user("hi").bot(OPT_OUT), "opt-out"),
    ("START that restarts nothing", lambda: Log().opted_out().user("start"), "opt-in"),
    (
        "a refused send that went out",
        lambda: (
            Log()
            .opted_in()
            .user("order")
            .add("send_refused", response="utter_order")
            .bot("utter_order")
        ),
        "refused send",
    ),
    (
        "confirmed in the turn of a message that is not a yes",
        lambda: ahead_of_their_turns("noise").save(2),
        "double opt-in",
    ),
]


@pytest.mark.parametrize("build", [c[1] for c in CLEAN], ids=[c[0] for c in CLEAN])
def test_a_clean_conversation_has_no_violation(build: Callable[[], Log]) -> None:
    log = build().finish()
    report = check_conversation(log.steps, log.delivered, log.entries)
    assert report.violations == [], report.transcript(log.steps)


@pytest.mark.parametrize(("build", "rule"), [c[1:] for c in BREACHES], ids=[c[0] for c in BREACHES])
def test_each_breach_is_named_by_its_rule(build: Callable[[], Log], rule: str) -> None:
    log = build().finish()
    report = check_conversation(log.steps, log.delivered, log.entries)
    assert report.violations, report.transcript(log.steps)
    assert all(v.startswith(rule + ":") for v in report.violations), report.violations
