"""The bot's processes as one unit: action server and Rasa server (and, once the WhatsApp
channel is wired, the Cloud API simulator), on chosen ports, stopped together.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from devstack.processes import ManagedProcess, StackError, port_is_free
from devstack.training import ROOT

_BIN = Path(sys.executable).parent


@dataclass
class StackConfig:
    model: Path
    workdir: Path
    rasa_port: int = 5005
    actions_port: int = 5055
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 240.0


@dataclass
class Stack:
    config: StackConfig
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.config.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.config.actions_port}"

    def process(self, name: str) -> ManagedProcess:
        return next(p for p in self.processes if p.name == name)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_endpoints(workdir: Path, actions_url: str) -> Path:
    """bot/endpoints.yml with the action server's URL set to the port this stack uses."""
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text()) or {}
    endpoints["action_endpoint"] = {"url": f"{actions_url}/webhook"}
    path = workdir / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def check_ports(config: StackConfig) -> None:
    for name, port in (("Rasa server", config.rasa_port), ("action server", config.actions_port)):
        if not port_is_free(port):
            raise StackError(
                f"port {port} for the {name} is in use: stop what runs there or choose "
                f"another port (SIGILLO_RASA_PORT / SIGILLO_ACTIONS_PORT)"
            )


def start_stack(config: StackConfig) -> Stack:
    """Start the action server, then the Rasa server; return once both answer."""
    check_ports(config)
    config.workdir.mkdir(parents=True, exist_ok=True)
    stack = Stack(config)
    env = {"PYTHONPATH": str(ROOT), **config.env}
    try:
        actions = ManagedProcess(
            "action server",
            [str(_BIN / "rasa"), "run", "actions", "--actions", "actions",
             "--port", str(config.actions_port)],
            config.workdir / "actions.log", env=env, cwd=ROOT,
        ).start()
        stack.processes.append(actions)
        endpoints = write_endpoints(config.workdir, stack.actions_url)
        rasa = ManagedProcess(
            "Rasa server",
            [str(_BIN / "rasa"), "run", "--enable-api", "--model", str(config.model),
             "--port", str(config.rasa_port), "--endpoints", str(endpoints),
             "--credentials", str(ROOT / "bot" / "credentials.yml")],
            config.workdir / "rasa.log", env=env, cwd=ROOT,
        ).start()
        stack.processes.append(rasa)
        actions.wait_ready(f"{stack.actions_url}/health", config.startup_timeout)
        rasa.wait_ready(f"{stack.rasa_url}/", config.startup_timeout)
    except BaseException:
        stack.stop()
        raise
    return stack
