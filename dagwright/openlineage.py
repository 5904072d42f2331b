"""OpenLineage events for pipeline runs: START, COMPLETE and FAIL, with datasets and lineage.

Emitted through the standard ``openlineage-python`` client, configured the standard way
(``openlineage.yml`` in the working directory or ``~/.openlineage``, ``OPENLINEAGE_CONFIG``,
``OPENLINEAGE_URL``, ``OPENLINEAGE__TRANSPORT__*``). With none of these nothing is emitted
and the client is never imported (``configured``).

A local run is one run of the job ``<pipeline>`` and one child run (``parent`` facet) of
the job ``<pipeline>.<stage id>`` per stage it runs: the job names the Airflow provider
gives a DAG run and its tasks, so lineage from either runner lands on the same jobs.
Datasets follow the OpenLineage naming conventions (``dataset_of``); a loaded table
carries its schema, its column lineage (``dagwright.lineage``), the rows loaded and a
symlink to its Airflow asset URI.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from dagwright import __version__

if TYPE_CHECKING:
    from types import TracebackType

    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, OutputDataset, RunEvent

    from dagwright.intervals import Interval
    from dagwright.plan import Plan, Stage
    from dagwright.results import Listener, StageResult

log = logging.getLogger(__name__)

PRODUCER = f"https://github.com/dagwright/dagwright/tree/v{__version__}"
DEFAULT_NAMESPACE = "dagwright"
INTEGRATION = "DAGWRIGHT"
Schema = list[tuple[str, str]]


class RunOutcome(Protocol):
    """What the events need of a run's outcome (``dagwright.runner.RunOutcome``)."""

    results: dict[str, StageResult]

    @property
    def ok(self) -> bool: ...

    @property
    def error(self) -> str | None: ...


"""A relation's columns as (name, type) pairs."""


def configured() -> bool:
    """Whether the OpenLineage client would find a transport (checked without importing it)."""
    env = os.environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OPENLINEAGE_URL") or any(
        k.startswith("OPENLINEAGE__TRANSPORT") and v for k, v in env.items()
    ):
        return True
    candidates = [env.get("OPENLINEAGE_CONFIG"), "openlineage.yml"]
    candidates.append(str(Path("~/.openlineage/openlineage.yml").expanduser()))
    return any(path and os.path.isfile(path) for path in candidates)


def job_namespace() -> str:
    """``OPENLINEAGE_NAMESPACE`` (what the Airflow provider also reads), else ``dagwright``."""
    return os.environ.get("OPENLINEAGE_NAMESPACE") or DEFAULT_NAMESPACE


# Dataset names (https://openlineage.io/docs/spec/naming).


@dataclass(frozen=True)
class DatasetName:
    namespace: str
    name: str


