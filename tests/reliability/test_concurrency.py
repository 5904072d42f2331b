"""Two ``dagwright run`` processes of one pipeline and interval never load it twice.

The run holds DuckDB's own file lock from start to end: the second process waits for it
(``lock_timeout``) and then finds the interval loaded, or gives up with a clear message.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.support import DAY1, TABLES, CrashProject, write_events

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]
ROWS = 5_000


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("concurrency") / "events.csv"
    write_events(path, ROWS, 1)
    return path


@pytest.fixture(scope="module")
def clean(events: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = CrashProject.create(tmp_path_factory.mktemp("clean"), events)
    done = project.run(DAY1)
    assert done.returncode == 0, done.stdout + done.stderr
    return project.state()


def wait_for_lock(log: Path, timeout: float = 60) -> None:
    """Until the process logging to ``log`` has run a statement (it holds the lock then)."""
    deadline = time.monotonic() + timeout
    while not (log.exists() and log.read_text().strip()):
        assert time.monotonic() < deadline, "the first run never opened the warehouse"
        time.sleep(0.05)


def skipped_loads(stdout: str) -> bool:
    lines = [line for line in stdout.splitlines() if "load_t_" in line]
    return bool(lines) and all("skipped" in line for line in lines)


def test_two_runs_started_at_once_load_once(events: Path, clean: dict, tmp_path: Path) -> None:
    project = CrashProject.create(tmp_path, events)
    slow = {"SLOW_STATEMENT": "3", "SLOW_SECONDS": "3"}
    first = project.popen(DAY1, slow)
    second = project.popen(DAY1, slow)
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert project.state() == clean
    statuses = sorted(status for _, status in project.runs())
    assert statuses == ["success", "success"]
    # the tables read past a cursor were loaded once; those of the interval-bounded source
    # were loaded again by the second run, replacing the interval's rows
    assert project.loads() == {t: 1 if t.startswith("t_") else 2 for t in TABLES}
    waited = [out for out, _ in outputs if skipped_loads(out)]
    assert len(waited) == 1, "exactly one run found the watermark tables already loaded"


def test_second_run_waits_then_finds_the_interval_loaded(
    events: Path, clean: dict, tmp_path: Path
) -> None:
    project = CrashProject.create(tmp_path, events)
    log = tmp_path / "first.log"
    first = project.popen(
        DAY1, {"STATEMENT_LOG": str(log), "SLOW_STATEMENT": "3", "SLOW_SECONDS": "4"}
    )
    wait_for_lock(log)
    second = project.run(DAY1)
    first.communicate(timeout=180)
    assert first.returncode == 0
    assert second.returncode == 0, second.stdout + second.stderr
    assert project.state() == clean
    assert skipped_loads(second.stdout), second.stdout
    assert project.state()["ledger"] == clean["ledger"]


def test_second_run_refuses_when_the_lock_wait_runs_out(
    events: Path, clean: dict, tmp_path: Path
) -> None:
    project = CrashProject.create(tmp_path, events, lock_timeout=1)
    log = tmp_path / "first.log"
    first = project.popen(
        DAY1, {"STATEMENT_LOG": str(log), "SLOW_STATEMENT": "3", "SLOW_SECONDS": "8"}
    )
    wait_for_lock(log)
    second = project.run(DAY1)
    first.communicate(timeout=180)
    assert first.returncode == 0
    assert second.returncode == 1
    message = " ".join(second.stderr.split())
    assert "is locked by another process (waited 1s)" in message, second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert project.state() == clean
    assert [status for _, status in project.runs()] == ["success"]
