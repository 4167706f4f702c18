"""The last check before any message leaves: may this message go to this subject now?

The WhatsApp output channel calls `may_send` before every send, after Rasa's policies have run,
so that consent holds even if a policy, a rule or a custom action gets it wrong (design.md,
invariant 4). The rules, in order:

1. Opted out: nothing but the single opt-out confirmation (and only once).
2. An opt-out confirmation to a subject who is not opted out is a mislabelled message: refused.
3. Consent-flow messages (notice, consent question, confirmation request, refusal ack, help,
   rights answers) go without consent: they are how consent is obtained.
4. Business messages need confirmed consent for the message's purpose, given under the current
   privacy notice: consent to an older notice is refused as `notice_outdated` until the user
   confirms again (the consent flow asks at their next message).
5. Outside the 24-hour window only templates go; free-form is refused, or replaced by the
   configured template when one is available.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum

from compliance.consent.model import ConsentState


class MessageKind(str, Enum):
    CONSENT_FLOW = "consent_flow"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    BUSINESS = "business"


class RefuseReason(str, Enum):
    OPTED_OUT = "opted_out"
    OPT_OUT_CONFIRMATION_ALREADY_SENT = "opt_out_confirmation_already_sent"
    NOT_OPTED_OUT = "not_opted_out"
    NO_CONSENT = "no_consent"
    NOTICE_OUTDATED = "notice_outdated"
    OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True)
class Allow:
    """Send the message as it is."""


@dataclass(frozen=True)
class Refuse:
    """Do not send; audit the refusal with `reason` (never the text)."""

    reason: RefuseReason


@dataclass(frozen=True)
class UseTemplate:
    """Send the template instead; name None means the window template of compliance.yml."""

    name: str | None


SendDecision = Allow | Refuse | UseTemplate


def may_send(
    state_by_purpose: Mapping[str, ConsentState],
    message_purpose: str,
    message_kind: MessageKind | str,
    opted_out: bool,
    opt_out_confirmation_sent: bool,
    window_open: bool,
    template_available: bool,
    *,
    is_template: bool = False,
    template_name: str | None = None,
    outdated_purposes: Collection[str] = frozenset(),
) -> SendDecision:
    """Decide whether one outbound message may be sent (rules in the module docstring).

    is_template: the message already is an approved template (allowed outside the window).
    template_available / template_name: a replacement template for free-form outside the window.
    outdated_purposes: purposes confirmed under an older privacy notice (transitions.is_outdated).
    """
    kind = MessageKind(message_kind)
    if opted_out:
        if kind is not MessageKind.OPT_OUT_CONFIRMATION:
            return Refuse(RefuseReason.OPTED_OUT)
        if opt_out_confirmation_sent:
            return Refuse(RefuseReason.OPT_OUT_CONFIRMATION_ALREADY_SENT)
        return _window(window_open, is_template, template_available=False, template_name=None)
    if kind is MessageKind.OPT_OUT_CONFIRMATION:
        return Refuse(RefuseReason.NOT_OPTED_OUT)
    if kind is MessageKind.BUSINESS:
        if state_by_purpose.get(message_purpose, ConsentState.NONE) is not ConsentState.CONFIRMED:
            return Refuse(RefuseReason.NO_CONSENT)
        if message_purpose in outdated_purposes:
            return Refuse(RefuseReason.NOTICE_OUTDATED)
    return _window(window_open, is_template, template_available, template_name)


def _window(
    window_open: bool, is_template: bool, template_available: bool, template_name: str | None
) -> SendDecision:
    if window_open or is_template:
        return Allow()
    if template_available:
        return UseTemplate(template_name)
    return Refuse(RefuseReason.OUTSIDE_WINDOW)
