"""Specs become Airflow 3 DAGs: one PythonOperator per plan stage, plus a run-log task.

Plain operators rather than TaskFlow: stages exchange nothing through XComArgs (a stage
pulls its inputs' results itself), and TaskFlow's decoration and signature binding cost
about twice a PythonOperator per task when Airflow parses hundreds of specs.

``dags/dagwright_dags.py`` calls ``build_dags``. Every task calls
``dagwright.airflow.tasks.run_stage``, which runs the stage with the same
``StageExecutor`` as the local runner; ``finish_run`` closes the run log entry.

A broken spec must not cost the other pipelines their DAGs. A DAG file that raises loses
every DAG it built, and on Airflow 3.3 any import error recorded against a file (even one
raised while bagging a single DAG) marks every DAG of that file stale with import errors,
so the scheduler stops running them. Each broken spec therefore becomes a small stub DAG
under its own pipeline name: paused and never scheduled, tagged ``dagwright-broken-spec``
(and with the spec's owner and tags where the file could be read), its description naming
the first problem and its docs (the DAG's page) listing every problem with its file, line
and column, and its one task failing with that text if someone triggers it. The problems
are also logged by the DAG processor. Airflow's import errors stay empty.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetAll, CronDataIntervalTimetable, PartitionedAssetTimetable
from airflow.sdk.exceptions import AirflowFailException

from dagwright.airflow.assets import FolderAssets, Scheduled, asset_uri, resolve
from dagwright.airflow.blueprint import Blueprint, Broken, StageBlueprint, load_blueprints
from dagwright.airflow.operator import StageOperator
from dagwright.airflow.tasks import FINISH_TASK, finish_run, run_stage
from dagwright.intervals import cron_of

log = logging.getLogger(__name__)


def table_asset(bp: Blueprint, table: str) -> Asset:
    """The asset of a destination table; other specs schedule on it by its name."""
    return Asset(name=table, uri=asset_uri(bp.destination, table))


def _schedule(bp: Blueprint, scheduled: Scheduled | None) -> Any:
    """A cron as Airflow's data intervals; tables as their assets (``assets.resolve``),
    partitioned by interval where their loads mark the interval."""
    schedule = bp.schedule
    if isinstance(schedule, list):
        if scheduled is None:
            return [Asset.ref(name=name) for name in schedule]
        assets = [
            Asset(name=name, uri=uri) if uri else Asset.ref(name=name)
            for name, uri in scheduled.assets
        ]
        if not scheduled.partitioned:
            return assets
        condition = assets[0] if len(assets) == 1 else AssetAll(*assets)
        return PartitionedAssetTimetable(assets=condition)
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


_PARAM_TYPES = {
    "string": ("string", None),
    "integer": ("integer", None),
    "number": ("number", None),
    "boolean": ("boolean", None),
    "date": ("string", "date"),
    "timestamp": ("string", "date-time"),
}


def _params(bp: Blueprint) -> dict[str, Any]:
    """The spec's ``params:`` as Airflow DAG params (typed in the trigger form)."""
    from airflow.sdk import Param

    params = {}
    for name, declared in bp.params.items():
        kind, fmt = _PARAM_TYPES[declared["type"]]
        schema: dict[str, Any] = {"type": [kind, "null"] if declared["default"] is None else kind}
        if fmt:
            schema["format"] = fmt
        params[name] = Param(declared["default"], description=declared["description"], **schema)
    return params


def _stage_task(bp: Blueprint, stage: StageBlueprint, partitioned: bool) -> StageOperator:
    """The one place a stage's operator is made."""
    return StageOperator(
        task_id=stage.id,
        python_callable=run_stage,
        op_args=[bp.spec_path, stage.id],
        op_kwargs={"partitioned": True} if partitioned else None,
        outlets=[table_asset(bp, stage.table)] if stage.table else [],
    )


