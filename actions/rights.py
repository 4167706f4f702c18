"""Data-subject rights in the chat: access (GDPR art. 15, export) and erasure (art. 17).

Export. The action server cannot send a document: it writes the export, sealed under the
subject's own data key (design.md invariant 1: no message text rests in clear, and erasure
shreds the export with everything else), to SIGILLO_DATA_DIR/exports/<pseudonym>-<time>.json
(mode 0600), and returns a json_message for the channel:

    {"sigillo_export": {"file": "exports/<name>.json", "subject": "<pseudonym>",
                        "field": "data_export", "filename": "my-data.json",
                        "mime_type": "application/json"}}

The file is JSON {"format", "subject", "field", "token" (base64)}; the channel opens the token
with gate.open(subject, "data_export", token), uploads the plaintext as a document, deletes it.

Erasure. delete_my_data asks first; an affirm in the next turn erases: the identity vault and the
subject's data key are crypto-shredded, the stored conversation, media and any pending export
deleted, the ledger marked erased, an erasure audit entry appended; then utter_data_deleted and
Restarted + AllSlotsReset, so the tracker keeps nothing of the subject either.
"""

from __future__ import annotations

import base64
import inspect
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, Restarted
from rasa_sdk.events import EventType as SdkEvent
from rasa_sdk.executor import CollectingDispatcher

from actions.compliance_context import ComplianceContext, get_context
from actions.consent import latest_intent
from compliance.consent import ConsentReceipt
from compliance.consent.answers import Answer, consent_answer
from compliance.policy import decision

EXPORT_FORMAT = "sigillo-data-export/v1"
SEALED_FORMAT = "sigillo-sealed-export/v1"
EXPORT_FIELD = "data_export"
EXPORTS_DIR = "exports"
ASK_DELETE = "utter_ask_delete_confirm"
DELETED = "utter_data_deleted"
DELETE_CANCELLED = "utter_delete_cancelled"  # sent only if the domain defines it
SUMMARY = "utter_data_export_summary"
_MEDIA_LABELS = {"en": "Media files", "it": "File multimediali"}
_SUMMARY_LABELS = {
    "en": ("Consent", "Consent changes", "Messages", "Identity"),
    "it": ("Consenso", "Modifiche al consenso", "Messaggi", "Identità"),
}


def identity_kind(events: Sequence[Mapping[str, Any]]) -> str:
    """phone / bsuid / unknown, from the channel's metadata (country_code, region): the action
    server never reads the identifier itself."""
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        metadata = event.get("metadata") or {}
        if metadata.get("country_code"):
            return "phone"
        if metadata.get("region"):
            return "bsuid"
    return "unknown"


