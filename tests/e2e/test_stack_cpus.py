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
