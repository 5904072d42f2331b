"""SIGKILL a real ``dagwright run`` at seeded random moments; a rerun must converge.

Every trial runs the crash-test pipeline (append, replace, merge and delete_insert loads,
a watermark-driven source and an interval-bounded one) in a subprocess and kills it:

- at a random time within a clean run's duration, after its first warehouse statement, or
- just before or after a random statement on the warehouse file, or
- just before or after the N-th COMMIT (the loads commit explicitly).

Then it reruns the same interval and compares the destination tables (lineage columns
aside), the interval ledger and the watermarks with those of a clean run, and checks
the killed run is no longer shown as 'running'.

``DAGWRIGHT_KILL_POINTS`` (default 10) sets the number of trials, ``DAGWRIGHT_KILL_SEED``
the seed; ``DAGWRIGHT_KILL_REPORT=path`` appends one JSON line per trial.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import (
    DAY1,
    DAY2,
    UNSCHEDULED,
    CrashProject,
    kill_inside,
    write_events,
)

TRIALS = int(os.environ.get("DAGWRIGHT_KILL_POINTS", "10"))
SEED = int(os.environ.get("DAGWRIGHT_KILL_SEED", "20261128"))
ROWS_PER_DAY = 5_000

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kill")]


@dataclass
class Scenario:
    """A starting point: the data file, the warehouse before the run, and the clean result."""

    name: str
    events: Path
    warehouse_before: Path | None
    interval: tuple[str, str] | None
    expected: dict[str, Any]
    seconds: float
    statements: list[str]


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    """Clean runs: day 1 into an empty warehouse ('first'), then day 2 on top ('second')."""
    base = tmp_path_factory.mktemp("kill_reference")
    day1, both = base / "events_day1.csv", base / "events_days12.csv"
    write_events(day1, ROWS_PER_DAY, 1)
    write_events(both, ROWS_PER_DAY, 2)
    project = CrashProject.create(base / "clean", day1)
    result: dict[str, Scenario] = {}
    for name, events, interval in (("first", day1, DAY1), ("second", both, DAY2)):
        shutil.copy(events, project.root / "data" / "events.csv")
        before = None
        if project.warehouse.exists():
            before = base / f"before_{name}.duckdb"
            shutil.copy(project.warehouse, before)
        log = base / f"statements_{name}.log"
        started = time.perf_counter()
        done = project.run(interval, {"STATEMENT_LOG": str(log)})
        seconds = time.perf_counter() - started
        assert done.returncode == 0, done.stdout + done.stderr
        statements = log.read_text().split()
        state = project.state()
        assert all(state["tables"].values()), f"the clean {name} run loaded every table"
        result[name] = Scenario(name, events, before, interval, state, seconds, statements)
    return result


def kill_point(trial: int, scenario: Scenario) -> dict[str, Any]:
    rng = random.Random(SEED * 1_000 + trial)
    kind = ("time", "statement", "commit")[trial % 3]
    when = rng.choice(["before", "after"])
    if kind == "time":
        return {"kind": kind, "at": round(rng.uniform(0.05, 0.95) * scenario.seconds, 3)}
    if kind == "statement":
        return {"kind": kind, "at": rng.randint(1, len(scenario.statements)), "when": when}
    commits = scenario.statements.count("COMMIT")
    return {"kind": kind, "at": rng.randint(1, commits), "when": when, "word": "COMMIT"}


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_run_then_rerun_equals_clean_run(
    trial: int, scenarios: dict[str, Scenario], tmp_path: Path
) -> None:
    scenario = scenarios[random.Random(SEED + trial).choice(["first", "second"])]
    project = CrashProject.create(tmp_path, scenario.events)
    if scenario.warehouse_before is not None:
        shutil.copy(scenario.warehouse_before, project.warehouse)
    point = kill_point(trial, scenario)
    log = tmp_path / "killed.log"
    env = {"STATEMENT_LOG": str(log)}
    if point["kind"] == "time":
        child = kill_after(project, scenario, point, env)
    else:
        env |= {
            "KILL_STATEMENT": str(point["at"]),
            "KILL_WHEN": point["when"],
            "KILL_WORD": point.get("word", ""),
        }
        child = project.popen(scenario.interval, env)
        child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, f"the run was not killed at {point}"
    executed = log.read_text().split() if log.exists() else []
    point["last_statement"] = executed[-1] if executed else None
    point["statements_run"] = len(executed)

    rerun = project.run(scenario.interval)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    state = project.state()
    runs = project.runs()
    report(trial, scenario.name, point, state == scenario.expected)
    assert state["tables"] == scenario.expected["tables"], f"tables differ after {point}"
    assert state["ledger"] == scenario.expected["ledger"], f"ledger differs after {point}"
    assert state["watermarks"] == scenario.expected["watermarks"]
    assert "running" not in {status for _, status in runs}, runs
    assert runs[-1][1] in ("success", "skipped")


@pytest.fixture(scope="module")
def unscheduled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scenario]:
    """Clean runs of the pipeline without a schedule (no data interval), first and second."""
    base = tmp_path_factory.mktemp("kill_unscheduled")
    day1, both = base / "events_day1.csv", base / "events_days12.csv"
    write_events(day1, ROWS_PER_DAY, 1)
    write_events(both, ROWS_PER_DAY, 2)
    project = CrashProject.create(base / "clean", day1, spec=UNSCHEDULED)
    result: dict[str, Scenario] = {}
    for name, events in (("first", day1), ("second", both)):
        shutil.copy(events, project.root / "data" / "events.csv")
        before = None
        if project.warehouse.exists():
            before = base / f"before_{name}.duckdb"
            shutil.copy(project.warehouse, before)
        done = project.run(None)
        assert done.returncode == 0, done.stdout + done.stderr
        state = project.state()
        assert all(state["tables"].values()), f"the clean {name} run loaded every table"
        result[name] = Scenario(name, events, before, None, state, 0.0, [])
    return result


@pytest.mark.parametrize(("scenario_name", "commit"), [("first", 3), ("second", 2)])
def test_unscheduled_kill_between_loads_converges(
    scenario_name: str, commit: int, unscheduled: dict[str, Scenario], tmp_path: Path
) -> None:
    """Killed after some loads committed: the rerun must not append their rows twice."""
    scenario = unscheduled[scenario_name]
    project = CrashProject.create(tmp_path, scenario.events, spec=UNSCHEDULED)
    if scenario.warehouse_before is not None:
        shutil.copy(scenario.warehouse_before, project.warehouse)
    env = {"KILL_STATEMENT": str(commit), "KILL_WHEN": "after", "KILL_WORD": "COMMIT"}
    child = project.popen(None, env)
    child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL
    rerun = project.run(None)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert project.state() == scenario.expected
    assert "running" not in {status for _, status in project.runs()}


def kill_after(
    project: CrashProject, scenario: Scenario, point: dict[str, Any], env: dict[str, str]
) -> subprocess.Popen[str]:
    """SIGKILL the run ``point['at']`` seconds in, after its first warehouse statement."""

    def undo() -> None:
        project.warehouse.unlink()
        if scenario.warehouse_before is not None:
            shutil.copy(scenario.warehouse_before, project.warehouse)

    start = lambda: project.popen(scenario.interval, env)  # noqa: E731
    return kill_inside(start, Path(env["STATEMENT_LOG"]), point, scenario.seconds, undo)


def report(trial: int, scenario: str, point: dict[str, Any], converged: bool) -> None:
    path = os.environ.get("DAGWRIGHT_KILL_REPORT")
    if path:
        line = {"trial": trial, "scenario": scenario, "converged": converged, **point}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