def conversation(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """User and bot messages only, in order: what was said, when, and the intent understood."""
    out: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind not in ("user", "bot"):
            continue
        item: dict[str, Any] = {"from": kind, "text": event.get("text")}
        if event.get("timestamp") is not None:
            moment = datetime.fromtimestamp(float(event["timestamp"]), timezone.utc)
            item["time"] = moment.isoformat()
        if kind == "user":
            item["intent"] = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        out.append(item)
    return out


def build_export(
    subject: str,
    now: datetime,
    states: Mapping[str, Any],
    history: Sequence[ConsentReceipt],
    messages: list[dict[str, Any]],
    kind: str,
    media: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The access-request document: consent now and its history, the conversation, identity,
    and the media files the subject sent (metadata: the files stay sealed, not re-sent)."""
    return {
        "format": EXPORT_FORMAT,
        "generated_at": now.isoformat(),
        "subject": subject,
        "identity": {
            "kind": kind,
            "note": "your identifier is stored only encrypted; the data controller can confirm it",
        },
        "consent": {
            "current": {p: getattr(s, "value", s) for p, s in states.items()},
            "history": [_receipt(r) for r in history],
        },
        "conversation": messages,
        "media": {
            "count": len(media),
            "items": [dict(item) for item in media],
            "note": "files you sent are stored encrypted; the data controller can provide copies",
        },
    }


def summary_fields(document: Mapping[str, Any], language: str) -> dict[str, Any]:
    """Counts for utter_data_export_summary, and `data_summary` for its current text."""
    labels = _SUMMARY_LABELS.get(language, _SUMMARY_LABELS["en"])
    current = document["consent"]["current"]
    fields: dict[str, Any] = {
        "consent_summary": ", ".join(f"{p}: {s}" for p, s in current.items()),
        "consent_change_count": len(document["consent"]["history"]),
        "message_count": len(document["conversation"]),
        "identity_kind": document["identity"]["kind"],
    }
    values = ("consent_summary", "consent_change_count", "message_count", "identity_kind")
    lines = [f"• {label}: {fields[key]}" for label, key in zip(labels, values, strict=True)]
    fields["media_count"] = int((document.get("media") or {}).get("count") or 0)
    if fields["media_count"]:
        media_label = _MEDIA_LABELS.get(language, _MEDIA_LABELS["en"])
        lines.append(f"• {media_label}: {fields['media_count']}")
    fields["data_summary"] = "\n".join(lines)
    return fields


def erase_pending(events: Sequence[Mapping[str, Any]], service_state: str | None = None) -> bool:
    """True if this action asked "are you sure?" in the previous bot turn and the question
    still stands (decision.erase_question_stands, as ConsentPolicy reads it)."""
    seen_current_user = False
    last_bot_action: str | None = None
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if not seen_current_user:
                seen_current_user = True
                continue
            if last_bot_action != decision.ACTION_DATA_ERASE:
                return False
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            return decision.erase_question_stands(intent, service_state)
        if seen_current_user and kind == "action" and last_bot_action is None:
            if event.get("name") != "action_listen":
                last_bot_action = event.get("name")
    return False


def write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 (never replacing a file), parents 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _receipt(receipt: ConsentReceipt) -> dict[str, Any]:
    return {k: v for k, v in receipt.as_audit_dict().items() if k not in ("type", "subject")}


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _stored_events(ctx: ComplianceContext, tracker: Tracker) -> list[Mapping[str, Any]]:
    """Every stored event across sessions if the tracker store can give them, else the events
    Rasa sent with this call (the current session)."""
    store = ctx.tracker_store
    if store is not None and hasattr(store, "retrieve_full_tracker"):
        full = await _maybe_await(store.retrieve_full_tracker(tracker.sender_id))
        if full is not None:
            return [e.as_dict() if hasattr(e, "as_dict") else e for e in full.events]
    return list(tracker.events)


def media_of(ctx: ComplianceContext, subject: str) -> list[dict[str, Any]]:
    """The subject's stored media, metadata only; [] where the context has no media store."""
    if ctx.media is None:
        return []
    return [item.as_dict() for item in ctx.media.list(subject)]


def _export_paths(ctx: ComplianceContext, subject: str) -> list[Path]:
    return sorted((ctx.data_dir / EXPORTS_DIR).glob(f"{subject}-*.json"))


# -- actions --------------------------------------------------------------------------------------


class ActionDataExport(Action):
    """"What data do you have on me?": a summary now, the full export as a sealed document."""

    def name(self) -> str:
        return decision.ACTION_DATA_EXPORT

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[SdkEvent]:
        ctx = get_context()
        subject, now = tracker.sender_id, ctx.clock()
        events = await _stored_events(ctx, tracker)
        document = build_export(
            subject,
            now,
            ctx.ledger.state(subject),
            ctx.ledger.history(subject),
            conversation(events),
            identity_kind(events) if events else identity_kind(tracker.events),
            media_of(ctx, subject),
        )
        language = tracker.get_slot("language") or ctx.settings.default_language
        fields = summary_fields(document, language)
        name = f"{subject}-{now.strftime('%Y%m%dT%H%M%S%fZ')}.json"
        size = self._write(ctx, subject, ctx.data_dir / EXPORTS_DIR / name, document)
        dispatcher.utter_message(response=SUMMARY, **fields)
        dispatcher.utter_message(
            json_message={
                "sigillo_export": {
                    "file": f"{EXPORTS_DIR}/{name}",
                    "subject": subject,
                    "field": EXPORT_FIELD,
                    "filename": "my-data.json",
                    "mime_type": "application/json",
                }
            }
        )
        ctx.audit_entry(
            "access_request",
            subject,
            {
                "consent_change_count": fields["consent_change_count"],
                "message_count": fields["message_count"],
                "export_size_bytes": size,
            },
        )
        return []

    @staticmethod
    def _write(ctx: ComplianceContext, subject: str, path: Path, document: dict) -> int:
        if ctx.subject_keys is None:
            raise RuntimeError("data export needs the subject key store (compliance.identity)")
        plain = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        token = ctx.subject_keys.seal_for(subject, EXPORT_FIELD, plain)
        sealed = {
            "format": SEALED_FORMAT,
            "subject": subject,
            "field": EXPORT_FIELD,
            "token": base64.b64encode(token).decode("ascii"),
        }
        write_private(path, json.dumps(sealed).encode("utf-8"))
        return len(plain)


class ActionDataErase(Action):
    """"Delete my data": asks first; on an explicit yes erases everything and says so once."""

    def name(self) -> str:
        return decision.ACTION_DATA_ERASE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[SdkEvent]:
        # Erasure cannot be undone: it takes the same unambiguous yes as consent (the button's
        # payload or a keywords.confirm word), never a classifier's guess that "??" is affirm.
        ctx = get_context()
        text = tracker.latest_message.get("text")
        answer = consent_answer(latest_intent(tracker), text, ctx.settings.keywords)
        service_state = tracker.get_slot(decision.SLOT_SERVICE)
        if not erase_pending(tracker.events, service_state) or answer in (
            Answer.NONE,
            Answer.UNCLEAR,
        ):
            dispatcher.utter_message(response=ASK_DELETE)
            return []
        if answer is Answer.NO:
            if DELETE_CANCELLED in (domain.get("responses") or {}):
                dispatcher.utter_message(response=DELETE_CANCELLED)
            return []
        await erase_subject(ctx, tracker.sender_id)
        dispatcher.utter_message(response=DELETED)
        return [AllSlotsReset(), Restarted()]


async def erase_subject(ctx: ComplianceContext, subject: str) -> dict[str, Any]:
    """Erase one subject everywhere the action server reaches; returns the audited counts.

    Order: keys first (from then on nothing of the subject can be read, even if a later step
    fails), then rows, then the ledger, then the audit entry that records it all.
    """
    destroyed = 0
    if ctx.vault is not None:
        try:
            destroyed += len(ctx.vault.erase(subject))
        except LookupError:  # UnknownSubject: no identity recorded; the key store still runs
            pass
    if ctx.subject_keys is not None and ctx.subject_keys.destroy(subject):
        destroyed += 1
    media_deleted = ctx.media.delete_subject(subject) if ctx.media is not None else 0
    store, conversation_deleted = ctx.tracker_store, False
    if store is not None and hasattr(store, "delete"):
        conversation_deleted = bool(await _maybe_await(store.delete(subject)))
    exports = _export_paths(ctx, subject)
    for path in exports:
        path.unlink(missing_ok=True)
    receipts = ctx.ledger.mark_erased(subject)
    counts = {
        "keys_destroyed_count": destroyed,
        "conversation_deleted": conversation_deleted,
        "consent_purposes_count": len(receipts),
        "exports_deleted_count": len(exports),
        "media_deleted_count": media_deleted,
    }
    ctx.audit_entry("erasure", subject, counts)
    return counts