def _location(path: str, root: Path) -> DatasetName:
    """A file or folder: ``file`` + absolute path, or ``scheme://bucket`` + key for URLs."""
    if "://" in path:
        parts = urlsplit(path)
        return DatasetName(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/"))
    full = Path(path) if Path(path).is_absolute() else root / path
    return DatasetName("file", str(full.resolve()))


_SCHEMES = {"postgresql": "postgres", "mariadb": "mysql", "mssql": "sqlserver"}


def _connection_namespace(name: str) -> tuple[str, str | None]:
    """``scheme://host:port`` of a named connection, and its database (no credentials)."""
    from dagwright.connections import resolve
    from dagwright.errors import ConfigError

    try:
        conn = resolve(name)
    except ConfigError:
        return f"x-dagwright-connection://{name}", None
    scheme = conn.scheme.split("+", 1)[0]
    scheme = _SCHEMES.get(scheme, scheme)
    host = conn.host or "localhost"
    return f"{scheme}://{host}:{conn.port}" if conn.port else f"{scheme}://{host}", conn.database


def table_dataset(plan: Plan, table: str) -> DatasetName:
    """A destination table: DuckDB ``duckdb://<file>`` + ``schema.table``, PostgreSQL
    ``postgres://host:port`` + ``database.schema.table``, Parquet the table's folder."""
    config = plan.spec.model.destination
    root = plan.spec.project_root
    loader = config.loader
    schema = getattr(config, "schema_", None)
    if loader == "duckdb":
        path = Path(config.path)
        full = (path if path.is_absolute() else root / path).resolve()
        qualified = table if "." in table else f"{schema or 'main'}.{table}"
        return DatasetName(f"duckdb://{full}", qualified)
    if loader == "postgres":
        namespace, database = _connection_namespace(config.connection)
        qualified = table if "." in table else f"{schema or 'public'}.{table}"
        return DatasetName(namespace, f"{database}.{qualified}" if database else qualified)
    if loader == "parquet":
        lake = _location(config.path, root)
        return DatasetName(lake.namespace, f"{lake.name.rstrip('/')}/{table}".lstrip("/"))
    return DatasetName(f"x-dagwright://{loader}", table)


def source_dataset(plan: Plan, source: str) -> DatasetName:
    """A source: the destination table it reads, the HTTP endpoint, the database table
    (or ``query:<source>``), the file path; else ``x-dagwright://<extractor>`` + its name."""
    config = plan.spec.model.sources[source]
    root = plan.spec.project_root
    read = config.reads_table()
    if read is not None:
        return table_dataset(plan, read)
    url = getattr(config, "url", None)
    connection = getattr(config, "connection", None)
    if isinstance(url, str):
        if "://" not in url and connection:
            namespace, _ = _connection_namespace(connection)
            return DatasetName(namespace, "/" + url.lstrip("/"))
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return DatasetName(f"{parts.scheme}://{netloc}", parts.path or "/")
    table = getattr(config, "table", None)
    path = getattr(config, "path", None)
    if connection:
        namespace, database = _connection_namespace(connection)
        name = table or f"query:{source}"
        return DatasetName(namespace, f"{database}.{name}" if database and table else name)
    if isinstance(path, str):
        if config.extractor == "sqlite":
            return DatasetName(f"sqlite://{_location(path, root).name}", table or f"query:{source}")
        return _location(path, root)
    return DatasetName(f"x-dagwright://{config.extractor}", source)


def asset_uri(plan: Plan, table: str) -> str:
    """The Airflow asset URI of a loaded table (``dagwright.airflow.factory.table_asset``)."""
    return f"x-dagwright://{plan.spec.model.destination.loader}/{table}"


# Facets.


def schema_of(uri: str) -> Schema | None:
    """The columns of a staged output; None when it cannot be read."""
    from dagwright.staging import arrow_schema

    try:
        schema = arrow_schema(uri)
    except Exception:  # noqa: BLE001 - lineage never fails a run
        log.debug("no schema for %s", uri, exc_info=True)
        return None
    return [(f.name, str(f.type)) for f in schema if not f.name.startswith("_dagwright_")]


_COLUMN = re.compile(r'^SQL: ("?[\w$]+"?\.)?"?[\w$]+"?$')
_AGGREGATE = re.compile(r"^SQL: (SUM|COUNT|AVG|MIN|MAX|ANY_VALUE|ARRAY_AGG|STRING_AGG)\(", re.I)


def _subtype(details: list[str]) -> str:
    """IDENTITY when every step only passes the column on, AGGREGATION when one
    aggregates it, TRANSFORMATION otherwise."""
    if any(_AGGREGATE.match(d) for d in details):
        return "AGGREGATION"
    if all(_COLUMN.match(d) or d == "ops" for d in details):
        return "IDENTITY"
    return "TRANSFORMATION"


def column_lineage(
    plan: Plan, table: str, columns: list[str] | None = None
) -> dict[str, list[tuple[DatasetName, str, str, str]]]:
    """Each column of ``table`` -> its input fields: (dataset, field, subtype, description).

    The columns the spec names (``dagwright.lineage.output_columns``), else ``columns``
    (those loaded); columns behind an opaque step (Polars) have none and are left out.
    """
    from dagwright.lineage import LineageNode, Tracer, output_columns

    spec = plan.spec
    model = spec.model
    names = output_columns(spec, model.loads[table].from_) or columns or []
    tracer = Tracer(spec)
    found: dict[str, list[tuple[DatasetName, str, str, str]]] = {}

    def walk(node: LineageNode, details: list[str], out: list) -> None:
        if node.kind in ("source", "table") and not node.children:
            relation = next(
                (r for r in (*model.sources, *model.loads) if node.name.startswith(f"{r}.")),
                node.name.rpartition(".")[0],
            )
            column = node.name[len(relation) + 1 :]
            if node.kind == "source" and relation in model.sources:
                dataset = source_dataset(plan, relation)
            else:
                dataset = table_dataset(plan, relation)
            sql = [d.removeprefix("SQL: ") for d in details if d.startswith("SQL: ")]
            out.append((dataset, column, _subtype(details), " <- ".join(sql)))
            return
        here = details + ([node.detail] if node.kind == "transform" else [])
        for child in node.children:
            walk(child, here, out)

    for column in names:
        try:
            node = tracer.load(table, column)
        except Exception:  # noqa: BLE001 - lineage never fails a run
            log.debug("no lineage for %s.%s", table, column, exc_info=True)
            continue
        inputs: list[tuple[DatasetName, str, str, str]] = []
        walk(node, [], inputs)
        if inputs:
            found[column] = inputs
    return found


def _dataset_facets(plan: Plan, schema: Schema | None) -> dict[str, Any]:
    from openlineage.client.facet_v2 import schema_dataset

    if schema is None:
        return {}
    fields = [schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in schema]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}


