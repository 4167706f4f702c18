"""What the bot may do next, given consent: the pure core of ConsentPolicy.

Rasa runs its policies independently, so ConsentPolicy cannot see what the others predicted; it
therefore names the action itself whenever consent demands it and abstains otherwise. `decide`
is that choice; `review` answers the same question for an action proposed by someone else
(keep it or overrule it), which is what tests and the e2e property checks ask.

The contract with the action server (actions/consent.py and friends):
- the consent actions below read and write the consent ledger, send their own responses, and set
  the slots `consent_state_service`, `consent_state_marketing`, `opted_out` (bool) and
  `notice_version_accepted`; the ledger, not the slots, is the truth, so an action is always
  safe to run: it sends nothing the ledger forbids;
- each consent action ends the bot's turn (ConsentPolicy predicts action_listen after it).
"""

from __future__ import annotations

from dataclasses import dataclass

from compliance.consent.answers import Answer
from compliance.consent.keywords import KeywordMatch

ACTION_LISTEN = "action_listen"
ACTION_CONSENT_STEP = "action_consent_step"  # next step of the double opt-in, from the ledger
ACTION_OPT_OUT = "action_opt_out"  # STOP (all purposes) or stop_marketing (marketing only)
ACTION_OPT_IN = "action_opt_in"  # START after opt-out or refusal: fresh double opt-in
ACTION_PRIVACY_NOTICE = "action_privacy_notice"
ACTION_DATA_EXPORT = "action_data_export"
ACTION_DATA_ERASE = "action_data_erase"  # asks for confirmation, then erases on an explicit yes


def erase_question_stands(answered_intent: str | None, service_state: str | None) -> bool:
    """After action_data_erase spoke, whether its "are you sure?" still awaits an answer: it
    asked in reply to delete_my_data, or asked again after a doubtful yes. An explicit yes
    erased (the ledger's erased state, mirrored in the service slot, ends the question) and a
    no cancelled. ConsentPolicy and the action both ask this, so they cannot disagree."""
    return answered_intent == "delete_my_data" or (
        answered_intent == "affirm" and service_state != "erased"
    )
# After STOP the bot may not write, but a data-subject request must still be served (GDPR art.
# 12, 15, 17): it is recorded, silently, for the data protection officer (`rights` CLI).
ACTION_RECORD_RIGHTS_REQUEST = "action_record_rights_request"

CONSENT_ACTIONS = frozenset(
    {
        ACTION_CONSENT_STEP,
        ACTION_OPT_OUT,
        ACTION_OPT_IN,
        ACTION_PRIVACY_NOTICE,
        ACTION_DATA_EXPORT,
        ACTION_DATA_ERASE,
        ACTION_RECORD_RIGHTS_REQUEST,
    }
)
# Responses the consent flow may send before consent (the consent actions send the rest).
CONSENT_RESPONSES = frozenset(
    {
        "utter_privacy_notice",
        "utter_ask_consent",
        "utter_ask_confirm_consent",
        "utter_consent_refused",
        "utter_help",
    }
)
# Every response of the consent flow and the data-subject rights, wherever it is sent from
# (ConsentPolicy, the consent actions): the lint, the channel's send guard and the tests classify
# messages by this one list.
COMPLIANCE_RESPONSES = (
    "utter_privacy_notice",
    "utter_ask_consent",
    "utter_ask_confirm_consent",
    "utter_consent_confirmed",
    "utter_consent_refused",
    "utter_opt_out_confirmed",
    "utter_opted_back_in_start",
    "utter_marketing_withdrawn",
    "utter_ask_marketing_consent",
    "utter_ask_confirm_marketing",
    "utter_marketing_confirmed",
    "utter_ask_delete_confirm",
    "utter_data_deleted",
    "utter_delete_cancelled",
    "utter_data_export_summary",
    "utter_help",
)
# Rasa default actions that send nothing.
SILENT_DEFAULT_ACTIONS = frozenset(
    {ACTION_LISTEN, "action_session_start", "action_deactivate_loop", "action_unlikely_intent"}
)
ALLOWED_BEFORE_CONSENT = CONSENT_ACTIONS | CONSENT_RESPONSES | SILENT_DEFAULT_ACTIONS

