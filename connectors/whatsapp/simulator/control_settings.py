"""Runtime settings of the control API: `GET|POST /_sim/config` (never the secrets).

Lets a test or `make run` point the simulator at a bot whose port is known only later, and turn
Meta's policies (24-hour window, unknown recipients, pair rate, throughput) on or off.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connectors.whatsapp.simulator.app import Simulator, sim_of


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _public_config(sim: Simulator) -> dict:
    c = sim.config
    return {"callback_url": sim.callback_url, "phone_number_id": c.phone_number_id,
            "display_phone_number": c.display_phone_number, "waba_id": c.waba_id,
            "status_delay": sim.status_delay, "read_receipts": sim.read_receipts,
            "ensure_ascii": sim.ensure_ascii, "enforce_window": sim.policy.enforce_window,
            "fail_unknown_recipients": sim.policy.fail_unknown_recipients,
            "pair_rate_limit": sim.policy.pair_rate_limit,
            "messages_per_second": sim.policy.messages_per_second,
            "media_url_ttl": sim.media_url_ttl}


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(_public_config(sim_of(request)))


async def set_config(request: web.Request) -> web.Response:
    """Change runtime settings (never the secrets): callback_url, status_delay, read_receipts,
    ensure_ascii, enforce_window, fail_unknown_recipients, pair_rate_limit, messages_per_second,
    media_url_ttl (seconds a media download URL stays valid; 0 expires them at once)."""
    sim = sim_of(request)
    try:
        spec = await request.json() if await request.read() else {}
    except ValueError:
        return _bad("body: not valid JSON")
    if not isinstance(spec, dict):
        return _bad("body: expected a JSON object")
    setters = {
        "callback_url": lambda v: setattr(sim, "callback_url", _url(v)),
        "status_delay": lambda v: setattr(sim, "status_delay", _nonneg(v, "status_delay")),
        "read_receipts": lambda v: setattr(sim, "read_receipts", _bool(v, "read_receipts")),
        "ensure_ascii": lambda v: setattr(sim, "ensure_ascii", _bool(v, "ensure_ascii")),
        "enforce_window": lambda v: setattr(sim.policy, "enforce_window",
                                            _bool(v, "enforce_window")),
        "fail_unknown_recipients": lambda v: setattr(sim.policy, "fail_unknown_recipients",
                                                     _bool(v, "fail_unknown_recipients")),
        "pair_rate_limit": lambda v: setattr(sim.policy, "pair_rate_limit", _limit(v)),
        "messages_per_second": lambda v: setattr(sim.policy, "messages_per_second",
                                                 _nonneg(v, "messages_per_second") or 1e-9),
        "media_url_ttl": lambda v: setattr(sim, "media_url_ttl", _nonneg(v, "media_url_ttl")),
    }
    unknown = sorted(set(spec) - set(setters))
    if unknown:
        return _bad(f"unknown settings {unknown}; allowed: {sorted(setters)}")
    try:
        for key, value in spec.items():
            setters[key](value)
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response(_public_config(sim))


def _url(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.startswith(("http://", "https://"))):
        return value
    raise ValueError("callback_url: expected an http(s) URL or null")


def _nonneg(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name}: expected a number >= 0")
    return float(value)


def _limit(value: Any) -> int | None:
    return None if value is None else int(_nonneg(value, "pair_rate_limit")) or None


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false")
    return value