def input_dataset(plan: Plan, name: DatasetName, schema: Schema | None = None) -> InputDataset:
    from openlineage.client.event_v2 import InputDataset

    return InputDataset(name.namespace, name.name, facets=_dataset_facets(plan, schema))


def table_output(
    plan: Plan, table: str, schema: Schema | None = None, rows: int | None = None
) -> OutputDataset:
    """A loaded table with its schema, column lineage, Airflow asset symlink and rows loaded."""
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import (
        column_lineage_dataset as cl,
    )
    from openlineage.client.facet_v2 import (
        output_statistics_output_dataset,
        symlinks_dataset,
    )

    name = table_dataset(plan, table)
    facets = _dataset_facets(plan, schema)
    lineage = column_lineage(plan, table, [n for n, _ in schema or []])
    if lineage:
        facets["columnLineage"] = cl.ColumnLineageDatasetFacet(
            fields={
                column: cl.Fields(
                    inputFields=[
                        cl.InputField(
                            namespace=ds.namespace,
                            name=ds.name,
                            field=source_field,
                            transformations=[
                                cl.Transformation(
                                    type="DIRECT", subtype=subtype, description=sql or None
                                )
                            ],
                        )
                        for ds, source_field, subtype, sql in inputs
                    ]
                )
                for column, inputs in lineage.items()
            }
        )
    uri = urlsplit(asset_uri(plan, table))
    facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[
            symlinks_dataset.Identifier(
                namespace=f"{uri.scheme}://{uri.netloc}", name=uri.path.lstrip("/"), type="TABLE"
            )
        ]
    )
    output_facets: dict[str, Any] = {}
    if rows is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
        )
    return OutputDataset(name.namespace, name.name, facets=facets, outputFacets=output_facets)


def _boundary(plan: Plan, stage_id: str) -> list[DatasetName]:
    """The datasets a stage's data comes from: the sources and the tables upstream of it."""
    found: list[DatasetName] = []
    for up in sorted(plan.upstream(stage_id)):
        other = plan.stages[up]
        if other.kind == "extract":
            found.append(source_dataset(plan, other.name))
        elif other.kind == "load":
            found.append(table_dataset(plan, other.name))
    return list(dict.fromkeys(found))


def stage_datasets(
    plan: Plan,
    stage: Stage,
    schemas: dict[str, Schema] | None = None,
    result: StageResult | None = None,
) -> tuple[list[InputDataset], list[OutputDataset]]:
    """What a stage reads and writes, as OpenLineage datasets.

    An extract reads its source; a load reads the sources (and tables) upstream of it and
    writes its table; a step or check reads those upstream of it, a load's checks the table.
    ``schemas``: the columns of the stages' outputs, by stage id, where known.
    """
    schemas = schemas or {}
    if stage.kind == "extract":
        name = source_dataset(plan, stage.name)
        return [input_dataset(plan, name, schemas.get(stage.id))], []
    if stage.kind == "check" and stage.checks_of == "load":
        return [input_dataset(plan, table_dataset(plan, stage.name))], []
    inputs = [input_dataset(plan, name) for name in _boundary(plan, stage.id)]
    if stage.kind != "load":
        return inputs, []
    provider = stage.data_inputs[0][1]
    rows = result.rows_out if result is not None and not result.skipped else None
    return inputs, [table_output(plan, stage.name, schemas.get(provider), rows)]


