"""The operator's CLI: `python -m compliance <group> <command> …`.

Only argument dispatch lives here; each command group is a module in compliance.cli that exposes
`register(subparsers)` and sets `func` on its parsers. A command returns an exit code; a
ComplianceError becomes one line on stderr naming what is wrong, and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Rasa (imported by the retention commands) pins SQLAlchemy 1.4 and triggers its 2.0 migration
# banner on import; an operator's terminal has no use for it.
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from compliance.errors import ComplianceError

# Each entry is a module under compliance.cli with register(subparsers).
_COMMAND_GROUPS = ("keys", "audit", "consent", "rights", "retention", "lint")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m compliance", description=__doc__)
    subparsers = parser.add_subparsers(dest="group", required=True)
    for group in _COMMAND_GROUPS:
        try:
            module = importlib.import_module(f"compliance.cli.{group}")
        except ModuleNotFoundError as exc:
            if exc.name != f"compliance.cli.{group}":
                raise
            continue  # a group not built yet is simply not offered
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ComplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
