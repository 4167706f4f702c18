"""The fault schedule: programmed faults are consumed in order; bad specs name the field."""

from __future__ import annotations

import pytest

from connectors.whatsapp.simulator.faults import FaultSchedule, FaultSpecError, RetryPolicy
from connectors.whatsapp.simulator.state import Conversation, SendPolicy


def test_graph_errors_are_consumed_in_order() -> None:
    faults = FaultSchedule()
    faults.program([{"kind": "graph_error", "status": 429, "count": 2, "retry_after": 2},
                    {"kind": "graph_error", "status": 500}])
    first, second, third = (faults.next_graph_fault() for _ in range(3))
    assert first is not None and first.error.code == 130429 and first.retry_after == 2
    assert first.error.http_status == 429 and first.error.subcode == 2494055
    assert second == first
    assert third is not None and (third.error.code, third.error.http_status) == (131000, 500)
    assert faults.next_graph_fault() is None


def test_503_defaults_to_131016_and_slow_calls() -> None:
    faults = FaultSchedule()
    faults.program({"faults": [{"kind": "graph_error", "status": 503},
                               {"kind": "slow", "delay": 1.5, "count": 2}]})
    fault = faults.next_graph_fault()
    assert fault is not None and fault.error.code == 131016 and fault.retry_after is None
    assert [faults.next_delay() for _ in range(3)] == [1.5, 1.5, 0.0]


def test_duplicates_reorders_and_retry_policy() -> None:
    faults = FaultSchedule()
    faults.program([{"kind": "duplicate_webhooks", "count": 2}, {"kind": "reorder_statuses"},
                    {"kind": "webhook_retry", "attempts": 4, "base_delay": 1, "max_delay": 3}])
    assert [faults.take_duplicate() for _ in range(3)] == [True, True, False]
    assert [faults.take_reorder() for _ in range(2)] == [True, False]
    assert faults.retry.delays() == [1.0, 2.0, 3.0]
    assert RetryPolicy(attempts=1).delays() == []


@pytest.mark.parametrize(("spec", "field"), [
    ({"kind": "explode"}, "faults[0].kind"),
    ({"kind": "graph_error", "status": 404}, "faults[0].status"),
    ({"kind": "graph_error", "code": "x"}, "faults[0].code"),
    ({"kind": "slow"}, "faults[0].delay"),
    ({"kind": "slow", "delay": -1}, "faults[0].delay"),
    ({"kind": "duplicate_webhooks", "count": 0}, "faults[0].count"),
    ({"kind": "duplicate_webhooks", "colour": 1}, "unknown keys"),
    ([], "faults"),
    ("429", "faults"),
], ids=["unknown_kind", "bad_status", "bad_code", "slow_without_delay", "negative_delay",
        "zero_count", "unknown_key", "empty_list", "not_an_object"])
def test_bad_specs_name_the_field(spec: object, field: str) -> None:
    faults = FaultSchedule()
    with pytest.raises(FaultSpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        faults.program(spec)
    assert faults.next_graph_fault() is None  # nothing half-programmed


def test_send_policy_window_pair_rate_and_throughput() -> None:
    policy = SendPolicy(pair_rate_limit=2, messages_per_second=3)
    conv = Conversation(wa_id="1", last_inbound_at=0.0)
    assert policy.async_error(conv, True, "text", 24 * 3600) is None
    failure = policy.async_error(conv, True, "text", 24 * 3600 + 1)
    assert failure is not None and failure.code == 131047
    assert policy.async_error(conv, True, "template", 10**9) is None
    for t in (0.0, 0.1):
        assert policy.sync_error(conv, t) is None
        policy.record_send(conv, t)
    pair = policy.sync_error(conv, 0.2)
    assert pair is not None and pair.code == 131056
    assert policy.sync_error(conv, 6.1) is None  # the 6 s pair window has passed
    other = Conversation(wa_id="2")
    policy.record_send(other, 6.2)
    policy.record_send(other, 6.3)
    policy.record_send(other, 6.4)
    throttled = policy.sync_error(other, 6.5)
    assert throttled is not None and throttled.code == 130429
