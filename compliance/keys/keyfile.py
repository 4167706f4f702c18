"""The key file: JSON parse/serialize (pure) and its careful writes (0600, no overwrite, atomic).

    {"version": 1,
     "pseudonym_key": "<base64 32 bytes>",
     "keks": {"1": "<base64 32 bytes>", "2": "..."},
     "active_kek": 2,
     "audit_signing_key": "<base64 32-byte Ed25519 seed>",
     "retired_keks": [1]}            (optional)

Unknown fields are rejected (a typo must not silently drop a key). A file readable by group or
others is refused, as ssh refuses a private key: the file holds everything the database does not.
Edits (add a KEK, retire KEKs) hold a lock file and replace the file atomically, so a crash leaves
either the old or the new keyring, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from compliance.crypto import primitives
from compliance.errors import KeyringError
from compliance.keys.keyring import (
    ENV_PSEUDONYM_KEY,
    Keyring,
    decode_key,
    encode_key,
    keyring_from_env,
)

FORMAT_VERSION = 1
ENV_KEY_FILE = "SIGILLO_KEY_FILE"
_FIELDS = {"version", "pseudonym_key", "keks", "active_kek", "audit_signing_key", "retired_keks"}
_REQUIRED = ("version", "pseudonym_key", "keks", "active_kek", "audit_signing_key")


def parse_keyfile(text: str, source: str) -> Keyring:
    """A Keyring from key-file JSON; KeyringError names `source` and the field, never a value."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KeyringError(f"{source}: not valid JSON") from None
    if not isinstance(data, dict):
        raise KeyringError(f"{source}: must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise KeyringError(f"{source}: unknown field '{unknown[0]}' (allowed: {sorted(_FIELDS)})")
    for name in _REQUIRED:
        if name not in data:
            raise KeyringError(f"{source}: missing field '{name}'")
    if data["version"] != FORMAT_VERSION or isinstance(data["version"], bool):
        raise KeyringError(f"{source}: field 'version' must be {FORMAT_VERSION}")
    raw_keks = data["keks"]
    if not isinstance(raw_keks, dict):
        raise KeyringError(f"{source}: field 'keks' must be an object of version -> key")
    keks: dict[int, bytes] = {}
    for version_text, encoded in raw_keks.items():
        if not (version_text.isascii() and version_text.isdecimal()):
            raise KeyringError(f"{source}: field 'keks' has a non-integer version")
        keks[int(version_text)] = decode_key(encoded, f"keks.{version_text}", source)
    retired = data.get("retired_keks", [])
    if not isinstance(retired, list):
        raise KeyringError(f"{source}: field 'retired_keks' must be a list of versions")
    active = data["active_kek"]
    if not isinstance(active, int) or isinstance(active, bool):
        raise KeyringError(f"{source}: field 'active_kek' must be an integer key version")
    return Keyring.build(
        pseudonym_key=decode_key(data["pseudonym_key"], "pseudonym_key", source),
        keks=keks,
        active_kek=active,
        audit_signing_key=decode_key(data["audit_signing_key"], "audit_signing_key", source),
        retired_keks=retired,
        source=source,
    )


def serialize_keyfile(keyring: Keyring) -> str:
    document = {
        "version": FORMAT_VERSION,
        "pseudonym_key": encode_key(keyring.pseudonym_key),
        "keks": {str(v): encode_key(k) for v, k in sorted(keyring.keks.items())},
        "active_kek": keyring.active_kek,
        "audit_signing_key": encode_key(keyring.audit_signing_key),
        "retired_keks": list(keyring.retired_keks),
    }
    return json.dumps(document, indent=2) + "\n"


def generate_keyring(source: str = "<memory>") -> Keyring:
    """A fresh keyring: random pseudonym key, KEK version 1, Ed25519 signing seed."""
    return Keyring.build(
        pseudonym_key=primitives.random_bytes(32),
        keks={1: primitives.random_bytes(32)},
        active_kek=1,
        audit_signing_key=primitives.ed25519_generate_seed(),
        source=source,
    )


def default_key_file(environ: Mapping[str, str] | None = None) -> Path:
    """SIGILLO_KEY_FILE, else <SIGILLO_DATA_DIR or ./data>/keys.json."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_KEY_FILE, "").strip()
    if explicit:
        return Path(explicit)
    return Path(env.get("SIGILLO_DATA_DIR", "").strip() or "data") / "keys.json"


def load_keyring(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Keyring:
    """The keyring from `path`, else SIGILLO_KEY_FILE, else the SIGILLO_* key variables, else the
    default key file if it exists. Never from the database. KeyringError if none is usable."""
    env = os.environ if environ is None else environ
    if path is not None:
        return read_keyfile(path)
    if env.get(ENV_KEY_FILE, "").strip():
        return read_keyfile(env[ENV_KEY_FILE].strip())
    if env.get(ENV_PSEUDONYM_KEY, "").strip():
        return keyring_from_env(env)
    fallback = default_key_file(env)
    if fallback.exists():
        return read_keyfile(fallback)
    raise KeyringError(
        f"no keyring: set {ENV_KEY_FILE} or the SIGILLO_* key variables, "
        "or run `python -m compliance keys init`"
    )


def read_keyfile(path: str | os.PathLike[str]) -> Keyring:
    source = str(path)
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            raw = handle.read()
    except FileNotFoundError:
        raise KeyringError(f"{source}: key file not found") from None
    except OSError as exc:
        raise KeyringError(f"{source}: key file unreadable ({exc.strerror})") from None
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        raise KeyringError(
            f"{source}: key file mode is {stat.S_IMODE(mode):04o}; it must not be readable by "
            "group or others (chmod 600)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError(f"{source}: not valid JSON (not UTF-8)") from None
    return parse_keyfile(text, source)


def write_new_keyfile(path: str | os.PathLike[str]) -> Keyring:
    """Create a new key file at `path` (mode 0600, parents created); never overwrites one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyring = generate_keyring(str(target))
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise KeyringError(
            f"{target}: a key file already exists; refusing to overwrite it (it may be the only "
            "way to read the database)"
        ) from None
    _write_fd(fd, serialize_keyfile(keyring))
    return keyring


def add_kek(path: str | os.PathLike[str]) -> Keyring:
    """Add a new KEK version to the key file and make it active. Returns the new keyring."""
    with _locked(path):
        current = read_keyfile(path)
        version = current.next_kek_version
        updated = Keyring.build(
            pseudonym_key=current.pseudonym_key,
            keks={**current.keks, version: primitives.random_bytes(32)},
            active_kek=version,
            audit_signing_key=current.audit_signing_key,
            retired_keks=current.retired_keks,
            source=current.source,
        )
        _replace(path, serialize_keyfile(updated))
        return updated


def retire_keks(path: str | os.PathLike[str], versions: list[int]) -> Keyring:
    """Delete `versions` from the key file (never the active one) and record them as retired."""
    with _locked(path):
        current = read_keyfile(path)
        if current.active_kek in versions:
            raise KeyringError(f"{current.source}: field 'active_kek' cannot be retired")
        updated = Keyring.build(
            pseudonym_key=current.pseudonym_key,
            keks={v: k for v, k in current.keks.items() if v not in versions},
            active_kek=current.active_kek,
            audit_signing_key=current.audit_signing_key,
            retired_keks=[*current.retired_keks, *(v for v in versions if v in current.keks)],
            source=current.source,
        )
        _replace(path, serialize_keyfile(updated))
        return updated


@contextlib.contextmanager
def _locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Serialize read-modify-write of one key file across processes (a sidecar lock file, since
    os.replace swaps the key file's inode)."""
    import fcntl

    target = Path(path)
    fd = os.open(target.with_name(f".{target.name}.lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _replace(path: str | os.PathLike[str], text: str) -> None:
    target = Path(path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        _write_fd(fd, text)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must survive a crash
    finally:
        os.close(dir_fd)


def _write_fd(fd: int, text: str) -> None:
    try:
        os.fchmod(fd, 0o600)
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data):]
        os.fsync(fd)
    finally:
        os.close(fd)
