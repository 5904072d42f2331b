"""A real MariaDB server for tests (Debian's ``mariadb-server``), on a free port of 127.0.0.1.

Each test session gets a throwaway data directory and socket; the server runs in its own
process group with ``local_infile`` on (the MySQL loader's bulk path), and a password
user that reaches it over TCP, as a production login would. As root it runs as root
(``--user=root``): MariaDB allows that when asked, unlike PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

USER = "dagwright"
PASSWORD = "s3cret-Pa55word"
HINT = "`make test` installs it (apt-get install mariadb-server)"


@dataclass(frozen=True)
class MariaDBServer:
    host: str
    port: int
    user: str
    password: str
    database: str
    socket: Path

    @property
    def url(self) -> str:
        return f"mysql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def connect(self, database: str | None = None):  # noqa: ANN201 - a pymysql connection
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database or self.database,
            autocommit=True,
            local_infile=True,
        )

    def execute(self, sql: str, params: tuple | list | None = None) -> list[tuple]:
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        finally:
            con.close()


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: {HINT}")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _root(sock: Path):  # noqa: ANN202 - a pymysql connection over the socket, as root
    import pymysql

    return pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)


@contextmanager
def mariadb_server(database: str = "dagwright") -> Iterator[MariaDBServer]:
    """Start a MariaDB server with database ``database`` and yield how to reach it."""
    daemon, install = _binary("mariadbd"), _binary("mariadb-install-db")
    base = Path(tempfile.mkdtemp(prefix="dagwright-mariadb-"))
    datadir, sock, log = base / "data", base / "mysqld.sock", base / "mariadb.log"
    run_as = ["--user=root"] if os.geteuid() == 0 else []
    made = subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            *run_as,
        ],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed: {made.stdout}{made.stderr}")
    port = _free_port()
    args = [daemon, "--no-defaults", f"--datadir={datadir}", f"--socket={sock}",
            f"--port={port}", "--bind-address=127.0.0.1", f"--pid-file={base / 'pid'}",
            f"--log-error={log}", "--local-infile=1", "--skip-log-bin",
            "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=200", "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_bin", "--innodb-lock-wait-timeout=50",
            *run_as]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                root = _root(sock)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text() if log.exists() else "(no log)"
                    raise RuntimeError(f"MariaDB did not start: {text[-3000:]}") from None
                time.sleep(0.1)
        with root.cursor() as cur:
            cur.execute(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION")
            cur.execute(f"CREATE DATABASE `{database}`")
        root.close()
        yield MariaDBServer("127.0.0.1", port, USER, PASSWORD, database, sock)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
