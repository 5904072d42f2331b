"""A fakesnow server for tests: Snowflake's HTTP API over DuckDB, on a free port of 127.0.0.1.

fakesnow pins its own sqlglot and duckdb, which clash with dagwright's, so the server runs
from a virtualenv of its own, kept outside the repository (``~/.cache/dagwright-tests``,
or under ``$XDG_CACHE_HOME``) and shared by every test run and pytest-xdist worker: the
first one to need it installs it under a file lock, and a stamp file written only after a
successful install tells the others (and later runs) that it is complete. The tests talk
to it with the real ``snowflake-connector-python`` (4.x: fakesnow breaks with 5.x) from
dagwright's own virtualenv, over plain HTTP.

The server runs in its own process group, killed when the context ends (and by the kernel
if the test process dies first). Its stage files (PUT) go under ``folder``, not the
system's temporary folder.
"""

from __future__ import annotations

import ctypes
import fcntl
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snowflake.connector import SnowflakeConnection

FAKESNOW_VERSION = "0.12.1"
# The server's own pins: fakesnow asks for duckdb~=2.0.0 and sqlglot~=30.22.0 and any
# connector; exact versions keep a rebuilt cache the same as the one that was tested.
REQUIREMENTS = (
    f"fakesnow[server]=={FAKESNOW_VERSION}",
    "snowflake-connector-python==4.8.1",
    "duckdb==2.0.1",
    "sqlglot==30.22.0",
    "pyarrow==26.0.1",
    "starlette==1.10.0",
    "uvicorn==0.55.0",
)
PATCHES = (
    (
        "fakesnow/arrow.py",
        "            arrays=[epoch, fraction, timezone],\n",
        "            arrays=[epoch, fraction, timezone],\n            mask=pc.is_null(ts),\n",
    ),
    (
        "fakesnow/arrow.py",
        "            arrays=[epoch, fraction],\n",
        "            arrays=[epoch, fraction],\n            mask=pc.is_null(ts),\n",
    ),
    (
        "fakesnow/server.py",
        "            del sessions[token]\n",
        "            sessions.pop(token).close()\n",
    ),
)
"""Fixes to fakesnow's own bugs, applied to the installed copy: 0.12.1 builds the Arrow
structs it sends timestamps in without a null mask, so every NULL timestamp reached the
client as 1970-01-01 (the stored value was NULL); and a session that logs out (or that
``end_session`` ends) kept its DuckDB connection, and with it an open transaction and its
writes, where Snowflake rolls the transaction back."""
PIP_VERSION = "26.3"
# The connector probes cloud metadata endpoints (169.254.169.254, metadata.google.internal)
# at login unless this is set: tests reach nothing but 127.0.0.1.
NO_PLATFORM_DETECTION = {"SNOWFLAKE_DISABLE_PLATFORM_DETECTION": "true"}


@dataclass(frozen=True)
class FakesnowServer:
    host: str
    port: int
    log: Path

    def url(self, database: str, schema: str = "PUBLIC") -> str:
        """A ``snowflake://`` URL to this server, as the Snowflake loader takes it."""
        return (
            f"snowflake://fake:fake@fakesnow/{database}/{schema}?host={self.host}"
            f"&port={self.port}&protocol=http&network_timeout=15&socket_timeout=600"
        )

    def end_session(self, token: str) -> None:
        """End a session as Snowflake ends a detached one (a client killed mid-transaction:
        after four idle hours, or ``SYSTEM$ABORT_TRANSACTION``): its open transaction is
        rolled back. ``token`` is the connection's ``rest.token``."""
        con = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {
                "Authorization": f'Snowflake Token="{token}"',
                "Content-Type": "application/json",
            }
            con.request("POST", "/session?delete=true", body="{}", headers=headers)
            answer = con.getresponse()
            answer.read()
            if answer.status not in (200, 401):  # 401: it had logged out already
                raise RuntimeError(f"fakesnow did not end the session: HTTP {answer.status}")
        finally:
            con.close()

    def connect(
        self, database: str | None = None, schema: str | None = None, **kw: Any
    ) -> SnowflakeConnection:
        """A ``snowflake.connector`` connection to this server (dummy credentials, HTTP).

        Every connection shares the server's one in-memory DuckDB; pass
        ``session_parameters={"FAKESNOW_DB_PATH": ":isolated:"}`` for one of its own.

        The connector retries any HTTP 500 (fakesnow's answer to an error it doesn't map,
        e.g. a constraint violation) until ``network_timeout`` runs out, forever by default,
        and re-sends a statement still running after ``socket_timeout`` (60 s by default),
        which fakesnow then runs a second time: hence these defaults.
        """
        import snowflake.connector

        os.environ.update(NO_PLATFORM_DETECTION)
        params: dict[str, Any] = {
            "account": "fakesnow",
            "user": "fake",
            "password": "fake",
            "host": self.host,
            "port": self.port,
            "protocol": "http",
            "login_timeout": 30,
            "network_timeout": 15,
            "socket_timeout": 600,
            **kw,
        }
        if database is not None:
            params["database"] = database
        if schema is not None:
            params["schema"] = schema
        return snowflake.connector.connect(**params)


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dagwright-tests"