def pipeline_datasets(
    plan: Plan, schemas: dict[str, Schema] | None = None, rows: dict[str, int] | None = None
) -> tuple[list[InputDataset], list[OutputDataset]]:
    """Everything a run reads (its sources) and writes (its tables)."""
    schemas = schemas or {}
    rows = rows or {}
    inputs = []
    outputs = []
    for stage in plan.ordered():
        if stage.kind == "extract":
            name = source_dataset(plan, stage.name)
            inputs.append(input_dataset(plan, name, schemas.get(stage.id)))
        elif stage.kind == "load":
            provider = stage.data_inputs[0][1]
            outputs.append(
                table_output(plan, stage.name, schemas.get(provider), rows.get(stage.name))
            )
    return inputs, outputs


# The local runner's events.


@dataclass
class RunLineage:
    """The events of one local run. ``listen`` wraps the runner's stage listener; used as
    a context manager it emits the run's START on entry and COMPLETE or FAIL on exit
    (FAIL when ``outcome`` is not ok, or an exception leaves the block)."""

    plan: Plan
    run_id: str
    interval: Interval | None = None
    outcome: RunOutcome | None = None
    client: OpenLineageClient | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    schemas: dict[str, Schema] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    _stage_runs: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: bool = False

    def __post_init__(self) -> None:
        from openlineage.client.uuid import generate_static_uuid

        self.uuid = str(
            generate_static_uuid(self.started, f"{self.plan.pipeline}:{self.run_id}".encode())
        )
        if self.client is None:
            from openlineage.client import OpenLineageClient

            self.client = OpenLineageClient()

    def __enter__(self) -> RunLineage:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.finish(f"{type(exc).__name__}: {exc}", exc)
        elif self.outcome is not None and not self.outcome.ok:
            self.finish(self.outcome.error or "the run failed")
        else:
            self.finish()

    def listen(self, listener: Listener | None = None) -> Listener:
        def notify(stage: Stage, status: str, result: StageResult | None) -> None:
            self.stage(stage, status, result)
            if listener is not None:
                listener(stage, status, result)

        return notify

    def start(self) -> None:
        inputs, outputs = pipeline_datasets(self.plan)
        self._emit(self._event("START", self.uuid, self.plan.pipeline, inputs, outputs))

    def finish(self, error: str | None = None, exc: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        if self.outcome is not None:
            for sid, result in self.outcome.results.items():
                stage = self.plan.stages.get(sid)
                if stage is not None and stage.kind == "load" and result.rows_out is not None:
                    self.rows.setdefault(stage.name, result.rows_out)
        inputs, outputs = pipeline_datasets(self.plan, self.schemas, self.rows)
        kind = "FAIL" if error else "COMPLETE"
        facets = _error_facets(error, exc) if error else {}
        self._emit(self._event(kind, self.uuid, self.plan.pipeline, inputs, outputs, facets))
        try:
            assert self.client is not None
            self.client.close()
        except Exception:  # noqa: BLE001
            log.debug("closing the OpenLineage client failed", exc_info=True)

    def stage(self, stage: Stage, status: str, result: StageResult | None) -> None:
        """The runner's listener: a child run per stage, START when it starts running."""
        from openlineage.client.uuid import generate_new_uuid

        try:
            if status == "running":
                with self._lock:
                    run = self._stage_runs[stage.id] = str(generate_new_uuid())
                self._stage_event("START", stage, run, None)
                return
            with self._lock:
                run = self._stage_runs.pop(stage.id, None)
            if run is None:
                return
            if result is not None and result.staged is not None:
                schema = schema_of(result.staged.uri)
                if schema is not None:
                    with self._lock:
                        self.schemas[stage.id] = schema
            if stage.kind == "load" and result is not None and not result.skipped:
                self.rows[stage.name] = result.rows_out or 0
            if status == "failed":
                error = self._stage_error(stage)
                facets = _error_facets(error, sys.exception())
                self._stage_event("FAIL", stage, run, result, facets)
            else:
                self._stage_event("COMPLETE", stage, run, result)
        except Exception:  # noqa: BLE001 - lineage never fails a run
            log.warning("OpenLineage: no event for stage %s", stage.id, exc_info=True)

    @staticmethod
    def _stage_error(stage: Stage) -> str:
        """The stage's error: the runner reports a failure from inside its ``except``."""
        from dagwright.errors import DagwrightError

        exc = sys.exception()
        if exc is None:
            return f"stage {stage.id} failed"
        return str(exc) if isinstance(exc, DagwrightError) else f"{type(exc).__name__}: {exc}"

    def _stage_event(
        self,
        kind: str,
        stage: Stage,
        run: str,
        result: StageResult | None,
        facets: dict[str, Any] | None = None,
    ) -> None:
        from openlineage.client.facet_v2 import parent_run

        with self._lock:
            schemas = dict(self.schemas)
        inputs, outputs = stage_datasets(self.plan, stage, schemas, result)
        namespace = job_namespace()
        parent = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.uuid),
            job=parent_run.Job(namespace=namespace, name=self.plan.pipeline),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=self.uuid),
                job=parent_run.RootJob(namespace=namespace, name=self.plan.pipeline),
            ),
        )
        name = f"{self.plan.pipeline}.{stage.id}"
        facets = {"parent": parent, **(facets or {})}
        self._emit(self._event(kind, run, name, inputs, outputs, facets, job_type="TASK"))

    def _event(
        self,
        kind: str,
        run_id: str,
        job: str,
        inputs: list[InputDataset],
        outputs: list[OutputDataset],
        run_facets: dict[str, Any] | None = None,
        job_type: str = "PIPELINE",
    ) -> RunEvent:
        from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import job_type_job, nominal_time_run, tags_run

        facets: dict[str, Any] = {
            "processing_engine": _engine_facet(),
            "tags": tags_run.TagsRunFacet(
                tags=[tags_run.TagsRunFacetFields("run_id", self.run_id, INTEGRATION)]
            ),
            **(run_facets or {}),
        }
        if self.interval is not None:
            facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
                nominalStartTime=self.interval.start.isoformat(),
                nominalEndTime=self.interval.end.isoformat(),
            )
        job_facets = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration=INTEGRATION, jobType=job_type
            )
        }
        return RunEvent(
            eventType=RunState[kind],
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=run_id, facets=facets),
            job=Job(namespace=job_namespace(), name=job, facets=job_facets),
            inputs=inputs,
            outputs=outputs,
            producer=PRODUCER,
        )

    def _emit(self, event: RunEvent) -> None:
        try:
            assert self.client is not None
            with self._lock:
                self.client.emit(event)
        except Exception:  # noqa: BLE001 - lineage never fails a run
            log.warning("OpenLineage: could not emit %s event", event.eventType, exc_info=True)