SLOT_SERVICE = "consent_state_service"
SLOT_MARKETING = "consent_state_marketing"
SLOT_OPTED_OUT = "opted_out"
SLOT_NOTICE_VERSION = "notice_version_accepted"

_RIGHTS_INTENTS = {
    "ask_privacy": ACTION_PRIVACY_NOTICE,
    "ask_my_data": ACTION_DATA_EXPORT,
    "delete_my_data": ACTION_DATA_ERASE,
}


@dataclass(frozen=True)
class ConsentView:
    """The facts of the tracker that consent depends on (built by ConsentPolicy).

    at_user_turn: the latest action is action_listen and a user message awaits an answer.
    latest_action: the action that just ran, when not at a user turn.
    pending_question: a consent action that asked a yes/no question in the previous bot turn
    and awaits the answer: action_data_erase's "are you sure?", or action_consent_step (whose
    question, once order updates are confirmed, can only be the marketing one).
    marketing_state: the `consent_state_marketing` slot.
    answer: the message as an answer to a consent question (compliance/consent/answers.py):
    only YES (the Yes/Confirm payload or a keywords.confirm word) may lead to a consent step
    where the flow is otherwise silent; the NLU's `affirm` alone is UNCLEAR.
    optin_awaiting: the ledger holds a first opt-in made outside the chat (the shop's web form)
    awaiting this user's confirmation. The slots cannot show it (it happened outside the
    conversation), so ConsentPolicy reads it from the ledger, and only for an explicit yes of a
    subscribed user that answers no question of ours.
    """

    service_state: str | None
    opted_out: bool
    notice_version_accepted: str | None
    current_notice_version: str
    latest_intent: str | None
    keyword: KeywordMatch
    at_user_turn: bool
    latest_action: str | None = None
    pending_question: str | None = None
    marketing_state: str | None = None
    answer: Answer = Answer.NONE
    optin_awaiting: bool = False

    @property
    def needs_optin_lookup(self) -> bool:
        """Whether `optin_awaiting` can change the decision (the only case it is read for)."""
        return (
            self.at_user_turn
            and self.consent_confirmed
            and self.answer is Answer.YES
            and self.pending_question is None
        )

    @property
    def consent_confirmed(self) -> bool:
        """Confirmed double opt-in for `service`, on the current notice, not opted out."""
        return (
            self.service_state == "confirmed"
            and not self.opted_out
            and self.notice_version_accepted == self.current_notice_version
        )

    @property
    def marketing_confirmed(self) -> bool:
        """Confirmed double opt-in for `marketing` too, on the current notice. A notice change
        takes every purpose back to `asked` together (actions/consent.py), so the service
        purpose's accepted version stands for marketing's; marketing consent under an older
        notice is thus never confirmed here, as the channel's send guard also refuses it."""
        return self.consent_confirmed and self.marketing_state == "confirmed"

    @property
    def marketing_answer_pending(self) -> bool:
        """The consent step asked the marketing question (or its confirmation) last turn."""
        return self.pending_question == ACTION_CONSENT_STEP and self.marketing_state in (
            "asked",
            "awaiting_confirmation",
        )


@dataclass(frozen=True)
class Abstain:
    """ConsentPolicy has nothing to say; the other policies decide."""

    reason: str


@dataclass(frozen=True)
class Run:
    """ConsentPolicy must win with this action."""

    action: str
    reason: str


@dataclass(frozen=True)
class Keep:
    action: str


@dataclass(frozen=True)
class Overrule:
    action: str
    reason: str


