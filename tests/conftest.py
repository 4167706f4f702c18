"""Session-wide fixtures: the trained model (once per data fingerprint) and one running bot stack
shared by every end-to-end test."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def trained_model() -> Path:
    from devstack.training import ensure_model

    return ensure_model(quiet=True)


@pytest.fixture(scope="session")
def rest_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Action server + Rasa server (REST channel) as real processes on free loopback ports."""
    from devstack.processes import free_port
    from devstack.stack import StackConfig, start_stack

    config = StackConfig(
        model=trained_model,
        workdir=tmp_path_factory.mktemp("rest-stack"),
        rasa_port=free_port(),
        actions_port=free_port(),
    )
    with start_stack(config) as stack:
        yield stack
