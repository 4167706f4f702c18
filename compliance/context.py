"""One process's view of the compliance layer, built once from the environment.

The Rasa server (channel and tracker store), the action server and the CLI each need the same
things: the database, the keyring, the subject keys, the identity vault, the audit log, the
consent ledger and the designers' settings. `shared_context()` builds them once per process and
configuration, so that, for instance, the channel and the tracker store in one Rasa server share
one engine and one audit writer. Every piece validates its own settings and fails at start-up with
a message naming the file, variable or field.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from compliance.audit import AuditLog, NewEntry, keyed_hash
from compliance.consent.audit_adapter import audit_hook
from compliance.consent.ledger import ConsentLedger
from compliance.consent.settings import ComplianceSettings, load_settings
from compliance.identity import IdentityVault, SubjectKeyStore
from compliance.keys import Keyring, default_key_file, load_keyring
from compliance.storage import create_engine_from_url, default_database_url, migrate

ENV_SETTINGS_FILE = "SIGILLO_COMPLIANCE_FILE"
DEFAULT_SETTINGS_FILE = Path("bot") / "compliance.yml"


@dataclass
class ComplianceContext:
    engine: Engine
    keyring: Keyring
    keys: SubjectKeyStore
    vault: IdentityVault
    audit: AuditLog
    ledger: ConsentLedger
    settings: ComplianceSettings
    component: str

    def keyed_hash(self, purpose: str, value: str | bytes) -> str:
        """A keyed hash, domain-separated by purpose: message ids, contents, status keys."""
        data = value.encode() if isinstance(value, str) else value
        return keyed_hash(self.keyring.pseudonym_key, purpose.encode() + b"\x00" + data)

    def record(self, kind: str, subject: str | None, **attributes: object) -> int:
        """Append one audit entry from this component (attributes: no personal data)."""
        return self.audit.append(self.entry(kind, subject, **attributes))

    def entry(self, kind: str, subject: str | None, **attributes: object) -> NewEntry:
        """An audit entry from this component, for `audit.append_derived`."""
        return NewEntry(component=self.component, kind=kind, subject=subject, attributes=attributes)

    def record_with(
        self,
        change: Callable[[Connection], bool],
        kind: str,
        subject: str | None,
        **attributes: object,
    ) -> bool:
        """Apply `change` and append its audit entry atomically; False (nothing appended) when
        `change` returned False, e.g. a status seen before."""
        return bool(self.audit.append_with(change, [self.entry(kind, subject, **attributes)]))


def build_context(
    environ: Mapping[str, str] | None = None, component: str = "rasa"
) -> ComplianceContext:
    env = os.environ if environ is None else environ
    keyring = load_keyring(environ=env)
    engine = create_engine_from_url(default_database_url(env))
    migrate(engine)
    settings = load_settings(env.get(ENV_SETTINGS_FILE, "").strip() or DEFAULT_SETTINGS_FILE)
    audit = AuditLog(engine, keyring.audit_signing_key)
    key_file = env.get("SIGILLO_KEY_FILE", "").strip()
    # Reloading lets a process pick up a KEK that `keys rotate-kek` added while it ran.
    source = (lambda: load_keyring(key_file)) if key_file else keyring
    keys = SubjectKeyStore(engine, source)
    return ComplianceContext(
        engine=engine,
        keyring=keyring,
        keys=keys,
        vault=IdentityVault(engine, keys),
        audit=audit,
        ledger=ConsentLedger.from_settings(
            engine, keyring.pseudonym_key, settings, audit_hook(audit.append, component)
        ),
        settings=settings,
        component=component,
    )


_shared: dict[tuple[str, ...], ComplianceContext] = {}
_lock = threading.Lock()


def shared_context(
    environ: Mapping[str, str] | None = None, component: str = "rasa"
) -> ComplianceContext:
    """The context of this process for this configuration, built on first use."""
    env = os.environ if environ is None else environ
    key = (
        default_database_url(env),
        str(default_key_file(env)),
        env.get(ENV_SETTINGS_FILE, ""),
        component,
    )
    with _lock:
        if key not in _shared:
            _shared[key] = build_context(env, component)
        return _shared[key]
