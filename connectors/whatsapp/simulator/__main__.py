"""`python -m connectors.whatsapp.simulator --port 5300 --callback <bot webhook URL>`."""

from __future__ import annotations

import os
import sys

from connectors.whatsapp.simulator.app import run
from connectors.whatsapp.simulator.config import SimConfigError, from_args


def main(argv: list[str] | None = None) -> int:
    try:
        config = from_args(argv, os.environ)
    except SimConfigError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    run(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
