"""Where the channel bench's processes run, read back from /proc: the stack pins them
(connectors/whatsapp/cpu_affinity.py, devstack), and the bench's table says what it measured."""

from __future__ import annotations

from pathlib import Path

from connectors.whatsapp.cpu_affinity import cpus_of


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


def helpers_of(pid: int) -> list[int]:
    """The processes `pid` spawned with multiprocessing (its webhook front or workers), not
    multiprocessing's own resource tracker, which idles where the server started it."""
    found = []
    for child in children_of(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


def placement(server_pid: int, others: dict[str, int]) -> str:
    """"the Rasa server on [0]; its front on [1]; ..." for the bench's table."""
    children: set[int] = set()
    for child in helpers_of(server_pid):
        children |= cpus_of(child)
    parts = [f"the Rasa server on {sorted(cpus_of(server_pid))}"]
    if children:
        parts.append(f"its front on {sorted(children)}")
    parts += [f"{name} on {sorted(cpus_of(pid))}" for name, pid in others.items()]
    return "; ".join(parts)
