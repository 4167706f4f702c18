"""`make run`: train if the data changed, start the bot's processes, say where to talk to it,
and stop everything cleanly on Ctrl-C.

Without Meta credentials (WHATSAPP_ACCESS_TOKEN unset) the WhatsApp channel runs against the
local Cloud API simulator, and `make chat` talks to the bot as a WhatsApp user. With them, the
channel talks to Meta and Meta must reach /webhooks/whatsapp/webhook on this machine: on the
webhook front's port when WHATSAPP_WEBHOOK_PORT is set (the way to run in production), else on
the Rasa server's. With the simulator, the front always runs (SIGILLO_WEBHOOK_PORT, 5006).
"""

from __future__ import annotations

import os
import signal
import sys
import time

from devstack.processes import StackError
from devstack.stack import StackConfig, core_split, start_stack
from devstack.training import ROOT, ensure_model


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackError(f"{name} must be a port number (1-65535), got {raw!r}")
    return int(raw)


def _webhook_port(channel: str) -> int | None:
    """The simulator always calls the front; Meta does when WHATSAPP_WEBHOOK_PORT says where."""
    if channel == "whatsapp":
        return _port("SIGILLO_WEBHOOK_PORT", 5006)
    return _port("WHATSAPP_WEBHOOK_PORT", 0) if os.environ.get("WHATSAPP_WEBHOOK_PORT") else None


def _pin_cores() -> bool:
    """WHATSAPP_PIN_CORES as the channel reads it; on unless declined (cpu_affinity.py)."""
    from connectors.whatsapp.config import WhatsAppConfigError, parse_bool

    try:
        return parse_bool(os.environ.get("WHATSAPP_PIN_CORES") or None, "pin_cores", default=True)
    except WhatsAppConfigError as exc:
        raise StackError(str(exc)) from None


def _cpus_line(config: StackConfig) -> str:
    cores = core_split(config)
    if cores is None:
        why = "WHATSAPP_PIN_CORES=false" if not config.pin_cores else "fewer than two CPUs"
        return f"  CPUs:      not pinned ({why})"
    return (
        f"  CPUs:      the Rasa server alone on CPU {min(cores.server)}, its webhook front (or "
        f"workers) and the action server on {sorted(cores.helpers)} (WHATSAPP_PIN_CORES=false "
        "to decline)"
    )


def _banner(stack, channel: str) -> str:  # type: ignore[no-untyped-def]
    lines = ["", "Sigillo is running."]
    if channel == "whatsapp":
        lines += [
            f"  WhatsApp:  simulated by the local Cloud API simulator at {stack.simulator_url}",
            "             chat as a WhatsApp user:  make chat   (an Italian number by default;",
            "             SIGILLO_CHAT_USER=447700900123 make chat for an English one)",
        ]
    else:
        lines.append(
            f"  WhatsApp:  Meta's webhook URL is <public https>/webhooks/whatsapp/webhook"
            f" -> {stack.webhook_url}"
        )
    lines += [
        f"  REST:      curl -s {stack.rasa_url}/webhooks/rest/webhook "
        '-d \'{"sender": "me", "message": "hello"}\'',
        f"  Data:      {stack.env['SIGILLO_DATA_DIR']} (database), key file "
        f"{stack.env['SIGILLO_KEY_FILE']}",
        f"  Logs:      {stack.config.workdir}/",
        _cpus_line(stack.config),
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def main() -> int:
    channel = "meta" if os.environ.get("WHATSAPP_ACCESS_TOKEN") else "whatsapp"
    try:
        config = StackConfig(
            model=ensure_model(),
            workdir=ROOT / ".cache" / "run",
            data_dir=ROOT / "data",
            channel=channel,
            rasa_port=_port("SIGILLO_RASA_PORT", 5005),
            actions_port=_port("SIGILLO_ACTIONS_PORT", 5055),
            simulator_port=_port("SIGILLO_SIMULATOR_PORT", 5300),
            webhook_port=_webhook_port(channel),
            pin_cores=_pin_cores(),
            env={k: v for k, v in os.environ.items() if k.startswith("WHATSAPP_")},
        )
        print("Starting the bot (loading the model takes ~40 s) ...", flush=True)
        stack = start_stack(config)
    except (StackError, RuntimeError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    # Ctrl-C, a kill, or the terminal closing: stop the whole stack, never leave orphans.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    print(_banner(stack, channel), flush=True)
    parent = os.getppid()
    try:
        while not stopping:
            if os.getppid() != parent:  # make (or the terminal) went away: do not orphan
                print("make run: the parent process ended; stopping.", file=sys.stderr)
                break
            dead = [p.name for p in stack.processes if not p.running()]
            if dead:
                print(
                    f"make run: {', '.join(dead)} stopped unexpectedly; see the logs in "
                    f"{config.workdir}",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
    finally:
        print("\nStopping ...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
