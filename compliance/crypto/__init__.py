"""Cryptographic recipes for the compliance layer; only primitives.py touches cryptography.hazmat."""
