"""Command groups of `python -m compliance`; each module exposes register(subparsers)."""
