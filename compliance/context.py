"""One process's view of the compliance layer, built once from the environment.

The Rasa server (channel, ConsentPolicy and tracker store), the action server and the CLI each
need the same things: the database, the keyring, the subject keys, the identity vault, the audit
log, the consent ledger and the designers' settings. In one process they are built once per
database and keyring (`shared_storage`) and settings file, whatever the component asking:
the channel, the policy and the tracker store of one Rasa server share one engine (one
connection pool), one subject-key cache and one AuditLog, so their appends queue on one writer
and share its group commits (compliance/storage/group_commit.py). `shared_context(environ,
component)` adds only the component's label: the `component` of the audit entries it writes,
its consent ledger's included. `build_context` builds a fresh, unshared set, for tests and
the CLI. Every piece validates its own settings and fails at start-up with a message naming the
file, variable or field.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection, Engine, make_url

from compliance.audit import AuditLog, NewEntry, keyed_hash
from compliance.consent.audit_adapter import audit_hook
from compliance.consent.ledger import ConsentLedger
from compliance.consent.settings import ComplianceSettings, load_settings
from compliance.identity import IdentityVault, SubjectKeyStore
from compliance.keys import Keyring, default_key_file, load_keyring
from compliance.keys.keyfile import ENV_KEY_FILE
from compliance.keys.keyring import ENV_PSEUDONYM_KEY
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


@dataclass(frozen=True)
class SharedStorage:
    """The parts that cost a pool, a cache or a writer: one set per database and keyring.

    The AuditLog owns the database's serialized writer (on SQLite a private pool whose
    transactions take the write lock), so two of them on one database only queue on each other.
    """

    engine: Engine
    keyring: Keyring
    keys: SubjectKeyStore
    vault: IdentityVault
    audit: AuditLog

    def close(self) -> None:
        self.audit.close()
        self.engine.dispose()


def build_context(
    environ: Mapping[str, str] | None = None, component: str = "rasa"
) -> ComplianceContext:
    """A fresh context with its own engine and audit writer (tests, the CLI); close its audit
    log after use. A long-running process uses `shared_context`."""
    env = os.environ if environ is None else environ
    storage = _build_storage(default_database_url(env), None, env)
    return _context(storage, load_settings(_settings_file(env)), component)


def shared_context(
    environ: Mapping[str, str] | None = None, component: str = "rasa"
) -> ComplianceContext:
    """The context of this process for this configuration and component, built on first use.

    Contexts of different components over one database, keyring and settings file hold the same
    engine, keys, vault, audit log and settings; only their label (and the ledger that writes
    it) differ. Safe to call from several threads.
    """
    env = os.environ if environ is None else environ
    url = default_database_url(env)
    settings_file = _settings_file(env)
    key = (*_storage_key(url, None, env), str(settings_file), component)
    with _lock:
        context = _contexts.get(key)
        if context is None:
            storage = _shared_storage_locked(url, None, env)
            settings = _settings.get(str(settings_file))
            if settings is None:
                settings = _settings[str(settings_file)] = load_settings(settings_file)
            context = _contexts[key] = _context(storage, settings, component)
        return context


def shared_storage(
    url: str | None = None,
    key_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> SharedStorage:
    """This process's engine, keys, vault and audit log for `url` (default: the compliance
    database) and `key_file` (default: the keyring's own lookup), built on first use: what
    `shared_context` holds when both name the same database and keyring. The tracker store
    built from endpoints.yml takes its engine and audit log from here."""
    env = os.environ if environ is None else environ
    with _lock:
        return _shared_storage_locked(url or default_database_url(env), key_file, env)


def close_shared() -> None:
    """Close and forget every shared context and storage (tests; an orderly shutdown)."""
    with _lock:
        storages = list(_storages.values())
        _storages.clear()
        _contexts.clear()
        _settings.clear()
    for storage in storages:
        storage.close()


_storages: dict[tuple[str, str], SharedStorage] = {}
_contexts: dict[tuple[str, ...], ComplianceContext] = {}
_settings: dict[str, ComplianceSettings] = {}
# One lock for all three: building takes a while (migrations), and two threads asking at once
# must get one set, not two.
_lock = threading.Lock()


def _shared_storage_locked(url: str, key_file: str | None, env: Mapping[str, str]) -> SharedStorage:
    key = _storage_key(url, key_file, env)
    storage = _storages.get(key)
    if storage is None:
        storage = _storages[key] = _build_storage(url, key_file, env)
    return storage


def _build_storage(url: str, key_file: str | None, env: Mapping[str, str]) -> SharedStorage:
    keyring = load_keyring(key_file, environ=env)
    engine = create_engine_from_url(url)
    migrate(engine)
    path = key_file or env.get(ENV_KEY_FILE, "").strip()
    # Reloading lets a process pick up a KEK that `keys rotate-kek` added while it ran.
    source = (lambda: load_keyring(path)) if path else keyring
    keys = SubjectKeyStore(engine, source)
    return SharedStorage(
        engine=engine,
        keyring=keyring,
        keys=keys,
        vault=IdentityVault(engine, keys),
        audit=AuditLog(engine, keyring.audit_signing_key),
    )


def _context(
    storage: SharedStorage, settings: ComplianceSettings, component: str
) -> ComplianceContext:
    # A ledger is a few references over the shared engine; one per component, because its
    # audit hook labels each consent change with the component that made it.
    ledger = ConsentLedger.from_settings(
        storage.engine,
        storage.keyring.pseudonym_key,
        settings,
        audit_hook(storage.audit.append, component),
    )
    return ComplianceContext(
        engine=storage.engine,
        keyring=storage.keyring,
        keys=storage.keys,
        vault=storage.vault,
        audit=storage.audit,
        ledger=ledger,
        settings=settings,
        component=component,
    )


def _settings_file(env: Mapping[str, str]) -> Path:
    return Path(env.get(ENV_SETTINGS_FILE, "").strip() or DEFAULT_SETTINGS_FILE)


def _storage_key(url: str, key_file: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """Which database and which keyring, spelled one way: a relative SQLite path and its
    absolute form are one database, as are an explicit key file and SIGILLO_KEY_FILE naming it."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        parsed = parsed.set(database=os.path.abspath(database))
    if key_file:
        keyring = os.path.abspath(key_file)
    elif env.get(ENV_KEY_FILE, "").strip():
        keyring = os.path.abspath(env[ENV_KEY_FILE].strip())
    elif env.get(ENV_PSEUDONYM_KEY, "").strip():
        keyring = "<environment>"  # load_keyring's order: the variables before the default file
    else:
        keyring = os.path.abspath(default_key_file(env))
    return parsed.render_as_string(hide_password=False), keyring
