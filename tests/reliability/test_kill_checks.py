"""SIGKILL a real ``dagwright run`` inside its check stages; a rerun must converge.

The pipeline (``support.CHECKED``) checks both sources and a transform, with
``quarantine``, ``error`` and ``warn`` items, and checks a table after its load; some
items run natively in DuckDB, two in Great Expectations (``engine: great_expectations``),
whose chunked reads give the chunk kill points. Every
trial validates in chunks of 400 rows and kills the run:

- when a validation reads its N-th chunk (the earlier chunks were validated), or
- just before or after the N-th append to a check side table (check results, Great
  Expectations validations, quarantined rows), or
- just before or after a random statement of those appends (inside their transaction), or
- just before or after a random statement on the warehouse (checks or loads).

After a rerun of the same interval, the destination tables, ledger and watermarks, and
the check results, validations and quarantine tables (run ids and times aside) must equal
a clean run's: nothing lost, nothing stored twice; and no run may still be ``running``.

``DAGWRIGHT_KILL_POINTS`` (default 4 here: each kind of kill once) sets the number of trials, ``DAGWRIGHT_KILL_SEED``
the seed; ``DAGWRIGHT_KILL_REPORT=path`` appends one JSON line per trial.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import CHECKED, DAY1, DAY2, CrashProject, write_events
from tests.reliability.test_kill import report

TRIALS = int(os.environ.get("DAGWRIGHT_KILL_POINTS", "4"))
SEED = int(os.environ.get("DAGWRIGHT_KILL_SEED", "20261128"))
ROWS_PER_DAY = 2_000
CHUNKS = {"CHECK_CHUNK_ROWS": "400"}

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kill_checks")]


@dataclass
class Scenario:
    name: str
    events: Path
    warehouse_before: Path | None
    interval: tuple[str, str]
    expected: dict[str, Any]
    checks: dict[str, Any]
    statements: int
    chunks: int
    appends: list[tuple[str, int, int]]


def read_events(path: Path) -> tuple[int, list[tuple[str, int, int]]]:
    """Chunks read and appends (table, first statement, last statement) from an EVENT_LOG."""
    lines = path.read_text().splitlines() if path.exists() else []
    appends = []
    for line in lines:
        if line.startswith("append "):
            _, table, first, last = line.split()
            appends.append((table, int(first), int(last)))
    return sum(line == "chunk" for line in lines), appends


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    """Clean runs with checks: day 1 into an empty warehouse, then day 2 on top."""
    base = tmp_path_factory.mktemp("kill_checks_reference")
    day1, both = base / "events_day1.csv", base / "events_days12.csv"
    write_events(day1, ROWS_PER_DAY, 1)
    write_events(both, ROWS_PER_DAY, 2)
    project = CrashProject.create(base / "clean", day1, spec=CHECKED)
    result: dict[str, Scenario] = {}
    for name, events, interval in (("first", day1, DAY1), ("second", both, DAY2)):
        shutil.copy(events, project.root / "data" / "events.csv")
        before = None
        if project.warehouse.exists():
            before = base / f"before_{name}.duckdb"
            shutil.copy(project.warehouse, before)
        statements, log = base / f"statements_{name}.log", base / f"events_{name}.log"
        env = {**CHUNKS, "STATEMENT_LOG": str(statements), "EVENT_LOG": str(log)}
        done = project.run(interval, env)
        assert done.returncode == 0, done.stdout + done.stderr
        chunks, appends = read_events(log)
        assert chunks >= 6 and len(appends) >= 8, (chunks, appends)
        state = project.state()
        assert all(state["tables"].values()), f"the clean {name} run loaded every table"
        result[name] = Scenario(
            name,
            events,
            before,
            interval,
            state,
            project.check_state(),
            len(statements.read_text().split()),
            chunks,
            appends,
        )
    assert result["second"].checks["quarantine"]["events__quarantine"], "day 2 quarantines rows"
    return result


def kill_point(trial: int, scenario: Scenario) -> dict[str, Any]:
    rng = random.Random(SEED * 1_000 + trial)
    kind = ("chunk", "append", "append_statement", "statement")[trial % 4]
    when = rng.choice(["before", "after"])
    if kind == "chunk":
        return {"kind": kind, "at": rng.randint(1, scenario.chunks)}
    if kind == "append":
        at = rng.randint(1, len(scenario.appends))
        return {"kind": kind, "at": at, "when": when, "table": scenario.appends[at - 1][0]}
    if kind == "append_statement":
        table, first, last = rng.choice(scenario.appends)
        return {"kind": kind, "at": rng.randint(first, last), "when": when, "table": table}
    return {"kind": kind, "at": rng.randint(1, scenario.statements), "when": when}


def kill_env(point: dict[str, Any]) -> dict[str, str]:
    when = point.get("when", "before")
    if point["kind"] == "chunk":
        return {"KILL_CHUNK": str(point["at"])}
    if point["kind"] == "append":
        return {"KILL_APPEND": str(point["at"]), "KILL_WHEN": when}
    return {"KILL_STATEMENT": str(point["at"]), "KILL_WHEN": when}


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_in_checks_then_rerun_equals_clean_run(
    trial: int, scenarios: dict[str, Scenario], tmp_path: Path
) -> None:
    scenario = scenarios[random.Random(SEED + trial).choice(["first", "second"])]
    project = CrashProject.create(tmp_path, scenario.events, spec=CHECKED)
    if scenario.warehouse_before is not None:
        shutil.copy(scenario.warehouse_before, project.warehouse)
    point = kill_point(trial, scenario)
    log = tmp_path / "killed_events.log"
    child = project.popen(scenario.interval, {**CHUNKS, **kill_env(point), "EVENT_LOG": str(log)})
    child.communicate(timeout=180)
    assert child.returncode == -signal.SIGKILL, f"the run was not killed at {point}"
    point["chunks_read"], appends = read_events(log)
    point["appends_done"] = [table for table, _, _ in appends]

    rerun = project.run(scenario.interval, CHUNKS)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    state, checks = project.state(), project.check_state()
    report(
        trial,
        f"checks/{scenario.name}",
        point,
        (state, checks) == (scenario.expected, scenario.checks),
    )
    assert state == scenario.expected, f"tables, ledger or watermarks differ after {point}"
    assert checks["quarantine"] == scenario.checks["quarantine"], (
        f"quarantine differs after {point}"
    )
    assert checks["check_results"] == scenario.checks["check_results"], f"after {point}"
    assert checks["validations"] == scenario.checks["validations"], f"after {point}"
    runs = project.runs()
    assert "running" not in {status for _, status in runs}, runs
    assert runs[-1][1] == "success"
