"""A fault schedule the control API programs: what the next Graph calls and webhooks do wrong.

Source: whatsapp-cloud-api.md §6 (130429 throttling, 131000 / 131016 transient server errors),
§8 (delivery: non-2xx or timeout is a failed delivery and Meta redelivers with backoff; genuine
duplicates happen) and §5 (status ordering is not guaranteed: read may precede delivered).
Pure: the server asks it what to do and it answers; it never sleeps or sends.

Spec accepted by `program()` (one object or a list under "faults"):
    {"kind": "graph_error", "status": 400|429|500|503, "code": 130429, "count": 2, "retry_after": 1}
    {"kind": "slow", "delay": 0.5, "count": 3}
    {"kind": "duplicate_webhooks", "count": 1}
    {"kind": "reorder_statuses", "count": 1}
    {"kind": "webhook_retry", "attempts": 4, "base_delay": 0.25, "factor": 2, "max_delay": 5}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.whatsapp.simulator.errors import ValidationError, meta_error, throttled

_DEFAULT_CODE = {400: 130429, 429: 130429, 500: 131000, 503: 131016}
KINDS = ("graph_error", "slow", "duplicate_webhooks", "reorder_statuses", "webhook_retry")


class FaultSpecError(ValueError):
    """A fault spec the schedule cannot take; the message names the field."""


@dataclass(frozen=True)
class GraphFault:
    """One faulty Graph answer: an error with its HTTP status, maybe a Retry-After header."""

    error: ValidationError
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed webhook delivery is retried: bounded attempts, exponential backoff (§8)."""

    attempts: int = 4  # including the first
    base_delay: float = 0.25
    factor: float = 2.0
    max_delay: float = 5.0

    def delays(self) -> list[float]:
        """Wait before each redelivery after the first attempt."""
        return [min(self.base_delay * self.factor**i, self.max_delay)
                for i in range(self.attempts - 1)]


@dataclass
class FaultSchedule:
    graph: list[tuple[GraphFault, int]] = field(default_factory=list)
    slow: list[tuple[float, int]] = field(default_factory=list)
    duplicates: int = 0
    reorders: int = 0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def program(self, spec: Any) -> int:
        """Add faults from a spec (see module docstring); returns how many were added."""
        items = spec.get("faults", spec) if isinstance(spec, dict) else spec
        items = [items] if isinstance(items, dict) else items
        if not isinstance(items, list) or not items:
            raise FaultSpecError("faults: expected an object or a non-empty list of objects")
        parsed = [_parse(i, item) for i, item in enumerate(items)]
        for kind, value, count in parsed:
            if kind == "graph_error":
                self.graph.append((value, count))
            elif kind == "slow":
                self.slow.append((value, count))
            elif kind == "duplicate_webhooks":
                self.duplicates += count
            elif kind == "reorder_statuses":
                self.reorders += count
            else:
                self.retry = value
        return len(parsed)

    def next_graph_fault(self) -> GraphFault | None:
        """Consume and return the fault for this Graph call, if one is programmed."""
        return _take(self.graph)

    def next_delay(self) -> float:
        """Consume and return how long this Graph call should stall (0 when none)."""
        return _take(self.slow) or 0.0

    def take_duplicate(self) -> bool:
        """Should this webhook be delivered twice?"""
        if self.duplicates > 0:
            self.duplicates -= 1
            return True
        return False

    def take_reorder(self) -> bool:
        """Should this message's statuses arrive as sent, read, delivered?"""
        if self.reorders > 0:
            self.reorders -= 1
            return True
        return False

    def pending(self) -> dict:
        return {"graph_errors": sum(c for _, c in self.graph), "slow": sum(c for _, c in self.slow),
                "duplicate_webhooks": self.duplicates, "reorder_statuses": self.reorders,
                "webhook_retry": {"attempts": self.retry.attempts,
                                  "base_delay": self.retry.base_delay,
                                  "factor": self.retry.factor, "max_delay": self.retry.max_delay}}


def _take(queue: list) -> Any:
    if not queue:
        return None
    value, count = queue[0]
    if count <= 1:
        queue.pop(0)
    else:
        queue[0] = (value, count - 1)
    return value


def _number(item: dict, key: str, path: str, default: float | None, *, minimum: float = 0) -> float:
    value = item.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultSpecError(f"{path}.{key}: expected a number")
    if value < minimum:
        raise FaultSpecError(f"{path}.{key}: must be >= {minimum}, got {value}")
    return float(value)


def _parse(index: int, item: Any) -> tuple[str, Any, int]:
    path = f"faults[{index}]"
    if not isinstance(item, dict):
        raise FaultSpecError(f"{path}: expected an object")
    kind = item.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"{path}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    allowed = {"graph_error": {"status", "code", "count", "retry_after", "details"},
               "slow": {"delay", "count"}, "duplicate_webhooks": {"count"},
               "reorder_statuses": {"count"},
               "webhook_retry": {"attempts", "base_delay", "factor", "max_delay"}}[kind]
    unknown = set(item) - allowed - {"kind"}
    if unknown:
        raise FaultSpecError(f"{path}: unknown keys {sorted(unknown)} for kind {kind}")
    count = int(_number(item, "count", path, 1, minimum=1)) if kind != "webhook_retry" else 0
    if kind == "graph_error":
        status = item.get("status", 429)
        if status not in _DEFAULT_CODE:
            raise FaultSpecError(
                f"{path}.status: expected one of 400, 429, 500, 503, got {status!r}"
            )
        code = item.get("code", _DEFAULT_CODE[status])
        if not isinstance(code, int) or isinstance(code, bool):
            raise FaultSpecError(f"{path}.code: expected an integer")
        error = throttled() if code == 130429 else meta_error(code)
        # Meta answers 130429 with HTTP 400; a 429 fault models the throttling proxies also seen.
        error = ValidationError(code=error.code, details=item.get("details", error.details),
                                http_status=status, title=error.title, subcode=error.subcode)
        retry_after = item.get("retry_after")
        if retry_after is not None:
            retry_after = _number(item, "retry_after", path, None)
        return kind, GraphFault(error, retry_after), count
    if kind == "slow":
        return kind, _number(item, "delay", path, None), count
    if kind == "webhook_retry":
        attempts = int(_number(item, "attempts", path, 4, minimum=1))
        policy = RetryPolicy(attempts, _number(item, "base_delay", path, 0.25),
                             _number(item, "factor", path, 2.0, minimum=1),
                             _number(item, "max_delay", path, 5.0))
        return kind, policy, 0
    return kind, None, count
