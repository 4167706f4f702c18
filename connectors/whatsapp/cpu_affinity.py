"""A core of its own for the Rasa server, the other cores for the channel's helper processes.

The Rasa server's turns are bound by its interpreter lock: it uses one core, whatever the
machine has. On a small machine the webhook front, the simulator, the action server and the load
generator preempt it in bursts (a reply's statuses, the next message), and its turn waits for the
CPU while the machine as a whole is far from busy: on two cores the WhatsApp-to-REST turn ratio
was 0.85-0.90 floating and 0.94-0.95 pinned (docs/benchmarks.md, session 14).

`split` divides the CPUs this process may use (so an operator's taskset or cpuset still bounds
it: two servers on one host each pinned within their own set never meet) into the server's and
the helpers'. Linux only (sched_setaffinity); a thread started later inherits the mask of the
thread that starts it, and a child process its parent's, which is why a helper pins itself
(`pin_this_process`) rather than keep the server's one core.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CoreSplit:
    server: frozenset[int]
    helpers: frozenset[int]

    def describe(self) -> str:
        helpers = ",".join(str(cpu) for cpu in sorted(self.helpers))
        return f"server_cpu={min(self.server)} helper_cpus={helpers}"


def split(cpus: Iterable[int]) -> CoreSplit | None:
    """The lowest CPU for the server, the rest for everyone else; None with fewer than two."""
    ordered = sorted(cpus)
    if len(ordered) < 2:
        return None
    return CoreSplit(frozenset(ordered[:1]), frozenset(ordered[1:]))


def split_of_this_process() -> CoreSplit | None:
    return split(os.sched_getaffinity(0))


def pin_process(pid: int, cpus: Iterable[int]) -> None:
    """Every thread of `pid` onto `cpus` (a thread that ended meanwhile is skipped)."""
    mask = set(cpus)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), mask)
        except ProcessLookupError:
            continue


def try_pin(pid: int, cpus: Iterable[int]) -> bool:
    """pin_process, or a warning if the system refuses (a cpuset without those CPUs, a seccomp
    profile without sched_setaffinity): pinning speeds the bot up, and is never a reason for it
    not to run."""
    try:
        pin_process(pid, cpus)
    except OSError as exc:
        reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        logger.warning("whatsapp.cores.not_pinned pid=%s reason=%s", pid, reason)
        return False
    return True


def pin_this_process(cpus: Iterable[int] | None) -> None:
    """For a helper's first line: None leaves it where it was started."""
    if cpus is not None:
        try_pin(os.getpid(), cpus)


def cpus_of(pid: int) -> set[int]:
    """The CPUs every thread of `pid` may run on (the union: one thread off the mask shows)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found |= os.sched_getaffinity(int(task.name))
        except ProcessLookupError:
            continue
    return found
