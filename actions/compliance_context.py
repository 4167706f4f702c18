"""The action server's one handle on the compliance layer, built lazily, once per process.

Why lazy: `rasa run actions` imports every action module at start-up; building the context then
would make a missing key file crash the import with an unrelated-looking traceback. Built on the
first consent action instead, it fails with a ComplianceContextError that names the variable to
fix (SIGILLO_KEY_FILE, SIGILLO_DATABASE_URL). Why one per process: the audit log owns a private
writer pool and the ledger and key store cache; one engine serves them all. The parts are built
by compliance.context, as in the Rasa server; this module only adds what the actions use.

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
from compliance.consent import ComplianceSettings, ConsentLedger
from compliance.errors import ComplianceError, KeyringError, StorageUnavailable

logger = logging.getLogger(__name__)

ENV_KEY_FILE = "SIGILLO_KEY_FILE"
ENV_DATABASE_URL = "SIGILLO_DATABASE_URL"
ENV_DATA_DIR = "SIGILLO_DATA_DIR"
ENV_COMPLIANCE_FILE = "SIGILLO_COMPLIANCE_FILE"
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
    """The same compliance layer as the Rasa server's (compliance.context.build_context: keys
    from SIGILLO_KEY_FILE, the database at SIGILLO_DATABASE_URL migrated to head, the settings),
    with each failure named by the variable to fix."""
    from compliance.context import build_context as build_shared_context

    env = os.environ if environ is None else environ
    try:
        core = build_shared_context(env, component=COMPONENT)
    except KeyringError as exc:
        raise ComplianceContextError(
            f"{ENV_KEY_FILE}: the action server cannot load its keyring ({exc})"
        ) from exc
    except StorageUnavailable as exc:
        raise _database_error(exc) from exc
    except ComplianceError as exc:
        raise ComplianceContextError(f"{ENV_COMPLIANCE_FILE}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the driver's errors: the database is the fix
        raise _database_error(exc) from exc
    data_dir = Path(env.get(ENV_DATA_DIR, "").strip() or "data").resolve()
    logger.info("compliance context ready (dialect=%s)", core.engine.dialect.name)
    return ComplianceContext(
        settings=core.settings,
        ledger=core.ledger,
        audit=core.audit,
        hash_key=core.keyring.pseudonym_key,
        subject_keys=core.keys,
        vault=core.vault,
        tracker_store=_tracker_store(core.engine, core.keys),
        media=_media(core.engine, core.keys),
        data_dir=data_dir,
    )


def _database_error(exc: Exception) -> ComplianceContextError:
    return ComplianceContextError(
        f"{ENV_DATABASE_URL}: the compliance database is unreachable or cannot be migrated "
        f"({type(exc).__name__}; the URL is not shown)"
    )


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
