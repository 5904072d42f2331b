"""Specs become Airflow 3 DAGs: one TaskFlow task per plan stage, plus a run-log task.

``dags/dagwright_dags.py`` calls ``build_dags``. Every task calls
``dagwright.airflow.tasks.run_stage``, which runs the stage with the same
``StageExecutor`` as the local runner; ``finish_run`` closes the run log entry.

A broken spec must not cost the other pipelines their DAGs (a DAG file that raises
loses every DAG it built). Broken specs are therefore collected into one placeholder
DAG whose timetable fails Airflow's documented ``Timetable.validate`` hook: the DagBag
records that as an import error of the DAG file, with every broken spec's file, line
and problem, and bags the good DAGs as usual.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, task
from airflow.sdk.bases.timetable import BaseTimetable
from airflow.sdk.exceptions import AirflowTimetableInvalid

from dagwright.airflow.blueprint import Blueprint, Broken, load_blueprints
from dagwright.airflow.tasks import FINISH_TASK, finish_run, run_stage
from dagwright.intervals import cron_of

BROKEN_DAG_ID = "dagwright_broken_specs"
log = logging.getLogger(__name__)


def table_asset(bp: Blueprint, table: str) -> Asset:
    """The asset of a destination table; other specs schedule on it by its name."""
    return Asset(name=table, uri=f"x-dagwright://{bp.destination}/{table}")


def _schedule(bp: Blueprint) -> Any:
    schedule = bp.schedule
    if isinstance(schedule, list):
        return [Asset.ref(name=name) for name in schedule]
    cron = cron_of(schedule)
    if cron is None:
        return schedule
    return CronDataIntervalTimetable(cron, timezone="UTC")


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def build_dag(bp: Blueprint) -> DAG:
    default_args: dict[str, Any] = {
        "owner": bp.owner,
        "retries": bp.retries,
        "retry_delay": timedelta(seconds=bp.retry_delay),
    }
    if bp.execution_timeout is not None:
        default_args["execution_timeout"] = timedelta(seconds=bp.execution_timeout)
    if bp.pool:
        default_args["pool"] = bp.pool
    with DAG(
        dag_id=bp.pipeline,
        schedule=_schedule(bp),
        start_date=_when(bp.start_date),
        end_date=_when(bp.end_date),
        catchup=bp.catchup,
        tags=bp.tags,
        max_active_runs=bp.max_active_runs,
        description=bp.description,
        doc_md=f"dagwright pipeline from `{bp.spec_path}`",
        default_args=default_args,
        auto_register=False,
    ) as dag:
        tasks = {}
        for stage in bp.stages:
            outlets = [table_asset(bp, stage.table)] if stage.table else []
            tasks[stage.id] = task(task_id=stage.id, outlets=outlets)(run_stage)(
                bp.spec_path, stage.id
            )
        has_downstream: set[str] = set()
        for stage in bp.stages:
            for up in stage.upstream:
                tasks[up] >> tasks[stage.id]
                has_downstream.add(up)
        finish = task(task_id=FINISH_TASK, trigger_rule="all_done", retries=0)(finish_run)(
            bp.spec_path
        )
        for sid, op in tasks.items():
            if sid not in has_downstream:
                op >> finish
    return dag


class BrokenSpecs(BaseTimetable):
    """Never schedules; fails validation with the problems of every broken spec."""

    can_be_scheduled = False
    description = "broken dagwright specs"

    def __init__(self, message: str) -> None:
        self.message = message

    @property
    def summary(self) -> str:
        return "broken"

    def validate(self) -> None:
        raise AirflowTimetableInvalid(self.message)


def broken_message(broken: list[Broken]) -> str:
    lines = [f"{len(broken)} dagwright spec(s) could not become DAGs; the other pipelines loaded."]
    for spec in broken:
        lines.append(f"pipeline {spec.name!r} ({spec.spec_path}):")
        lines += [f"  {problem}" for problem in spec.problems]
    return "\n".join(lines)


def build_dags(dag_file: str | Path) -> dict[str, DAG]:
    """Every spec in the DAG file's folder as a DAG, keyed by dag_id (for ``globals()``)."""
    blueprints, broken, pending = load_blueprints(Path(dag_file).resolve().parent)
    if pending:
        log.warning(
            "%d dagwright specs not validated yet (parse time budget spent); "
            "they load on the next parse: %s",
            len(pending),
            ", ".join(pending[:10]) + (" ..." if len(pending) > 10 else ""),
        )
    dags: dict[str, DAG] = {}
    for bp in blueprints:
        try:
            dags[bp.pipeline] = build_dag(bp)
        except Exception as exc:  # noqa: BLE001 - one bad DAG must not hide the others
            broken.append(Broken(bp.pipeline, bp.spec_path, [f"{type(exc).__name__}: {exc}"]))
    if broken:
        message = broken_message(broken)
        log.error("%s", message)
        dags[BROKEN_DAG_ID] = DAG(
            dag_id=BROKEN_DAG_ID,
            schedule=BrokenSpecs(message),
            start_date=datetime(2026, 1, 1, tzinfo=UTC),
            auto_register=False,
        )
    return dags
