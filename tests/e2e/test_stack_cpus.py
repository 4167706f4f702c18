"""The reference stack's default placement (cpu_affinity.py): the Rasa server alone on one core,
the webhook front and the action server on the others, every thread of each."""

from __future__ import annotations

import os

import pytest

from bench.cores import helpers_of
from connectors.whatsapp.cpu_affinity import cpus_of, split_of_this_process
from devstack.stack import StackConfig, core_split

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to split"),
]


def test_the_rasa_server_has_a_core_of_its_own(bot_stack, converse, give_consent) -> None:
    give_consent("+447700900777")
    converse("447700900777", text="hello")  # a turn: the turn thread and TensorFlow's run
    cores = split_of_this_process()
    assert cores is not None
    assert core_split(bot_stack.config) == cores  # the stack's split is the channel's
    rasa = bot_stack.process("Rasa server")
    assert cpus_of(rasa.popen.pid) == cores.server
    fronts = helpers_of(rasa.popen.pid)
    assert fronts, "the Rasa server started no webhook front"
    for pid in fronts:
        assert cpus_of(pid) == cores.helpers
    assert cpus_of(bot_stack.process("action server").popen.pid) == cores.helpers
    # Meta's stand-in is left to the scheduler: its CPU is not the deployment's.
    assert cpus_of(bot_stack.process("Cloud API simulator").popen.pid) == os.sched_getaffinity(0)
    assert "whatsapp.cores.pinned " + cores.describe() in rasa.log_path.read_text()


def test_a_declined_or_rest_only_stack_pins_nothing(tmp_path) -> None:
    declined = StackConfig(model=tmp_path, workdir=tmp_path, channel="whatsapp", pin_cores=False)
    rest_only = StackConfig(model=tmp_path, workdir=tmp_path, channel="rest")
    assert core_split(declined) is None and core_split(rest_only) is None


@pytest.mark.parametrize(
    ("value", "expected"), [(None, True), ("", True), ("false", False), ("on", True)]
)
def test_make_run_pins_unless_declined(monkeypatch, value, expected) -> None:
    from devstack.run import _pin_cores

    if value is None:
        monkeypatch.delenv("WHATSAPP_PIN_CORES", raising=False)
    else:
        monkeypatch.setenv("WHATSAPP_PIN_CORES", value)
    assert _pin_cores() is expected


def test_make_run_names_a_bad_pin_setting_and_says_where_things_run(monkeypatch, tmp_path) -> None:
    from devstack.processes import StackError
    from devstack.run import _cpus_line, _pin_cores

    monkeypatch.setenv("WHATSAPP_PIN_CORES", "sometimes")
    with pytest.raises(StackError, match="'pin_cores' .*WHATSAPP_PIN_CORES.*true or false"):
        _pin_cores()
    pinned = StackConfig(model=tmp_path, workdir=tmp_path, channel="whatsapp")
    cores = split_of_this_process()
    assert cores is not None
    assert f"alone on CPU {min(cores.server)}" in _cpus_line(pinned)
    declined = StackConfig(model=tmp_path, workdir=tmp_path, channel="whatsapp", pin_cores=False)
    assert "not pinned (WHATSAPP_PIN_CORES=false)" in _cpus_line(declined)
