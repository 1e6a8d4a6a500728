"""Process groups on Linux, read from /proc: which members are still running, and who holds a
port. The supervisor (`run_stack`) waits on each service's whole group, and so do tests that stop
a server or kill a consumer, since helpers (gunicorn's workers, the prepare worker, noida's
binary) outlive or outrun the process that was started."""

from __future__ import annotations

import os
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


def port_holder(port: int) -> str | None:
    """"pid N (name)" of a process listening on TCP `port`, when /proc tells (None otherwise)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = {os.readlink(fd) for fd in fd_dir.iterdir()}
        except OSError:
            continue
        if links & {f"socket:[{inode}]" for inode in inodes}:
            pid = fd_dir.parent.name
            try:
                name = (fd_dir.parent / "comm").read_text().strip()
            except OSError:
                name = "?"
            return f"pid {pid} ({name})"
    return None


def _listening_inodes(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(fields[9])
    return found
