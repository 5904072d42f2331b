"""The kill sweep: SIGKILL a real ``dagwright run`` of every kind, on DuckDB and PostgreSQL.

Trial ``n`` picks (seeded) a kind of pipeline (``sweep.KINDS``: append from files with no
schedule, append by interval, append past a cursor, merge, replace, delete_insert by
interval, scd2), a destination and a
scenario (an empty warehouse, or one that holds the previous day), runs it in a
subprocess and kills it:

- at a random time within a clean run's duration,
- just before or after a random statement on the warehouse, or
- just before or after one of the loads' and check stages' ``COMMIT``s.

It then reruns the same command and compares everything the run leaves (``Sweep.state``:
tables, ledger, marks, files taken, check results, validations, quarantined rows) with a
clean run's, and checks that no run is left ``running``. The first fourteen trials cover
each kind on each destination once; ``DAGWRIGHT_KILL_POINTS=50`` runs 50 (``make test``:
14).
``DAGWRIGHT_KILL_REPORT=path`` appends one JSON line per trial.
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.support import kill_inside
from tests.reliability.sweep import DESTINATIONS, KINDS, TABLES, Sweep, place_data
from tests.reliability.test_kill import report

TRIALS = int(os.environ.get("DAGWRIGHT_KILL_POINTS", "14"))
SEED = int(os.environ.get("DAGWRIGHT_KILL_SEED", "20261202"))
COMBOS = [(k, d) for d in DESTINATIONS for k in KINDS]

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("kill_sweep")]


@dataclass
class Reference:
    """A clean run of one kind, destination and scenario: what it leaves, and its shape."""

    state: dict[str, Any]
    seconds: float
    statements: list[str]
    before: Path | None
    template: str | None


_REFERENCES: dict[tuple[str, str, str], Reference] = {}


def reference(kind: str, destination: str, scenario: str, base: Path, server: Any) -> Reference:
    key = (kind, destination, scenario)
    if key in _REFERENCES:
        return _REFERENCES[key]
    root = base / f"ref_{kind}_{destination}_{scenario}"
    sweep = Sweep.create(root, kind, destination, server)
    before: Path | None = None
    template = None
    if scenario == "second":
        place_data(root, kind, "first")
        done = sweep.run("first")
        assert done.returncode == 0, done.stdout + done.stderr
        before = base / f"before_{kind}_{destination}.duckdb"
        template = sweep.snapshot(before)
    place_data(root, kind, scenario)
    log = root / "statements.log"
    started = time.perf_counter()
    done = sweep.run(scenario, {"STATEMENT_LOG": str(log)})
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    state = sweep.state()
    # the clean run loaded something into every table, and quarantined some rows
    assert all(state["tables"][t] for t in TABLES[kind]), state["tables"]
    assert state["quarantine"].get("events__quarantine"), "no rows were quarantined"
    assert state["check_results"], "no check results were stored"
    _REFERENCES[key] = Reference(state, seconds, log.read_text().split(), before, template)
    return _REFERENCES[key]


def kill_point(trial: int, ref: Reference) -> dict[str, Any]:
    rng = random.Random(SEED * 1_000 + trial)
    kind = ("commit", "statement", "time")[trial % 3]
    when = rng.choice(["before", "after"])
    if kind == "time":
        return {"kind": kind, "at": round(rng.uniform(0.05, 0.95) * ref.seconds, 3)}
    if kind == "statement":
        return {"kind": kind, "at": rng.randint(1, len(ref.statements)), "when": when}
    commits = ref.statements.count("COMMIT")
    return {"kind": kind, "at": rng.randint(1, commits), "when": when, "word": "COMMIT"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweep")


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_run_of_any_kind_then_rerun_equals_clean_run(
    trial: int, base: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    rng = random.Random(SEED + trial)
    kind, destination = COMBOS[trial] if trial < len(COMBOS) else rng.choice(COMBOS)
    scenario = rng.choice(["first", "second"])
    server = request.getfixturevalue("postgres") if destination == "postgres" else None
    ref = reference(kind, destination, scenario, base, server)
    sweep = Sweep.create(tmp_path, kind, destination, server, template=ref.template)
    try:
        sweep.restore(ref.before)
        place_data(tmp_path, kind, scenario)
        point = kill_point(trial, ref)
        killed = kill(sweep, scenario, point, ref)
        assert killed.returncode == -signal.SIGKILL, f"not killed at {point}: {killed.stderr}"
        rerun = sweep.run(scenario)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        state = sweep.state()
        report(trial, f"{kind}/{destination}/{scenario}", point, state == ref.state)
        for part in ref.state:
            assert state[part] == ref.state[part], f"{part} differ after {point} ({kind})"
        statuses = sweep.statuses()
        assert "running" not in statuses, statuses
        assert statuses[-1] in ("success", "skipped"), statuses
    finally:
        sweep.drop()


def kill(sweep: Sweep, scenario: str, point: dict[str, Any], ref: Reference) -> Any:
    log = sweep.root / "killed.log"
    if point["kind"] != "time":
        env = {
            "STATEMENT_LOG": str(log),
            "KILL_STATEMENT": str(point["at"]),
            "KILL_WHEN": point["when"],
            "KILL_WORD": point.get("word", ""),
        }
        child = sweep.popen(scenario, env)
        child.communicate(timeout=180)
        return child
    return kill_inside(
        lambda: sweep.popen(scenario, {"STATEMENT_LOG": str(log)}),
        log,
        point,
        ref.seconds,
        lambda: sweep.restore(ref.before, ref.template, fresh=True),
    )
