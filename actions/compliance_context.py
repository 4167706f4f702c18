"""The action server's one handle on the compliance layer, built lazily, once per process.

Why lazy: `rasa run actions` imports every action module at start-up; building the context then
would make a missing key file crash the import with an unrelated-looking traceback. Built on the
first consent action instead, it fails with a ComplianceContextError that names the variable to
fix (SIGILLO_KEY_FILE, SIGILLO_DATABASE_URL). Why one per process: the audit log owns a private
writer pool and the ledger and key store cache; one engine serves them all.

Tests replace the context with `set_context(ComplianceContext(...))`, injecting fakes for the
parts another team is still writing (the key store, the tracker store).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from compliance.audit import NewEntry
from compliance.consent import ComplianceSettings, ConsentLedger, load_settings
from compliance.errors import ComplianceError

logger = logging.getLogger(__name__)

ENV_KEY_FILE = "SIGILLO_KEY_FILE"
ENV_DATABASE_URL = "SIGILLO_DATABASE_URL"
ENV_DATA_DIR = "SIGILLO_DATA_DIR"
ENV_COMPLIANCE_FILE = "SIGILLO_COMPLIANCE_FILE"
DEFAULT_COMPLIANCE_FILE = "bot/compliance.yml"
COMPONENT = "action_server"


class ComplianceContextError(ComplianceError):
    """The action server cannot reach its keys, database or settings; the message says which."""


class AuditAppender(Protocol):
    def append(self, fields: NewEntry | Mapping[str, Any]) -> int: ...


class KeyStore(Protocol):
    """What the actions need of compliance.identity.SubjectKeyStore."""

    def destroy(self, pseudonym: str) -> bool: ...

    def seal_for(self, pseudonym: str, field_name: str, plaintext: bytes) -> bytes: ...


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ComplianceContext:
    """Everything a consent or rights action touches; no phone number is reachable from here.

    vault and tracker_store are optional: erasure and export use them when present (the vault
    shreds the whole alias group; the tracker store gives the full history and deletes it).
    """

    settings: ComplianceSettings
    ledger: ConsentLedger
    audit: AuditAppender
    hash_key: bytes = field(repr=False)
    subject_keys: KeyStore | None = None
    vault: Any | None = None
    tracker_store: Any | None = None
    media: Any | None = None  # compliance.media.MediaStore: erasure deletes, export lists
    data_dir: Path = Path("data")
    clock: Callable[[], datetime] = _utcnow

    def audit_entry(self, kind: str, subject: str, attributes: Mapping[str, Any]) -> None:
        """Append one audit entry from the action server (pseudonym, counters and labels only)."""
        self.audit.append(
            NewEntry(component=COMPONENT, kind=kind, subject=subject, attributes=dict(attributes))
        )


_lock = threading.Lock()
_context: ComplianceContext | None = None


def get_context() -> ComplianceContext:
    """The process-wide context, built on first use (ComplianceContextError if it cannot be)."""
    global _context
    with _lock:
        if _context is None:
            _context = build_context()
        return _context


def set_context(context: ComplianceContext | None) -> None:
    """Install a context (tests) or forget the current one so the next use rebuilds it."""
    global _context
    with _lock:
        _context = context


def build_context(environ: Mapping[str, str] | None = None) -> ComplianceContext:
    """Keys from SIGILLO_KEY_FILE (or the SIGILLO_* key variables), the database at
    SIGILLO_DATABASE_URL (or the SQLite default under SIGILLO_DATA_DIR), migrated to head."""
    env = os.environ if environ is None else environ
    settings_path = env.get(ENV_COMPLIANCE_FILE, "").strip() or DEFAULT_COMPLIANCE_FILE
    try:
        settings = load_settings(settings_path)
    except ComplianceError as exc:
        raise ComplianceContextError(f"{ENV_COMPLIANCE_FILE}: {exc}") from exc
    keyring = _keyring(env)
    engine = _engine(env)

    from compliance.audit import AuditLog
    from compliance.consent.audit_adapter import audit_hook

    audit = AuditLog(engine, keyring.audit_signing_key)
    ledger = ConsentLedger.from_settings(
        engine, keyring.pseudonym_key, settings, audit_hook(audit.append, COMPONENT)
    )
    keys, vault = _identity(engine, keyring)
    data_dir = Path(env.get(ENV_DATA_DIR, "").strip() or "data").resolve()
    logger.info("compliance context ready (dialect=%s)", engine.dialect.name)
    return ComplianceContext(
        settings=settings,
        ledger=ledger,
        audit=audit,
        hash_key=keyring.pseudonym_key,
        subject_keys=keys,
        vault=vault,
        tracker_store=_tracker_store(engine, keys),
        media=_media(engine, keys),
        data_dir=data_dir,
    )


def _keyring(env: Mapping[str, str]) -> Any:
    try:
        from compliance.keys import load_keyring
    except ImportError as exc:
        raise ComplianceContextError(
            f"compliance.keys is not installed; cannot read {ENV_KEY_FILE}"
        ) from exc
    try:
        return load_keyring(environ=env)
    except ComplianceError as exc:
        raise ComplianceContextError(
            f"{ENV_KEY_FILE}: the action server cannot load its keyring ({exc})"
        ) from exc


def _engine(env: Mapping[str, str]) -> Any:
    from compliance.storage import create_engine_from_url, default_database_url, migrate

    try:
        engine = create_engine_from_url(default_database_url(env))
        migrate(engine)
    except Exception as exc:  # noqa: BLE001 - any failure here means the same fix
        raise ComplianceContextError(
            f"{ENV_DATABASE_URL}: the compliance database is unreachable or cannot be migrated "
            f"({type(exc).__name__}; the URL is not shown)"
        ) from exc
    return engine


def _identity(engine: Any, keyring: Any) -> tuple[Any | None, Any | None]:
    try:
        from compliance.identity import IdentityVault, SubjectKeyStore
    except ImportError:
        logger.warning("compliance.identity unavailable: erasure cannot crypto-shred")
        return None, None
    keys = SubjectKeyStore(engine, keyring)
    return keys, IdentityVault(engine, keys)


def _media(engine: Any, keys: Any | None) -> Any | None:
    from compliance.media import MediaStore

    return MediaStore(engine, keys) if keys is not None else None


def _tracker_store(engine: Any, keys: Any | None) -> Any | None:
    """The encrypted tracker store over the same database, or None (actions then fall back to
    the events Rasa sends with each call; erasure then cannot delete the stored conversation)."""
    if keys is None:
        return None
    try:
        from compliance.tracker_store import EncryptedTrackerStore

        return EncryptedTrackerStore(engine=engine, subject_keys=keys)
    except Exception as exc:  # noqa: BLE001 - optional: degrade, and say so
        logger.warning("encrypted tracker store unavailable (%s)", type(exc).__name__)
        return None
