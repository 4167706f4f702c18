"""Data-subject requests from a user who said STOP: recorded for the DPO, answered by nobody.

After an opt-out the bot sends nothing but the one confirmation (design.md invariant 4), yet a
request to see or erase one's data must still be served (GDPR art. 12, 15 and 17). ConsentPolicy
therefore runs this action instead of the rights flows: it sends nothing and appends an
`access_request` audit entry marked `pending_operator`, which the DPO finds in the audit log and
serves with `python -m compliance rights export|erase`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType as SdkEvent
from rasa_sdk.executor import CollectingDispatcher

from actions.compliance_context import get_context
from actions.consent import latest_intent
from compliance.policy import decision

REQUEST_OF_INTENT = {"ask_my_data": "access", "delete_my_data": "erasure"}


class ActionRecordRightsRequest(Action):
    def name(self) -> str:
        return decision.ACTION_RECORD_RIGHTS_REQUEST

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[SdkEvent]:
        request = REQUEST_OF_INTENT.get(latest_intent(tracker) or "", "access")
        get_context().audit_entry(
            "access_request",
            tracker.sender_id,
            {"request": request, "status": "pending_operator", "channel": "chat_after_opt_out"},
        )
        return []
