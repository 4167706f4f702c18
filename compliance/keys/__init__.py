"""The keyring: pseudonym key, versioned KEKs, audit signing key; from a key file or the
environment, never from the database."""

from compliance.keys.keyfile import (
    ENV_KEY_FILE,
    add_kek,
    default_key_file,
    generate_keyring,
    load_keyring,
    parse_keyfile,
    read_keyfile,
    retire_keks,
    serialize_keyfile,
    write_new_keyfile,
)
from compliance.keys.keyring import Keyring, fingerprint, keyring_from_env

__all__ = [
    "ENV_KEY_FILE",
    "Keyring",
    "add_kek",
    "default_key_file",
    "fingerprint",
    "generate_keyring",
    "keyring_from_env",
    "load_keyring",
    "parse_keyfile",
    "read_keyfile",
    "retire_keks",
    "serialize_keyfile",
    "write_new_keyfile",
]
