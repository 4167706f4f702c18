"""After STOP, a data-subject request is recorded for the DPO and nothing is sent."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from actions.rights_requests import ActionRecordRightsRequest


@pytest.mark.parametrize(
    "intent, kind_of_request", [("ask_my_data", "access"), ("delete_my_data", "erasure")]
)
def test_the_request_is_audited_and_nothing_is_sent(ctx, chat, intent, kind_of_request) -> None:
    chat.say(intent)
    assert chat.run(ActionRecordRightsRequest()) == []
    engine = ctx.ledger._engine  # the action server's own database
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT kind, attributes FROM audit_entries WHERE subject = :s"),
            {"s": chat.sender_id},
        ).all()
    assert [r.kind for r in rows] == ["access_request"]
    assert f'"request":"{kind_of_request}"' in rows[0].attributes.replace(" ", "")
    assert "pending_operator" in rows[0].attributes
