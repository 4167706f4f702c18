"""A core of its own for the Rasa server, the rest of the machine for everything else.

The Rasa server's turns are bound by its interpreter lock: it uses one core, whatever the
machine has. On a small machine the webhook front, the simulator, the action server and the load
generator preempt it in bursts (a reply's statuses, the next message), and its turn waits for the
CPU while the machine as a whole is far from busy (docs/benchmarks.md, session 14). Pinning it
alone to one core and the others to the remaining cores keeps them out of its way. Linux only
(sched_setaffinity); a thread started later inherits the mask of the thread that starts it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def split(cpus: Iterable[int]) -> tuple[set[int], set[int]] | None:
    """(the server's core, everyone else's) out of `cpus`; None with fewer than two."""
    ordered = sorted(cpus)
    if len(ordered) < 2:
        return None
    return {ordered[0]}, set(ordered[1:])


def pin_process(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` onto `cpus` (a thread that ended meanwhile is skipped)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except ProcessLookupError:
            continue


def children_of(pid: int) -> list[int]:
    """The processes `pid` started, and theirs (the webhook front is the Rasa server's)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def give_server_a_core(server_pid: int, others: Iterable[int]) -> str:
    """Pin the server to a core of its own, and its children, `others` and this process to the
    rest; returns what was done, for the bench's table."""
    halves = split(os.sched_getaffinity(0))
    if halves is None:
        return "not pinned: fewer than two CPUs"
    server, rest = halves
    pin_process(server_pid, server)
    for pid in [*children_of(server_pid), *others, os.getpid()]:
        pin_process(pid, rest)
    return f"the Rasa server on CPU {min(server)}, everything else on {sorted(rest)}"
