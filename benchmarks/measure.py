"""Running one contender in its own process and measuring it from the outside.

Each run is a fresh child process: wall seconds around it, and from ``wait4`` the
child's own CPU seconds (user + system, including any helpers it waited for) and its
peak resident set size. The median of the repeats is reported.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float
    extra: dict[str, float] = field(default_factory=dict)
    """Phase timings a child reports on its last stdout line as JSON (``{"phases": ...}``)."""


@dataclass
class Measurement:
    job: str
    size: int
    contender: str
    reference: bool = False
    samples: list[Sample] = field(default_factory=list)
    status: str = "ok"
    """'ok', 'not available: <reason>' or 'failed: <reason>'."""
    note: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> Measurement:
        samples = [Sample(**s) for s in data.pop("samples", [])]
        return cls(**data, samples=samples)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.samples)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return max(s.rss_mib for s in self.samples)

    def phase(self, name: str) -> float | None:
        values = [s.extra[name] for s in self.samples if name in s.extra]
        return statistics.median(values) if values else None

    def rows_per_s(self) -> float:
        return self.size / self.wall if self.wall > 0 and self.size else 0.0


class ChildFailed(Exception):
    pass


def run_child(
    cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 3600
) -> Sample:
    """Run ``cmd`` once; raise ``ChildFailed`` with the tail of its stderr on a non-zero exit."""
    out_path = cwd / ".bench-stdout"
    err_path = cwd / ".bench-stderr"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    if proc.returncode == -9:
        raise ChildFailed(f"killed (timeout of {timeout:.0f}s or out of memory)")
    if proc.returncode != 0:
        tail = (stderr.strip() or stdout.strip()).splitlines()[-6:]
        raise ChildFailed(f"exit {proc.returncode}: " + " | ".join(tail))
    return Sample(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mib=usage.ru_maxrss / 1024,
        extra=_phases(stdout),
    )


def _phases(stdout: str) -> dict[str, float]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith('{"phases"'):
            try:
                return {k: float(v) for k, v in json.loads(line)["phases"].items()}
            except (ValueError, KeyError, TypeError):
                return {}
    return {}


@dataclass
class Run:
    """One contender's command and what surrounds each of its samples."""

    m: Measurement
    cmd: list[str]
    cwd: Path
    setup: Callable[[], None] | None = None
    env: dict[str, str] | None = None
    check: Callable[[], str | None] | None = None
    """Runs after the first sample: a problem (wrong row count...) or None."""


def measure(
    m: Measurement,
    cmd: list[str],
    *,
    cwd: Path,
    repeat: int,
    setup: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
    check: Callable[[], str | None] | None = None,
) -> Measurement:
    """Fill ``m`` with ``repeat`` samples; ``setup`` runs (untimed) before each one.

    ``check`` runs after the first sample and returns a problem (wrong row count...) or
    None: a contender that gives a wrong answer is reported as failed, not as fast.
    """
    measure_in_turns([Run(m, cmd, cwd, setup, env, check)], repeat)
    return m


def measure_in_turns(runs: list[Run], repeat: int) -> None:
    """``repeat`` rounds, each running every contender once, in turn.

    On a shared machine the load drifts over minutes; contenders measured one after the
    other would each meet a different machine, contenders measured in turns meet the same.
    """
    for index in range(repeat):
        for run in runs:
            if run.m.status != "ok":
                continue
            try:
                if run.setup:
                    run.setup()
                run.m.samples.append(run_child(run.cmd, cwd=run.cwd, env=run.env))
            except ChildFailed as exc:
                run.m.status = f"failed: {exc}"
                run.m.samples.clear()
                continue
            if index == 0 and run.check is not None:
                problem = run.check()
                if problem:
                    run.m.status = f"failed: {problem}"
                    run.m.samples.clear()


def machine() -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python and the versions of the libraries compared."""
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = []
    for dist in (
        "dagwright",
        "duckdb",
        "pyarrow",
        "polars",
        "pandas",
        "dlt",
        "great-expectations",
        "apache-airflow",
        "connectorx",
        "psycopg",
    ):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "libraries": ", ".join(versions),
        "load average when the report was written (1, 5, 15 min)": load,
    }
