"""A throwaway PostgreSQL cluster from Debian's `postgresql` package, for tests of the stores.

`initdb` into a temporary directory, `pg_ctl start` on a free port on 127.0.0.1 (its unix socket
in that directory too), a fresh database per test (`PostgresCluster.database`), and at the end
`pg_ctl stop` and the directory deleted. PostgreSQL refuses to run as root and CI runs as root,
so there the cluster runs as the `postgres` user the Debian package creates. Durability is
switched off (fsync, synchronous commit): a crash loses only a test's data.

The binaries are not optional: `make test` installs them (`make postgres`), so a missing one
fails the tests that need it, with the command that fixes it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

HOST = "127.0.0.1"
SUPERUSER = "postgres"
START_TIMEOUT_S = 30
_FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


def postgres_bin() -> Path:
    """The newest installed server's bin directory, or a failure that says how to install one."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb):"
                           " run `make postgres` (apt-get install -y postgresql) or `make test`")
    return Path(found[-1]).parent


@dataclass
class PostgresCluster:
    data_dir: Path
    port: int
    _as_postgres: bool

    @property
    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name made here, not input
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        _run(self._as_postgres, [str(postgres_bin() / "pg_ctl"), "stop", "-D", str(self.data_dir / "data"),
                                 "-m", "immediate", "-w"], check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_postgres(base: Path) -> PostgresCluster:
    """initdb and start a cluster under `base` (a fresh temporary directory)."""
    binaries = postgres_bin()
    as_postgres = os.geteuid() == 0
    base.mkdir(parents=True, exist_ok=True)
    if as_postgres:
        user = pwd.getpwnam(SUPERUSER)
        for path in (base, *base.parents):  # the postgres user must reach its directory
            if path == Path("/"):
                break
            path.chmod(path.stat().st_mode | 0o011)
        os.chown(base, user.pw_uid, user.pw_gid)
    data, port = base / "data", _free_port()
    _run(as_postgres, [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
    options = f"-p {port} -c listen_addresses={HOST} -c unix_socket_directories={base} {_FAST}"
    _run(as_postgres, [str(binaries / "pg_ctl"), "start", "-D", str(data), "-w", "-t", str(START_TIMEOUT_S),
                       "-l", str(base / "server.log"), "-o", options])
    return PostgresCluster(base, port, as_postgres)


def _run(as_postgres: bool, command: list[str], check: bool = True) -> None:
    if as_postgres:
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
