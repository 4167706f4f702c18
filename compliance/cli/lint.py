"""`python -m compliance lint [--root .]`: check the compliance flows without training."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lint", help="check consent flows, responses and limits")
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default .)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from compliance.lint.runner import main

    return main(args.root, sys.stdout)
