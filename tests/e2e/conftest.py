"""Helpers shared by the end-to-end tests: conversations through the simulator, consent set-up
and audit look-ups against the running stack's database."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from devstack.consent import grant_consent


@pytest.fixture(scope="session")
def converse(simulator) -> Callable[..., list[dict]]:  # type: ignore[no-untyped-def]
    """converse(user, text=...) sends one message as the user and returns the bot's next
    `count` messages to that user."""

    def talk(user: str, count: int = 1, wait: float = 45.0, **spec: object) -> list[dict]:
        start = simulator.next_index(user)
        answer = simulator.send(user, **spec)
        assert answer["webhook_status"] == 200, answer
        return simulator.replies(user, start, count=count, wait=wait)

    return talk


@pytest.fixture(scope="session")
def give_consent(stack_context) -> Callable[[str], str]:  # type: ignore[no-untyped-def]
    """Record a confirmed double opt-in for a phone number, as if the user had done it; returns
    the pseudonym the channel will use."""

    def give(phone: str) -> str:
        subject = stack_context.vault.register("phone", phone)
        grant_consent(stack_context, [subject])
        return subject

    return give


@pytest.fixture(scope="session")
def audit_kinds(stack_context) -> Callable[..., list[str]]:  # type: ignore[no-untyped-def]
    """The kinds of the audit entries about a subject, waiting until `until` appears."""

    def kinds(subject: str, until: str | None = None, wait: float = 30.0) -> list[str]:
        deadline = time.monotonic() + wait
        while True:
            with stack_context.engine.connect() as conn:
                found = list(
                    conn.execute(
                        sa.text("SELECT kind FROM audit_entries WHERE subject = :s ORDER BY seq"),
                        {"s": subject},
                    ).scalars()
                )
            if until is None or until in found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    return kinds
