"""A throwaway PostgreSQL cluster from Debian's `postgresql` package, for tests of the stores.

`initdb` into a temporary directory, `pg_ctl start` on a free port on 127.0.0.1 (its unix socket
in that directory too), a fresh schema per test that its stores see as their whole database
(`PostgresCluster.database`), and at the end
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
DATABASE = "postgres"
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
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{DATABASE}"

    def database(self) -> str:
        """A new empty schema, as a URL whose connections see only it (`search_path`): to the stores
        it is a database of their own, and it takes milliseconds where CREATE DATABASE takes 0.1-0.3 s."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')  # a name made here, not input
        return f"{self.admin_url}?options=-csearch_path%3D{name}"

    def drop(self, url: str) -> None:
        name = url.rsplit("%3D", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def halt(self, mode: str = "fast") -> None:
        """Stop the server, as an outage does: `fast` keeps every commit (durability is off, so
        `immediate` may lose the last ones, which only the final stop may)."""
        _run(self._as_postgres, [str(postgres_bin() / "pg_ctl"), "stop", "-D", str(self.data_dir / "data"),
                                 "-m", mode, "-w"], check=False)

    def resume(self) -> None:
        options = f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories={self.data_dir} {_FAST}"
        _run(self._as_postgres, [str(postgres_bin() / "pg_ctl"), "start", "-D", str(self.data_dir / "data"), "-w",
                                 "-t", str(START_TIMEOUT_S), "-l", str(self.data_dir / "server.log"), "-o", options])

    def stop(self) -> None:
        self.halt("immediate")
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
    cluster = PostgresCluster(base, _free_port(), as_postgres)
    _run(as_postgres, [str(binaries / "initdb"), "-D", str(base / "data"), "-U", SUPERUSER, "-A", "trust",
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
    cluster.resume()
    return cluster


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