def _stamp(venv: Path) -> Path:
    return venv / ".dagwright-complete"


def _complete(venv: Path) -> bool:
    stamp = _stamp(venv)
    return (
        stamp.is_file()
        and stamp.read_text() == _stamp_text()
        and (venv / "bin" / "python").exists()  # the interpreter it was made from is still there
        and (venv / "bin" / "fakesnow").is_file()
    )


def fakesnow_venv() -> Path:
    """The virtualenv holding the fakesnow server: made once, then reused."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / f"fakesnow-{FAKESNOW_VERSION}"
    if _complete(venv):
        return venv
    with (root / f"fakesnow-{FAKESNOW_VERSION}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _complete(venv):  # another worker installed it while this one waited
            return venv
        log_path = root / f"fakesnow-{FAKESNOW_VERSION}-install.log"
        shutil.rmtree(venv, ignore_errors=True)  # what an interrupted install left
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [*pip, f"pip=={PIP_VERSION}"],
            [*pip, *REQUIREMENTS],
        ]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        with log_path.open("w") as log:
            for step in steps:
                log.write(f"$ {' '.join(step)}\n")
                log.flush()
                try:
                    done = subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, env=env,
                                          timeout=900)  # fmt: skip
                except subprocess.TimeoutExpired:
                    done = None
                if done is None or done.returncode != 0:
                    raise RuntimeError(
                        f"installing fakesnow into {venv} failed at `{' '.join(step)}`; "
                        f"see {log_path}:\n{_tail(log_path)}"
                    )
        _patch(venv)
        _stamp(venv).write_text(_stamp_text())
    return venv


def _stamp_text() -> str:
    return "\n".join([*REQUIREMENTS, *(repr(p) for p in PATCHES)])


def _patch(venv: Path) -> None:
    """Apply ``PATCHES`` to the installed fakesnow (each must match exactly once)."""
    (site,) = (venv / "lib").glob("python3*/site-packages")
    for relative, old, new in PATCHES:
        path = site / relative
        text = path.read_text()
        if text.count(old) != 1:
            raise RuntimeError(f"cannot patch {path}: {old.strip()!r} is not there once")
        path.write_text(text.replace(old, new))


def _tail(path: Path, lines: int = 30) -> str:
    with suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    """Whether the HTTP server is up: any answer will do (``GET /`` is a 404)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        con.request("GET", "/")
        con.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        con.close()


def _die_with_parent() -> None:
    """Run in the server's process before exec: have Linux kill it when the test process
    dies, even of a SIGTERM or SIGKILL that skips the context's cleanup."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _ours(port: int, log_path: Path) -> bool:
    """Whether the server logging to ``log_path`` is the one answering on ``port``: the log
    line proves that it bound the port, rather than some other server."""
    return f"running on http://127.0.0.1:{port}" in log_path.read_text() and _answers(port)


def _start(binary: Path, env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """Start the server on a free port and wait until it is the one answering there.

    Another process may take the port between ``_free_port`` and the server binding it (a
    pytest-xdist worker starting its own), so on "address already in use" it tries again.
    """
    for _ in range(3):
        port = _free_port()
        args = [str(binary), "-s", "--host", "127.0.0.1", "-p", str(port)]
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 60
        while not _ours(port, log_path):
            if proc.poll() is not None:
                if "address already in use" in log_path.read_text():
                    break
                raise RuntimeError(
                    f"fakesnow exited ({proc.returncode}) before answering on port {port}; "
                    f"see {log_path}:\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                _kill(proc)
                raise RuntimeError(
                    f"fakesnow did not answer on port {port} within 60 s; "
                    f"see {log_path}:\n{_tail(log_path)}"
                )
            time.sleep(0.1)
        else:
            return proc, port
    raise RuntimeError(f"fakesnow found no free port; see {log_path}:\n{_tail(log_path)}")


def _kill(proc: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@contextmanager
def fakesnow_server(folder: Path) -> Iterator[FakesnowServer]:
    """Start ``fakesnow -s`` (installing it first if need be) and yield its address.

    Its output goes to ``folder / "fakesnow.log"``.
    """
    binary = fakesnow_venv() / "bin" / "fakesnow"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "fakesnow-tmp"  # fakesnow keeps its stage files in a mkdtemp() folder
    tmp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(NO_PLATFORM_DETECTION, TMPDIR=str(tmp), PYTHONUNBUFFERED="1")
    log_path = folder / "fakesnow.log"
    proc, port = _start(binary, env, log_path)
    try:
        yield FakesnowServer("127.0.0.1", port, log_path)
    finally:
        _kill(proc)
