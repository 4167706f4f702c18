"""Cryptographic recipes of the compliance layer (only primitives.py imports hazmat)."""
