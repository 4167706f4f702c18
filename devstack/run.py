"""`make run`: train if the data changed, start the bot's processes, say where to talk to it,
and stop everything cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from devstack.processes import StackError
from devstack.stack import StackConfig, start_stack
from devstack.training import ROOT, ensure_model


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackError(f"{name} must be a port number (1-65535), got {raw!r}")
    return int(raw)


def main() -> int:
    try:
        config = StackConfig(
            model=ensure_model(),
            workdir=ROOT / ".cache" / "run",
            rasa_port=_port("SIGILLO_RASA_PORT", 5005),
            actions_port=_port("SIGILLO_ACTIONS_PORT", 5055),
        )
        print(
            "Starting the action server and the Rasa server (loading the model takes ~40 s) ...",
            flush=True,
        )
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

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(
        "\nSigillo is running.\n"
        f"  REST channel: curl -s {stack.rasa_url}/webhooks/rest/webhook "
        '-d \'{"sender": "me", "message": "hello"}\'\n'
        f"  Italian:      curl -s {stack.rasa_url}/webhooks/rest/webhook "
        '-d \'{"sender": "io", "message": "ciao, dov è il mio ordine A1001?"}\'\n'
        f"  Logs:         {config.workdir}/rasa.log, {config.workdir}/actions.log\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        while not stopping:
            dead = [p.name for p in stack.processes if not p.running()]
            if dead:
                print(
                    f"make run: {', '.join(dead)} stopped unexpectedly; see the logs above.",
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
