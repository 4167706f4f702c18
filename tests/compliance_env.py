"""A compliance layer in a temporary folder, for tests: key file, SQLite database, settings.

The environment is the one a Rasa server, an action server or a webhook worker reads
(SIGILLO_KEY_FILE, SIGILLO_DATABASE_URL, SIGILLO_COMPLIANCE_FILE); `settings_edits` rewrites
lines of the shipped bot/compliance.yml (old text -> new text) into a copy in the folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from compliance.context import ComplianceContext, build_context
from compliance.keys import write_new_keyfile

REPO = Path(__file__).resolve().parents[1]
SHIPPED_SETTINGS = REPO / "bot" / "compliance.yml"


def compliance_env(folder: Path, settings_edits: Mapping[str, str] | None = None) -> dict[str, str]:
    write_new_keyfile(folder / "keys.json")
    settings = SHIPPED_SETTINGS
    if settings_edits:
        text = SHIPPED_SETTINGS.read_text(encoding="utf-8")
        for old, new in settings_edits.items():
            assert old in text, f"bot/compliance.yml no longer has {old!r}"
            text = text.replace(old, new)
        settings = folder / "compliance.yml"
        settings.write_text(text, encoding="utf-8")
    return {
        "SIGILLO_KEY_FILE": str(folder / "keys.json"),
        "SIGILLO_DATABASE_URL": f"sqlite:///{folder / 'sigillo.db'}",
        "SIGILLO_COMPLIANCE_FILE": str(settings),
        "SIGILLO_DATA_DIR": str(folder),
    }


def compliance_context(
    folder: Path, component: str = "channel", settings_edits: Mapping[str, str] | None = None
) -> ComplianceContext:
    """A migrated, ready context; close its audit log (`context.audit.close()`) after use."""
    return build_context(compliance_env(folder, settings_edits), component=component)


def serve_env(folder: Path, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """The environment a Rasa server hands the processes it spawns (a webhook worker, the
    webhook front), set on this process, with the database migrated; returns its URL."""
    from compliance.storage import create_engine_from_url, migrate

    env = compliance_env(folder)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    migrate(create_engine_from_url(env["SIGILLO_DATABASE_URL"]))
    return env["SIGILLO_DATABASE_URL"]
