"""The bot's processes as one unit, on chosen ports, stopped together.

Three shapes: `rest` (action server + Rasa server with Rasa's REST channel), `whatsapp` (the same
plus the local Cloud API simulator standing in for Meta, with the WhatsApp channel pointed at it)
and `meta` (the WhatsApp channel against Meta, with the WHATSAPP_* settings of the environment).
Each stack has a key file and a SQLite database under its data directory unless the environment
names others.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from connectors.whatsapp.cpu_affinity import CoreSplit, split_of_this_process
from devstack.processes import ManagedProcess, StackError, port_is_free
from devstack.training import ROOT

_BIN = Path(sys.executable).parent

# What the simulator and the channel agree on when no Meta credentials are set. Not secrets:
# they only ever authenticate loopback traffic between two local processes.
SIMULATOR_SETTINGS = {
    "WHATSAPP_APP_SECRET": "sim-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "sim-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "sim-access-token",
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "WHATSAPP_API_VERSION": "v23.0",
}


@dataclass
class StackConfig:
    model: Path
    workdir: Path
    # rest: REST only; whatsapp: WhatsApp against the local simulator (and REST);
    # meta: WhatsApp against Meta with the WHATSAPP_* settings of the environment (and REST).
    channel: str = "rest"
    rasa_port: int = 5005
    actions_port: int = 5055
    simulator_port: int = 5300
    # The webhook front's port (connectors/whatsapp/webhook_front.py): Meta's callback served
    # by a process of its own; None serves it on the Rasa server's port.
    webhook_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    simulator_args: list[str] = field(default_factory=list)
    # Extra WhatsApp channel settings for credentials.yml, e.g. {"download_media": True}.
    whatsapp_options: dict[str, object] = field(default_factory=dict)
    data_dir: Path | None = None  # default: <workdir>/data
    # With a WhatsApp channel: the Rasa server on a core of its own, the webhook front and the
    # action server on the others (WHATSAPP_PIN_CORES, cpu_affinity.py). The simulator stands
    # in for Meta, whose CPU is not the deployment's, and is left to the scheduler (pinned
    # beside the front it measured no better: docs/benchmarks.md, session 15).
    pin_cores: bool = True
    startup_timeout: float = 240.0


@dataclass
class Stack:
    config: StackConfig
    env: dict[str, str] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.config.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.config.actions_port}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.config.simulator_port}"

    @property
    def webhook_url(self) -> str:
        """Where Meta's callback goes: the front when the stack has one, else the Rasa server."""
        port = self.config.webhook_port or self.config.rasa_port
        return f"http://127.0.0.1:{port}/webhooks/whatsapp/webhook"

    def wait_ready(self) -> None:
        """Until the Rasa server, and the webhook front it starts, answer."""
        self.process("Rasa server").wait_ready(f"{self.rasa_url}/", self.config.startup_timeout)
        if self.config.webhook_port is not None:
            self.process("Rasa server").wait_ready(
                f"http://127.0.0.1:{self.config.webhook_port}/webhooks/whatsapp/", 60
            )

    def process(self, name: str) -> ManagedProcess:
        return next(p for p in self.processes if p.name == name)

    def restart_rasa(self) -> None:
        """Stop the Rasa server (if it still runs) and start it again with the same settings."""
        rasa = self.process("Rasa server")
        rasa.stop()
        rasa.start()
        self.wait_ready()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def local_whatsapp_stack(model: Path, workdir: Path, **settings: object) -> StackConfig:
    """A WhatsApp stack against the simulator on free ports (tests, benchmarks); `settings`
    are any other StackConfig fields (env, whatsapp_options, simulator_args, ...)."""
    from devstack.processes import free_port

    return StackConfig(
        model=model,
        workdir=workdir,
        channel="whatsapp",
        rasa_port=free_port(),
        actions_port=free_port(),
        simulator_port=free_port(),
        **{"webhook_port": free_port(), **settings},  # type: ignore[arg-type]
    )


def _write_yaml(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def write_endpoints(workdir: Path, actions_url: str) -> Path:
    """bot/endpoints.yml with the action server's URL set to the port this stack uses."""
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text()) or {}
    endpoints["action_endpoint"] = {"url": f"{actions_url}/webhook"}
    return _write_yaml(workdir / "endpoints.yml", endpoints)


def write_credentials(
    workdir: Path, channel: str, whatsapp_options: dict[str, object] | None = None
) -> Path:
    credentials = yaml.safe_load((ROOT / "bot" / "credentials.yml").read_text()) or {}
    if channel == "rest":
        credentials = {"connectors.rest.PseudonymousRestInput": None}  # no WhatsApp settings
    elif whatsapp_options:
        key = "connectors.whatsapp.WhatsAppInput"
        credentials[key] = {**(credentials.get(key) or {}), **whatsapp_options}
    return _write_yaml(workdir / "credentials.yml", credentials)