def _engine_facet() -> Any:
    from openlineage.client.constants import __version__ as client_version
    from openlineage.client.facet_v2 import processing_engine_run

    return processing_engine_run.ProcessingEngineRunFacet(
        version=__version__, name="dagwright", openlineageAdapterVersion=client_version
    )


def _error_facets(message: str, exc: BaseException | None = None) -> dict[str, Any]:
    import traceback

    from openlineage.client.facet_v2 import error_message_run

    from dagwright.secrets import mask

    trace = "".join(traceback.format_exception(exc)) if exc is not None else None
    return {
        "errorMessage": error_message_run.ErrorMessageRunFacet(
            message=mask(message),
            programmingLanguage="python",
            stackTrace=mask(trace) if trace else None,
        )
    }


class _NoLineage:
    """What ``run_lineage`` gives when OpenLineage is not configured: does nothing."""

    outcome: RunOutcome | None = None

    def __enter__(self) -> _NoLineage:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def listen(self, listener: Listener | None = None) -> Listener | None:
        return listener


def run_lineage(
    plan: Plan, run_id: str, interval: Interval | None = None, outcome: RunOutcome | None = None
) -> RunLineage | _NoLineage:
    """The OpenLineage events of a local run, or a no-op when OpenLineage is not configured."""
    if not configured():
        return _NoLineage()
    try:
        return RunLineage(plan, run_id, interval, outcome)
    except Exception:  # noqa: BLE001 - a broken lineage setup never stops a run
        log.warning("OpenLineage is configured but its client cannot start", exc_info=True)
        return _NoLineage()
