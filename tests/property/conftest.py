"""Fixtures of the property tests: one action server per session, with its own key file and
SQLite database, so that the consent actions read and write a ledger nobody else touches."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class ActionServer:
    """A running `rasa run actions` and the environment that reaches its compliance database."""

    url: str
    env: dict[str, str]
    workdir: Path

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhook"


def compliance_env(workdir: Path) -> dict[str, str]:
    """SIGILLO_* settings of a throwaway data folder, with a fresh key file in it."""
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "keys.json"
    env = {
        "PYTHONPATH": str(ROOT),
        "SIGILLO_DATA_DIR": str(data_dir),
        "SIGILLO_KEY_FILE": str(key_file),
        "SIGILLO_DATABASE_URL": f"sqlite:///{data_dir / 'sigillo.db'}",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    subprocess.run(
        [sys.executable, "-m", "compliance", "keys", "init", "--key-file", str(key_file)],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return env


@pytest.fixture(scope="session")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    """`rasa run actions` on a free loopback port, stopped (with its children) at the end."""
    from devstack.processes import ManagedProcess, free_port

    workdir = tmp_path_factory.mktemp("property-actions")
    env = compliance_env(workdir)
    port = free_port()
    process = ManagedProcess(
        "action server",
        [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)],
        workdir / "actions.log",
        env=env,
        cwd=ROOT,
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_ready(f"{url}/health", timeout=90)
        yield ActionServer(url=url, env=env, workdir=workdir)
    finally:
        process.stop()