def check_ports(config: StackConfig) -> None:
    ports = [
        ("Rasa server", config.rasa_port, "SIGILLO_RASA_PORT"),
        ("action server", config.actions_port, "SIGILLO_ACTIONS_PORT"),
    ]
    if config.channel == "whatsapp":
        ports.append(("Cloud API simulator", config.simulator_port, "SIGILLO_SIMULATOR_PORT"))
    if config.webhook_port is not None:
        # With the simulator make run picks it; with Meta the operator's setting names it.
        variable = {"whatsapp": "SIGILLO_WEBHOOK_PORT"}.get(config.channel, "WHATSAPP_WEBHOOK_PORT")
        ports.append(("webhook front", config.webhook_port, variable))
    for name, port, variable in ports:
        if not port_is_free(port):
            raise StackError(
                f"port {port} for the {name} is in use: stop what runs there or set {variable}"
            )


def data_dir_of(config: StackConfig) -> Path:
    return config.data_dir or config.workdir / "data"


def _stack_env(config: StackConfig) -> dict[str, str]:
    data_dir = data_dir_of(config)
    env = {
        "PYTHONPATH": str(ROOT),
        "SIGILLO_DATA_DIR": str(data_dir),
        "SIGILLO_KEY_FILE": os.environ.get("SIGILLO_KEY_FILE") or str(data_dir / "keys.json"),
    }
    if config.channel == "whatsapp":
        env.update(SIMULATOR_SETTINGS)
        env["WHATSAPP_API_BASE_URL"] = f"http://127.0.0.1:{config.simulator_port}"
    if config.webhook_port is not None:
        env["WHATSAPP_WEBHOOK_PORT"] = str(config.webhook_port)
        if config.channel == "whatsapp":  # the simulator is local; Meta is not
            env["WHATSAPP_WEBHOOK_HOST"] = "127.0.0.1"
    env.update(config.env)
    if config.channel != "rest":  # the field decides: the stack pins its other processes by it
        env["WHATSAPP_PIN_CORES"] = "true" if config.pin_cores else "false"
    return env


def ensure_key_file(env: dict[str, str]) -> None:
    """Create the stack's key file on first start (python -m compliance keys init)."""
    key_file = Path(env["SIGILLO_KEY_FILE"])
    if key_file.exists():
        return
    out = subprocess.run(
        [sys.executable, "-m", "compliance", "keys", "init", "--key-file", str(key_file)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise StackError(f"could not create the key file: {out.stderr.strip()}")


def core_split(config: StackConfig) -> CoreSplit | None:
    """The split the Rasa server's channel makes (it inherits this process's CPUs): the
    processes beside it go on its helpers' cores. None when nothing is pinned."""
    if config.channel == "rest" or not config.pin_cores:
        return None
    return split_of_this_process()


def start_stack(config: StackConfig) -> Stack:
    """Start the simulator (whatsapp), the action server and the Rasa server; return once all
    answer. Anything that fails to start stops what was already started."""
    check_ports(config)
    cores = core_split(config)
    helpers = cores.helpers if cores is not None else None
    data_dir_of(config).mkdir(parents=True, exist_ok=True)
    env = _stack_env(config)
    stack = Stack(config, env=env)
    try:
        ensure_key_file(env)
        if config.channel == "whatsapp":
            callback = stack.webhook_url
            simulator = ManagedProcess(
                "Cloud API simulator",
                [
                    sys.executable,
                    "-m",
                    "connectors.whatsapp.simulator",
                    "--port",
                    str(config.simulator_port),
                    "--callback",
                    callback,
                    *config.simulator_args,
                ],
                config.workdir / "simulator.log",
                env=env,
                cwd=ROOT,
            ).start()  # not pinned: Meta's stand-in, whose CPU is not the deployment's
            stack.processes.append(simulator)
        actions = ManagedProcess(
            "action server",
            [
                str(_BIN / "rasa"),
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(config.actions_port),
            ],
            config.workdir / "actions.log",
            env=env,
            cwd=ROOT,
            cpus=helpers,
        ).start()
        stack.processes.append(actions)
        rasa = ManagedProcess(
            "Rasa server",
            [
                str(_BIN / "rasa"),
                "run",
                "--enable-api",
                "--model",
                str(config.model),
                "--port",
                str(config.rasa_port),
                "--endpoints",
                str(write_endpoints(config.workdir, stack.actions_url)),
                "--credentials",
                str(write_credentials(config.workdir, config.channel, config.whatsapp_options)),
            ],
            config.workdir / "rasa.log",
            env=env,
            cwd=ROOT,
        ).start()
        stack.processes.append(rasa)
        if config.channel == "whatsapp":
            stack.process("Cloud API simulator").wait_ready(
                f"{stack.simulator_url}/_sim/health", 30
            )
        actions.wait_ready(f"{stack.actions_url}/health", config.startup_timeout)
        stack.wait_ready()
    except BaseException:
        stack.stop()
        raise
    return stack
