"""Consent actions: the double opt-in, opt-out (STOP / stop marketing), opt-in (START), the notice.

ConsentPolicy (compliance/policy/decision.py) decides WHEN these run; they decide WHAT to do from
the consent ledger, which is the truth (the slots they set are only the policy's view of it).
So each action is safe whenever it runs: it reads the ledger, makes the one legal move, utters
the matching response by name (the domain picks en/it from the `language` slot) and mirrors the
ledger into the slots. The sender_id is the pseudonym; the evidence of a consent change is the
latest message's `message_id`, already a keyed hash made by the channel.

Why the action does not call ledger.mark_opt_out_confirmation_sent: the action server cannot
send; Rasa hands utter_opt_out_confirmed to the channel after the action returns, and the send
guard refuses an opt-out confirmation once it is marked sent. The sender marks it (the channel
gate, on the outbound of utter_opt_out_confirmed). The action sends the confirmation only when
this STOP really withdrew the service purpose, so a repeated STOP sends nothing either way.

What counts as yes: a consent step (the first "yes" and the confirmation, for any purpose) is
taken only on the Yes/Confirm button's payload or a word of keywords.confirm, never on the NLU's
`affirm` alone (compliance/consent/answers.py; ConsentPolicy decides with the same function).
The first "yes" too, not only the confirmation: its `consent_given` receipt is the controller's
evidence that the user agreed (GDPR art. 7(1)), and "??" is no agreement. A doubtful yes gets
the same question again, as any other message at that step does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType as SdkEvent
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.compliance_context import ComplianceContext, get_context
from compliance.consent import (
    MARKETING,
    SERVICE,
    Answer,
    ConsentRecord,
    ConsentState,
    EventType,
    KeywordMatch,
    Method,
    classify,
    consent_answer,
    events_to_ask,
    is_opted_out,
)
from compliance.consent.transitions import allowed, is_due_for_expiry, outdated_purposes
from compliance.errors import ConsentError
from compliance.policy import decision

S = ConsentState
NOTICE = "utter_privacy_notice"
ASK = "utter_ask_consent"
ASK_CONFIRM = "utter_ask_confirm_consent"
CONFIRMED = "utter_consent_confirmed"
REFUSED = "utter_consent_refused"
OPT_OUT_CONFIRMED = "utter_opt_out_confirmed"
MARKETING_WITHDRAWN = "utter_marketing_withdrawn"
BACK_IN = "utter_opted_back_in_start"
ASK_MARKETING = "utter_ask_marketing_consent"
ASK_CONFIRM_MARKETING = "utter_ask_confirm_marketing"
MARKETING_CONFIRMED = "utter_marketing_confirmed"


@dataclass(frozen=True)
class Step:
    """One move of the consent flow: ledger events for `purposes`, then responses, in order."""

    events: tuple[EventType, ...] = ()
    responses: tuple[str, ...] = ()
    purposes: tuple[str, ...] = (SERVICE,)


# -- pure decisions ---------------------------------------------------------------------------


def plan_consent_step(
    records: dict[str, ConsentRecord], notice_version: str, answer: Answer
) -> Step:
    """The next double opt-in move, given the user's answer: service first, then marketing.

    Only Answer.YES takes a step forward; UNCLEAR (the NLU's affirm on "??") or anything else
    asks the pending question again (see the module docstring).

    A confirmation tap confirms (or a "not now" refuses) every purpose awaiting confirmation, so
    a web-form opt-in for service and marketing is completed by the one template tap.

    A new privacy notice: every purpose confirmed under an older one goes back to `asked` in one
    move (consent to the old notice is no consent to the new one, for any purpose). The user is
    then asked purpose by purpose, order updates first and offers only once they are confirmed
    again, each with its own double opt-in: one question for both would bundle marketing with
    the service the user came for, and consent must be given separately for separate purposes
    (GDPR art. 7(2) and recital 43). Marketing is asked again only of those who had it.
    """
    outdated = outdated_purposes(records, notice_version)
    if outdated:
        question = ASK if SERVICE in outdated else ASK_MARKETING
        return Step((EventType.NOTICE_VERSION_CHANGED,), (NOTICE, question), outdated)
    service = records[SERVICE]
    state = service.state
    awaiting = tuple(p for p, r in records.items() if r.state is S.AWAITING_CONFIRMATION)
    if state is S.CONFIRMED:
        return _plan_marketing(records, answer)
    if state is S.ASKED and answer in (Answer.YES, Answer.NO):
        # The open question is about order updates: a yes is its first step, even when a web-form
        # opt-in to offers also awaits its tap (that one is confirmed with the next tap).
        yes = answer is Answer.YES
        return Step(
            (EventType.CONSENT_GIVEN if yes else EventType.REFUSED,),
            (ASK_CONFIRM if yes else REFUSED,),
        )
    if awaiting and answer is Answer.YES:
        if SERVICE not in awaiting:  # a web-form opt-in to offers only
            return Step((EventType.CONFIRMED,), (MARKETING_CONFIRMED,), awaiting)
        return Step((EventType.CONFIRMED,), (CONFIRMED, *_marketing_question(records)), awaiting)
    if awaiting and answer is Answer.NO:
        answer = REFUSED if SERVICE in awaiting else MARKETING_WITHDRAWN
        return Step((EventType.REFUSED,), (answer,), awaiting)
    if state is S.AWAITING_CONFIRMATION:
        return Step((), (ASK_CONFIRM,))
    if state is S.ASKED:
        return Step((), (ASK,))
    if state in (S.WITHDRAWN, S.REFUSED):
        return Step()  # refusal acknowledged once; after STOP only START reopens the flow
    events = events_to_ask(state)
    return Step(events, (NOTICE, ASK) if EventType.NOTICE_SHOWN in events else (ASK,))


def _marketing_question(records: dict[str, ConsentRecord]) -> tuple[str, ...]:
    """The marketing question, when it is owed: marketing is `asked` only after a notice change
    took it back from a user who had confirmed it (the chat never asks it of anyone else)."""
    marketing = records.get(MARKETING)
    return (ASK_MARKETING,) if marketing and marketing.state is S.ASKED else ()


def _plan_marketing(records: dict[str, ConsentRecord], answer: Answer) -> Step:
    """With order updates confirmed: the answer to the marketing question, if one is pending.

    Anything but an answer leaves the question open (the user may ask about an order first);
    a doubtful yes is taken as an attempt to answer, so the question is asked again.
    """
    marketing = records.get(MARKETING)
    state = marketing.state if marketing else S.NONE
    only = (MARKETING,)
    if state is S.ASKED and answer is Answer.YES:
        return Step((EventType.CONSENT_GIVEN,), (ASK_CONFIRM_MARKETING,), only)
    if state is S.AWAITING_CONFIRMATION and answer is Answer.YES:
        return Step((EventType.CONFIRMED,), (MARKETING_CONFIRMED,), only)
    if state in (S.ASKED, S.AWAITING_CONFIRMATION) and answer is Answer.NO:
        return Step((EventType.REFUSED,), (MARKETING_WITHDRAWN,), only)
    if state in (S.ASKED, S.AWAITING_CONFIRMATION) and answer is Answer.UNCLEAR:
        question = ASK_MARKETING if state is S.ASKED else ASK_CONFIRM_MARKETING
        return Step((), (question,), only)
    return Step()


def plan_opt_in(records: dict[str, ConsentRecord], notice_version: str) -> Step:
    """START: a fresh double opt-in from wherever the subject stands.

    The privacy notice comes with the question unless the subject's record shows this very
    notice: consent is informed only if they have seen the notice it is given under (a STOP
    before any notice, a STOP after an erasure, which forgets it, or a notice changed since).
    """
    service = records[SERVICE]
    state = service.state
    events = events_to_ask(state)
    if EventType.OPT_IN_RESTART in events:
        if service.notice_version != notice_version:
            return Step(events, (BACK_IN, NOTICE, ASK))
        return Step(events, (BACK_IN, ASK))
    if events:
        return Step(events, (NOTICE, ASK))
    if state is S.CONFIRMED and not outdated_purposes(records, notice_version):
        return Step((), (CONFIRMED,))  # already subscribed: say so, change nothing
    return plan_consent_step(records, notice_version, Answer.NONE)


def opt_out_scope(intent: str | None, keyword: KeywordMatch) -> tuple[str, ...] | None:
    """Purposes to withdraw: None means all (STOP). Any sign of a full opt-out wins, and so does
    doubt: withdrawing more than asked is reversible by START, sending after STOP is not."""
    if keyword is KeywordMatch.OPT_OUT or intent == "opt_out":
        return None
    if keyword is KeywordMatch.MARKETING_STOP or intent == "stop_marketing":
        return (MARKETING,)
    return None


def slot_events(records: dict[str, ConsentRecord]) -> list[SdkEvent]:
    """The ledger mirrored into the slots ConsentPolicy reads."""
    service = records[SERVICE]
    states = {p: r.state for p, r in records.items()}
    marketing = records.get(MARKETING)
    return [
        SlotSet(decision.SLOT_SERVICE, service.state.value),
        SlotSet(decision.SLOT_MARKETING, marketing.state.value if marketing else None),
        SlotSet(decision.SLOT_OPTED_OUT, is_opted_out(states)),
        SlotSet(
            decision.SLOT_NOTICE_VERSION,
            service.notice_version if service.state is S.CONFIRMED else None,
        ),
    ]


# -- tracker reads and the shared run helpers -------------------------------------------------


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def evidence_id(tracker: Tracker) -> str | None:
    """The channel's keyed hash of the inbound message id (never the wamid itself)."""
    value = tracker.latest_message.get("message_id")
    return str(value) if value else None


def notice_fields(ctx: ComplianceContext, tracker: Tracker) -> dict[str, str]:
    """Values for utter_privacy_notice: the current version and the link in the user's language."""
    language = tracker.get_slot("language") or ctx.settings.default_language
    urls = ctx.settings.notice_url
    url = urls.get(language) or urls[ctx.settings.default_language]
    return {"notice_version": ctx.settings.notice_version, "notice_url": url}


def run_step(
    ctx: ComplianceContext, tracker: Tracker, dispatcher: CollectingDispatcher, step: Step
) -> list[SdkEvent]:
    """Apply `step` to the ledger, utter its responses, return the slot events."""
    subject = tracker.sender_id
    for event in step.events:
        ctx.ledger.apply_many(
            subject,
            step.purposes,
            event,
            method=Method.CHAT,
            notice_version=ctx.settings.notice_version,
            evidence_id=evidence_id(tracker),
        )
    fields = notice_fields(ctx, tracker)
    for response in step.responses:
        dispatcher.utter_message(response=response, **(fields if response == NOTICE else {}))
    events = slot_events(ctx.ledger.records(subject))
    if NOTICE in step.responses:
        events += [SlotSet(k, v) for k, v in fields.items()]
    return events


def _expire_if_due(ctx: ComplianceContext, subject: str) -> dict[str, ConsentRecord]:
    """A late confirmation tap must not confirm: expire the stale first step, then re-read."""
    records = ctx.ledger.records(subject)
    now = ctx.clock()
    due = [p for p, r in records.items() if is_due_for_expiry(r, now, ctx.ledger.pending_expiry)]
    if due:
        try:
            ctx.ledger.apply_many(subject, due, EventType.EXPIRE, at=now, method=Method.SYSTEM)
        except ConsentError:
            pass  # the channel's periodic sweep expired it a moment ago: one receipt, not two
        records = ctx.ledger.records(subject)
    return records


# -- actions ------------------------------------------------------------------------------------


class ActionConsentStep(Action):
    """Next step of the double opt-in: notice + question, confirmation request, confirmed."""

    def name(self) -> str:
        return decision.ACTION_CONSENT_STEP

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[SdkEvent]:
        ctx = get_context()
        records = _expire_if_due(ctx, tracker.sender_id)
        text = tracker.latest_message.get("text")
        answer = consent_answer(latest_intent(tracker), text, ctx.settings.keywords)
        step = plan_consent_step(records, ctx.settings.notice_version, answer)
        return run_step(ctx, tracker, dispatcher, step)


class ActionOptOut(Action):
    """STOP withdraws every purpose (one confirmation); "stop marketing" withdraws marketing."""

    def name(self) -> str:
        return decision.ACTION_OPT_OUT

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[SdkEvent]:
        ctx = get_context()
        subject = tracker.sender_id
        keyword = classify(tracker.latest_message.get("text"), ctx.settings.keywords)
        purposes = opt_out_scope(latest_intent(tracker), keyword)
        receipts = ctx.ledger.withdraw(
            subject, purposes, method=Method.CHAT, evidence_id=evidence_id(tracker)
        )
        if purposes is None:
            withdrew_service = any(r.purpose == SERVICE for r in receipts)
            sent = ctx.ledger.send_context(subject).opt_out_confirmation_sent
            if withdrew_service and not sent:
                dispatcher.utter_message(response=OPT_OUT_CONFIRMED)
        else:
            dispatcher.utter_message(response=MARKETING_WITHDRAWN)
        return slot_events(ctx.ledger.records(subject))


class ActionOptIn(Action):
    """START after an opt-out or a refusal: back to the consent question, double opt-in again."""

    def name(self) -> str:
        return decision.ACTION_OPT_IN

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[SdkEvent]:
        ctx = get_context()
        records = _expire_if_due(ctx, tracker.sender_id)
        step = plan_opt_in(records, ctx.settings.notice_version)
        return run_step(ctx, tracker, dispatcher, step)


class ActionPrivacyNotice(Action):
    """The privacy notice (version and link) on request, at any time; recorded when it is the
    first thing a new subject sees, so the next consent step goes straight to the question."""

    def name(self) -> str:
        return decision.ACTION_PRIVACY_NOTICE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[SdkEvent]:
        ctx = get_context()
        records = ctx.ledger.records(tracker.sender_id)
        shown = allowed(records[SERVICE].state, EventType.NOTICE_SHOWN)
        step = Step((EventType.NOTICE_SHOWN,) if shown else (), (NOTICE,))
        return run_step(ctx, tracker, dispatcher, step)