def build_dag(bp: Blueprint, assets: FolderAssets | None = None) -> DAG:
    """``assets``: what the folder's pipelines say of each other's tables (default: this
    pipeline alone, its tables' assets plain and its schedule's assets referred to by name)."""
    assets = resolve([bp]) if assets is None else assets
    if bp.pipeline in assets.problems:
        raise ValueError(assets.problems[bp.pipeline])
    keyed = assets.partitioned_loads.get(bp.pipeline, set())
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
        schedule=_schedule(bp, assets.schedules.get(bp.pipeline)),
        start_date=_when(bp.start_date),
        end_date=_when(bp.end_date),
        catchup=bp.catchup,
        tags=bp.tags,
        max_active_runs=bp.max_active_runs,
        description=bp.description,
        doc_md=f"dagwright pipeline from `{bp.spec_path}`",
        default_args=default_args,
        params=_params(bp),
        auto_register=False,
    ) as dag:
        tasks = {}
        for stage in bp.stages:
            tasks[stage.id] = _stage_task(bp, stage, stage.table in keyed)
        has_downstream: set[str] = set()
        for stage in bp.stages:
            for up in stage.upstream:
                tasks[up] >> tasks[stage.id]
                has_downstream.add(up)
        finish = PythonOperator(
            task_id=FINISH_TASK,
            python_callable=finish_run,
            op_args=[bp.spec_path],
            trigger_rule="all_done",
            retries=0,
        )
        for sid, op in tasks.items():
            if sid not in has_downstream:
                op >> finish
    return dag


BROKEN_TAG = "dagwright-broken-spec"


def broken_message(spec: Broken) -> str:
    lines = [f"pipeline {spec.name!r} ({spec.spec_path}) could not become a DAG:"]
    return "\n".join(lines + [f"  {problem}" for problem in spec.problems])


def broken_doc(spec: Broken) -> str:
    """The DAG's page: every problem, located, and what to do."""
    count = len(spec.problems)
    lines = [
        f"## Broken spec: {count} problem{'s' if count != 1 else ''}",
        "",
        f"dagwright could not turn `{spec.spec_path}` into the DAG of pipeline "
        f"`{spec.name}`. It stays paused and never runs until the spec is fixed; the other "
        "pipelines of this folder load and run as usual.",
        "",
        *[f"- `{problem}`" for problem in spec.problems],
        "",
        "Run `dagwright validate` in the project to see the same list; this DAG is replaced "
        "by the pipeline's own on the next parse after the fix.",
    ]
    return "\n".join(lines)


def spec_error(message: str) -> None:
    raise AirflowFailException(message)


def broken_dag(spec: Broken, dag_id: str) -> DAG:
    message = broken_message(spec)
    count = len(spec.problems)
    first = f"BROKEN SPEC: {spec.problems[0]}"
    more = f" (and {count - 1} more, see the DAG's docs)" if count > 1 else ""
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        tags=sorted({BROKEN_TAG, *spec.tags}),
        description=(first[: 500 - len(more)] + more),
        doc_md=broken_doc(spec),
        default_args={"owner": spec.owner} if spec.owner else {},
        is_paused_upon_creation=True,
        auto_register=False,
    ) as dag:
        PythonOperator(
            task_id="spec_error", python_callable=spec_error, op_args=[message], retries=0
        )
    return dag


def _schedule_problem(bp: Blueprint, message: str) -> Broken:
    """A schedule the folder's other pipelines make impossible, located at its line."""
    path = Path(bp.spec_path)
    rel = path.relative_to(bp.project_root) if path.is_relative_to(bp.project_root) else path
    line = 1
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        line = next((n for n, text in enumerate(lines, 1) if text.startswith("schedule:")), 1)
    except OSError:
        pass
    return Broken(bp.pipeline, str(rel), [f"{rel}:{line}:1: {message}"], bp.owner, bp.tags)


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
    assets = resolve(blueprints)
    for bp in blueprints:
        if bp.pipeline in assets.problems:
            broken.append(_schedule_problem(bp, assets.problems[bp.pipeline]))
            continue
        try:
            dags[bp.pipeline] = build_dag(bp, assets)
        except Exception as exc:  # noqa: BLE001 - one bad DAG must not hide the others
            broken.append(Broken(bp.pipeline, bp.spec_path, [f"{type(exc).__name__}: {exc}"]))
    for spec in broken:
        log.error("%s", broken_message(spec))
        dag_id = spec.name if spec.name not in dags else f"{spec.name}__broken_spec"
        try:
            dags[dag_id] = broken_dag(spec, dag_id)
        except Exception:  # noqa: BLE001 - an unusable name: the log above still reports it
            log.exception("cannot show broken spec %s as a DAG", spec.spec_path)
    return dags
