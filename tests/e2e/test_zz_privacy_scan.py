"""After the conversations of the other end-to-end tests (this module runs after them), no
phone number and no message text rests in clear anywhere the stack writes: the database (and
its WAL), the Rasa server's and the action server's logs (design.md invariants 1 and 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PHONE = "447700900200"
TEXTS = ("where is my order C9012 please", "my secret question about returns")


def _stack_files(workdir: Path) -> list[Path]:
    return [p for p in workdir.rglob("*") if p.is_file() and p.suffix not in (".yml", ".json")]


def test_no_phone_number_or_text_rests_in_clear(bot_stack, simulator, converse, give_consent):
    subject = give_consent("+" + PHONE)
    for text in TEXTS:
        assert converse(PHONE, text=text)
    workdir = bot_stack.config.workdir
    scanned = _stack_files(workdir)
    assert any(p.name.startswith("sigillo.db") for p in scanned), "the database was not found"
    assert any(p.name == "rasa.log" for p in scanned)
    needles = [PHONE, "+" + PHONE, *TEXTS, "C9012 please"]
    for path in scanned:
        if path.name == "simulator.log":
            continue  # the simulator plays Meta, which does know the number
        content = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in content, f"{needle!r} found in clear in {path.name}"
    # The pseudonym, on the other hand, is what Rasa keys its tracker on.
    assert subject.startswith("wa_")
