"""The invariants of one WhatsApp conversation, judged from what the user received (the
simulator's outbox) and what the audit log holds about them (design.md invariants 3 and 4).

Pure: test_random_conversations.py collects the inputs from the running stack, and
test_conversation_audit.py feeds hand-made logs to show that each check can fail.

How a delivered message is identified: the simulator knows the wamid it gave each message, the
audit log knows only its keyed hash and the response name (`outbound_message.response`); the
caller hashes the wamids with the stack's keyring, as the gate does, so the two sides meet.

Which turn an entry belongs to: turns run one at a time per sender, and each ends with the
tracker's save, whose `bot_action` entries name the message they answered (`in_reply_to`): so
the consent changes, refusals and replies since the previous turn's save belong to the turn
whose save comes next, in the order they happened. Where the `inbound_message` entries fall does
not matter (the channel writes one when the turn starts; the hand-made logs also put several
ahead of their turns, as a channel that audits on arrival would).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compliance.consent.keywords import KeywordMatch
from compliance.policy.decision import COMPLIANCE_RESPONSES

OPT_OUT_CONFIRMATION = "utter_opt_out_confirmed"
ASK_CONFIRM = "utter_ask_confirm_consent"
# The data export reaches the user as a document (output_channel._send_export names it so): the
# answer to an access request, which the rights flow serves before consent.
EXPORT_DOCUMENT = "data_export_document"
CONSENT_FLOW = (frozenset(COMPLIANCE_RESPONSES) | {EXPORT_DOCUMENT}) - {OPT_OUT_CONFIRMATION}
SERVICE = "service"


@dataclass(frozen=True)
class UserStep:
    """One thing the user did, as the test did it."""

    label: str  # for failure messages, e.g. "text 'STOP'" or "tap 'Confirm'"
    message_hash: str  # keyed hash of the wamid the simulator gave the message
    keyword: KeywordMatch = KeywordMatch.NONE  # whole-message keyword of the text it carried
    affirmative: bool = False  # a tap on an "/affirm" button, or a yes typed


@dataclass(frozen=True)
class Delivered:
    """One message the simulator accepted for the user, with the statuses it reported."""

    message_hash: str
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """An audit entry of the subject: seq, kind and decoded attributes."""

    seq: int
    kind: str
    attributes: Mapping[str, Any]


@dataclass
class Turn:
    step: int | None  # index into the steps; None for an inbound the user never sent
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    turns: list[Turn]
    violations: list[str]

    def transcript(self, steps: Sequence[UserStep]) -> str:
        lines = []
        for turn in self.turns:
            who = steps[turn.step].label if turn.step is not None else "<unknown inbound>"
            lines.append(f"  {turn.step}: {who} -> {', '.join(turn.notes) or '(nothing)'}")
        return "\n".join(lines)


def check_conversation(
    steps: Sequence[UserStep], delivered: Sequence[Delivered], entries: Sequence[Entry]
) -> Report:
    """Every violation of the invariants in one conversation (an empty list when it is clean)."""
    violations = _audit_coverage(steps, delivered, entries)
    walk = _Walk(steps, {d.message_hash for d in delivered})
    for turn_hash, turn_entries in _turns(sorted(entries, key=lambda e: e.seq)):
        walk.end_turn()
        walk.start_turn(walk.step_of.get(turn_hash) if turn_hash is not None else None)
        for entry in turn_entries:
            walk.see(entry)
    walk.end_turn()
    return Report(walk.turns, violations + walk.violations)


def _turns(entries: Sequence[Entry]) -> list[tuple[str | None, list[Entry]]]:
    """The log cut into turns: (the message a turn answered, what it did). Entries before the
    first inbound message (an operator's opt-in, say) form a turn of no message; entries after
    the last save (none once the conversation is idle) a last turn of no message."""
    turns: list[tuple[str | None, list[Entry]]] = []
    first_inbound = next((e.seq for e in entries if e.kind == "inbound_message"), None)
    before = [e for e in entries if first_inbound is None or e.seq < first_inbound]
    if before:
        turns.append((None, before))
    current: tuple[str | None, list[Entry]] | None = None
    pending: list[Entry] = []
    for entry in entries[len(before) :]:
        if entry.kind == "bot_action":
            answered = entry.attributes.get("in_reply_to")
            if current is None or current[0] != answered or pending:
                current = (answered, pending)
                turns.append(current)
                pending = []
        elif entry.kind != "inbound_message":
            pending.append(entry)
    if pending:
        turns.append((None, pending))
    return turns


def _audit_coverage(
    steps: Sequence[UserStep], delivered: Sequence[Delivered], entries: Sequence[Entry]
) -> list[str]:
    """Every inbound, outbound and status has exactly one entry, and nothing else does."""
    found: list[str] = []
    by_kind: dict[str, Counter[Any]] = {
        "inbound_message": Counter(),
        "outbound_message": Counter(),
        "delivery_status": Counter(),
    }
    for e in entries:
        if e.kind in ("inbound_message", "outbound_message"):
            by_kind[e.kind][e.attributes.get("message_id_hash")] += 1
        elif e.kind == "delivery_status" and e.attributes.get("message_id_hash"):
            by_kind[e.kind][(e.attributes["message_id_hash"], e.attributes.get("status"))] += 1
    inbound, outbound, statuses = by_kind.values()
    for i, step in enumerate(steps):
        if inbound[step.message_hash] != 1:
            found.append(
                f"inbound audit: step {i} ({step.label}) has "
                f"{inbound[step.message_hash]} inbound_message entries, not 1"
            )
    if stray := set(inbound) - {s.message_hash for s in steps}:
        found.append(f"inbound audit: {len(stray)} inbound entries for messages never sent")
    for i, message in enumerate(delivered):
        if outbound[message.message_hash] != 1:
            found.append(
                f"outbound audit: delivered message {i} has "
                f"{outbound[message.message_hash]} outbound_message entries, not 1"
            )
        for status in message.statuses:
            if statuses[(message.message_hash, status)] != 1:
                found.append(
                    f"status audit: '{status}' of delivered message {i} has "
                    f"{statuses[(message.message_hash, status)]} delivery_status entries, not 1"
                )
    if stray := set(outbound) - {d.message_hash for d in delivered}:
        found.append(
            f"outbound audit: {len(stray)} messages audited as sent never reached the user"
        )
    return found


class _Walk:
    """Replays the subject's log in order: consent state from the consent_change entries, and
    what reached the user from the outbound_message entries of delivered messages."""

    def __init__(self, steps: Sequence[UserStep], delivered: set[str]) -> None:
        self.steps = steps
        self.step_of = {s.message_hash: i for i, s in enumerate(steps)}
        self.delivered = delivered
        self.turns: list[Turn] = []
        self.violations: list[str] = []
        self.state = "none"  # of the service purpose
        self.asked_to_confirm = False  # the user saw the confirmation request of this opt-in
        self.silent_since: int | None = None  # turn index of the opt-out in force, if any
        self.opt_out_confirmed = False  # the one confirmation of that opt-out went out
        self.refused: Counter[str | None] = Counter()
        self.state_at_turn_start = self.state

    @property
    def turn(self) -> Turn:
        if not self.turns:  # entries before any inbound (e.g. an operator's opt-in)
            self.turns.append(Turn(step=None))
        return self.turns[-1]

    def fail(self, rule: str, what: str) -> None:
        self.violations.append(f"{rule}: turn {len(self.turns) - 1}: {what}")

    def see(self, entry: Entry) -> None:
        attributes = entry.attributes
        if entry.kind == "consent_change" and attributes.get("purpose") == SERVICE:
            self.consent_change(attributes)
        elif entry.kind == "send_refused":
            self.refused[attributes.get("response")] += 1
            self.turn.notes.append(f"(refused {attributes.get('response')})")
        elif entry.kind == "outbound_message":
            if attributes.get("message_id_hash") in self.delivered:
                self.outbound(attributes.get("response"))

    def start_turn(self, step: int | None) -> None:
        self.turns.append(Turn(step=step))
        self.refused.clear()
        self.state_at_turn_start = self.state
        keyword = self.steps[step].keyword if step is not None else KeywordMatch.NONE
        if keyword is KeywordMatch.OPT_OUT and self.silent_since is None:
            self.silence()
        elif keyword is KeywordMatch.OPT_IN:
            self.silent_since = None  # START: the double opt-in may run again

    def end_turn(self) -> None:
        if not self.turns or self.turn.step is None:
            return
        step = self.steps[self.turn.step]
        if step.keyword is KeywordMatch.OPT_OUT and self.state != "withdrawn":
            self.fail("opt-out", f"{step.label} left the service consent '{self.state}'")
        if step.keyword is KeywordMatch.OPT_IN and self.state_at_turn_start == "withdrawn":
            if self.state == "withdrawn":
                self.fail("opt-in", f"{step.label} left the user opted out")

    def silence(self) -> None:
        self.silent_since = len(self.turns) - 1
        self.opt_out_confirmed = False

    def consent_change(self, attributes: Mapping[str, Any]) -> None:
        before, after = self.state, str(attributes.get("to_state"))
        self.turn.notes.append(f"[{before} -> {after}]")
        if after == "withdrawn" and self.silent_since is None:
            self.silence()  # an opt-out the NLU understood ("please stop writing to me")
        elif attributes.get("event") == "opt_in_restart":
            self.silent_since = None
        if after == "awaiting_confirmation":
            self.asked_to_confirm = False
        if after == "confirmed":
            step = self.steps[self.turn.step] if self.turn.step is not None else None
            if before != "awaiting_confirmation" or not self.asked_to_confirm:
                self.fail("double opt-in", "confirmed without a confirmation request first")
            if step is None or not step.affirmative:
                label = step.label if step else "no user message"
                self.fail("double opt-in", f"confirmed by {label}, not by a yes")
        self.state = after

    def outbound(self, response: str | None) -> None:
        self.turn.notes.append(str(response))
        if self.refused[response]:
            self.fail("refused send", f"{response} was refused and still reached the user")
        if self.silent_since is not None or self.state == "withdrawn":
            # The one confirmation, in the turn that opted out; nothing else until START.
            first = response == OPT_OUT_CONFIRMATION and not self.opt_out_confirmed
            if not first or self.silent_since != len(self.turns) - 1:
                self.fail("opt-out", f"{response} reached a user who had opted out")
            self.opt_out_confirmed = True
        elif response == OPT_OUT_CONFIRMATION:
            self.fail("opt-out", "an opt-out confirmation reached a user who had not opted out")
        elif response not in CONSENT_FLOW and self.state != "confirmed":
            self.fail("consent", f"{response} reached the user with service consent '{self.state}'")
        if response == ASK_CONFIRM:
            self.asked_to_confirm = True
