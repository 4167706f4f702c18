"""Meta error codes → typed errors: one table of codes, Meta's own error bodies, odd shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.whatsapp.graph_errors import (
    AuthError,
    GraphError,
    GraphNetworkError,
    MarketingLimit,
    OutsideCustomerWindow,
    PairRateLimited,
    Permanent,
    Retryable,
    Throttled,
    UserStoppedMarketing,
    error_class_for,
    error_from_graph,
    error_from_status_error,
)

RESPONSES = Path(__file__).parents[2] / "fixtures" / "whatsapp_outbound" / "api-responses"

CODES: list[tuple[int, type[GraphError]]] = [
    (0, AuthError),
    (190, AuthError),
    (1, Retryable),
    (2, Retryable),
    (3, Permanent),
    (4, Throttled),
    (10, Permanent),
    (100, Permanent),
    (200, Permanent),
    (299, Permanent),
    (368, Permanent),
    (80007, Throttled),
    (130429, Throttled),
    (130472, MarketingLimit),
    (131000, Retryable),
    (131005, Permanent),
    (131008, Permanent),
    (131009, Permanent),
    (131016, Retryable),
    (131021, Permanent),
    (131026, Permanent),
    (131030, Permanent),
    (131031, Permanent),
    (131047, OutsideCustomerWindow),
    (131048, Throttled),
    (131049, MarketingLimit),
    (131050, UserStoppedMarketing),
    (131051, Permanent),
    (131056, PairRateLimited),
    (131057, Retryable),
    (131062, Permanent),
    (132000, Permanent),
    (132001, Permanent),
    (132016, Permanent),
    (132018, Permanent),
    (133010, Permanent),
    (135000, Permanent),
]


@pytest.mark.parametrize(("code", "cls"), CODES, ids=[str(c) for c, _ in CODES])
def test_code_table(code: int, cls: type[GraphError]) -> None:
    assert error_class_for(code, 400) is cls
    # The class depends on the code, not on the HTTP status it came with.
    assert error_class_for(code, 500) is cls
    assert type(error_from_status_error(code, "t")) is cls


FALLBACKS = [
    ("unknown_code_400", 999_999, 400, False, Permanent),
    ("unknown_code_500", 999_999, 500, False, Retryable),
    ("unknown_code_transient", 999_999, 400, True, Retryable),
    ("no_code_429", None, 429, False, Throttled),
    ("no_code_401", None, 401, False, AuthError),
    ("no_code_503", None, 503, False, Retryable),
    ("no_code_404", None, 404, False, Permanent),
]


@pytest.mark.parametrize(
    ("code", "status", "transient", "cls"),
    [c[1:] for c in FALLBACKS],
    ids=[c[0] for c in FALLBACKS],
)
def test_unknown_codes_degrade_by_status(code, status, transient, cls) -> None:
    assert error_class_for(code, status, is_transient=transient) is cls


def test_meta_130429_example() -> None:
    body = json.loads((RESPONSES / "metadocs__error-130429-block1.json").read_text())
    err = error_from_graph(body, 400)
    assert isinstance(err, Throttled) and err.retryable
    assert (err.code, err.subcode, err.fbtrace_id) == (130429, 2494055, "Az8or2yhqkZfEZ-_4Qn_Bam")
    assert err.title == "Rate limit hit"
    assert err.details == "Cloud API message throughput has been reached."
    assert err.http_status == 400


def test_meta_100_example() -> None:
    body = json.loads((RESPONSES / "metadocs__error-100-block2.json").read_text())
    err = error_from_graph(body, 400)
    assert type(err) is Permanent and not err.retryable
    assert err.code == 100 and err.subcode is None and err.title == "Invalid parameter"


ODD_BODIES: list[tuple[str, Any, int, type[GraphError]]] = [
    ("none_500", None, 500, Retryable),
    ("none_429", None, 429, Throttled),
    ("empty_dict_400", {}, 400, Permanent),
    ("error_is_string", {"error": "boom"}, 502, Retryable),
    ("code_is_text", {"error": {"code": "abc", "message": 5}}, 400, Permanent),
    ("code_is_digit_string", {"error": {"code": "131047"}}, 400, OutsideCustomerWindow),
    ("code_is_bool", {"error": {"code": True}}, 400, Permanent),
    ("is_transient", {"error": {"code": 12345, "is_transient": True}}, 400, Retryable),
    ("list_body", [1, 2], 400, Permanent),
]


@pytest.mark.parametrize(
    ("body", "status", "cls"), [c[1:] for c in ODD_BODIES], ids=[c[0] for c in ODD_BODIES]
)
def test_odd_bodies_never_crash(body: Any, status: int, cls: type[GraphError]) -> None:
    err = error_from_graph(body, status)
    assert type(err) is cls and err.http_status == status


def test_status_webhook_error() -> None:
    err = error_from_status_error("131047", "Re-engagement message", "More than 24 hours")
    assert isinstance(err, OutsideCustomerWindow) and err.http_status is None
    assert err.details == "More than 24 hours"
    assert type(error_from_status_error(None)) is Permanent


def test_messages_never_carry_details_or_long_digit_runs() -> None:
    body = {
        "error": {
            "code": 132018,
            "message": "(#132018) Param for +393331234567 invalid",
            "error_data": {"details": "Param text: Ada Lovelace\n cannot have new-line"},
            "fbtrace_id": "Atrace",
        }
    }
    err = error_from_graph(body, 400)
    for shown in (str(err), repr(err)):
        assert "Ada" not in shown and "3331234567" not in shown
        assert "132018" in shown and "Atrace" in shown
    assert "Ada" in err.details  # kept for the caller, who must not log it


def test_hierarchy() -> None:
    assert issubclass(PairRateLimited, Throttled) and issubclass(GraphNetworkError, Retryable)
    for cls in (AuthError, OutsideCustomerWindow, UserStoppedMarketing, MarketingLimit, Permanent):
        assert issubclass(cls, GraphError) and not cls.retryable
    for cls in (Throttled, Retryable, PairRateLimited, GraphNetworkError):
        assert cls.retryable