def decide(view: ConsentView) -> Abstain | Run:
    """The action consent requires next, or Abstain when any allowed action may follow."""
    if not view.at_user_turn:
        return _after_action(view)
    intent, keyword = view.latest_intent, view.keyword

    # Opt-out pre-empts everything, at any point of any conversation.
    if keyword is KeywordMatch.OPT_OUT or intent == "opt_out":
        if view.opted_out:
            return Run(ACTION_LISTEN, "already opted out: the one confirmation was sent")
        return Run(ACTION_OPT_OUT, "opt-out requested")
    if keyword is KeywordMatch.MARKETING_STOP or intent == "stop_marketing":
        if view.opted_out:
            return Run(ACTION_LISTEN, "opted out: nothing is sent")
        return Run(ACTION_OPT_OUT, "marketing opt-out requested")
    if keyword is KeywordMatch.OPT_IN or intent == "opt_in":
        return Run(ACTION_OPT_IN, "opt-in requested: fresh double opt-in")
    if view.opted_out or view.service_state == "refused":
        if view.answer is Answer.YES:
            # A confirmation tap may answer a newer web-form opt-in that the ledger holds but
            # the slots do not show yet; the action sends nothing if the ledger forbids it.
            return Run(ACTION_CONSENT_STEP, "possible confirmation of an external opt-in")
        if view.opted_out and intent in ("ask_my_data", "delete_my_data"):
            return Run(ACTION_RECORD_RIGHTS_REQUEST, "opted out: request recorded, nothing sent")
        if view.opted_out:
            return Run(ACTION_LISTEN, "opted out: nothing is sent until opt-in")
    if view.pending_question == ACTION_DATA_ERASE and view.answer is not Answer.NONE:
        # A doubtful yes too: the action asks again rather than erase on a guess.
        return Run(ACTION_DATA_ERASE, "answer to the erasure confirmation")
    if intent in _RIGHTS_INTENTS:
        return Run(_RIGHTS_INTENTS[intent], f"data-subject request: {intent}")
    if view.marketing_answer_pending and view.answer is not Answer.NONE:
        # A doubtful yes too: the consent step asks the marketing question again.
        return Run(ACTION_CONSENT_STEP, "answer to the marketing question")
    if view.consent_confirmed and view.optin_awaiting and view.answer is Answer.YES:
        # The Confirm tap on the opt-in template, e.g. for offers chosen on the shop's web form
        # by someone already receiving order updates: the consent step confirms what awaits.
        return Run(ACTION_CONSENT_STEP, "confirmation of an opt-in made outside the chat")
    if view.consent_confirmed:
        return Abstain("consent confirmed")
    if intent == "help":
        return Run("utter_help", "help is answered before consent")
    if view.service_state == "refused":
        return Run(ACTION_LISTEN, "refusal was acknowledged once; nothing more is sent")
    if view.service_state == "confirmed":
        return Run(ACTION_CONSENT_STEP, "privacy notice changed: ask again")
    return Run(ACTION_CONSENT_STEP, "no confirmed consent: next consent step")


def _after_action(view: ConsentView) -> Abstain | Run:
    if view.latest_action in CONSENT_ACTIONS or view.latest_action in CONSENT_RESPONSES:
        return Run(ACTION_LISTEN, "a consent-flow action ends the bot's turn")
    if view.consent_confirmed and view.optin_awaiting and view.answer is Answer.YES:
        # The Confirm tap on the opt-in template, e.g. for offers chosen on the shop's web form
        # by someone already receiving order updates: the consent step confirms what awaits.
        return Run(ACTION_CONSENT_STEP, "confirmation of an opt-in made outside the chat")
    if view.consent_confirmed:
        return Abstain("consent confirmed")
    return Run(ACTION_LISTEN, "no confirmed consent: nothing more this turn")


def review(view: ConsentView, proposed: str) -> Keep | Overrule:
    """Keep `proposed` if consent allows it here, else overrule it with what consent requires."""
    decision = decide(view)
    if isinstance(decision, Abstain) or decision.action == proposed:
        return Keep(proposed)
    return Overrule(decision.action, decision.reason)
