"""Which processes of a process group are still running: tests that stop a server or kill a
consumer wait on the whole group, since helpers (noida's binary, the prepare worker) outlive or
outrun the process the test started."""

from __future__ import annotations

from pathlib import Path


def live_members(pgid: int) -> list[int]:
    """Pids in the group that have not exited; zombies (exited, not yet reaped, perhaps by an
    init that never reaps) do not count."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive
