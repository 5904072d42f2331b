"""Which Airflow assets a pipeline is scheduled on, and which of them are partitioned.

Airflow-free: it works on the blueprints of one DAG folder (``build_dags`` has them all).

A table a pipeline loads is the asset ``x-dagwright://<loader>/<table>`` named after the
table. A pipeline scheduled on tables (``schedule: [raw_orders]``) waits for the assets
of the specs that load them, with the same identity as their outlets; a name no spec of
the folder loads stays a reference by name (an asset of anyone's).

Airflow 3.2+ partitioned assets carry a pipeline's data interval downstream: the loads of
an interval run mark their asset events with the partition key ``<start>/<end>`` (ISO
8601), and a pipeline scheduled on those assets runs on ``PartitionedAssetTimetable``,
once per key, loading that interval. Airflow queues only partition-aware DAGs on a
partitioned event (and partition-aware DAGs only on partitioned events), so a table's
asset is partitioned only where a pipeline needs it:

- the table is loaded by an interval-scheduled (cron) pipeline and a pipeline of the
  folder reads it (``extractor: warehouse``) and is scheduled on it; or
- the table is loaded by a partitioned pipeline (Airflow gives its events the run's key).

A pipeline scheduled on a partitioned asset is partitioned; one scheduled on partitioned
and plain assets at once, or on intervals of different schedules, could never run and is
a broken spec naming why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from dagwright.pipelines import table_key

if TYPE_CHECKING:
    from dagwright.airflow.blueprint import Blueprint
    from dagwright.intervals import Interval


def asset_uri(destination: str, table: str) -> str:
    return f"x-dagwright://{destination}/{table}"


def partition_key(interval: Interval) -> str:
    return f"{interval.start.isoformat()}/{interval.end.isoformat()}"


def key_interval(key: str) -> tuple[datetime, datetime | None]:
    """The interval a partition key names: ``start/end``, or a bare start (a key typed in
    Airflow's trigger form), whose end the pipeline's interval schedule gives."""
    from dagwright.errors import DagwrightError
    from dagwright.intervals import as_utc

    start_text, _, end_text = key.partition("/")
    try:
        start = as_utc(datetime.fromisoformat(start_text.strip()))
        end = as_utc(datetime.fromisoformat(end_text.strip())) if end_text else None
    except ValueError:
        raise DagwrightError(
            f"partition key {key!r} is not a data interval: expected "
            "'<start>/<end>' in ISO 8601, e.g. 2026-01-01T00:00:00+00:00/2026-01-02T00:00:00+00:00"
        ) from None
    if end is not None and end <= start:
        raise DagwrightError(f"partition key {key!r}: the interval ends before it starts")
    return start, end


@dataclass(frozen=True)
class Scheduled:
    """What a pipeline scheduled on tables waits for."""

    assets: list[tuple[str, str | None]]
    """``(name, uri)`` of each asset; ``uri`` None for a reference by name."""
    partitioned: bool


@dataclass
class FolderAssets:
    schedules: dict[str, Scheduled] = field(default_factory=dict)
    partitioned_loads: dict[str, set[str]] = field(default_factory=dict)
    """pipeline -> the load tables whose events carry the run's interval as partition key."""
    problems: dict[str, str] = field(default_factory=dict)


def resolve(blueprints: list[Blueprint]) -> FolderAssets:
    producers: dict[tuple[str, str], tuple[Blueprint, str]] = {}
    for bp in blueprints:
        for stage in bp.stages:
            if stage.table:
                producers.setdefault((bp.destination, table_key(stage.table)), (bp, stage.table))
    wanted: set[tuple[str, str]] = set()
    """(producer, load) read through a warehouse source by a pipeline scheduled on it."""
    for bp in blueprints:
        if isinstance(bp.schedule, list):
            reads = {table_key(t) for t in bp.reads}
            for name in bp.schedule:
                found = producers.get((bp.destination, table_key(name)))
                if found and table_key(name) in reads and found[0].pipeline != bp.pipeline:
                    wanted.add((found[0].pipeline, found[1]))

    out = FolderAssets()
    roots: dict[str, str | None] = {}
    """pipeline -> the cron its partition keys come from (None: not partitioned)."""
    visiting: set[str] = set()

    def root_of(bp: Blueprint) -> str | None:
        if bp.pipeline in roots:
            return roots[bp.pipeline]
        if bp.pipeline in visiting:
            roots[bp.pipeline] = None
            out.problems[bp.pipeline] = (
                f"schedule: pipeline {bp.pipeline!r} waits, through other pipelines, "
                "on its own tables"
            )
            return None
        visiting.add(bp.pipeline)
        roots[bp.pipeline] = _resolve_one(bp)
        visiting.discard(bp.pipeline)
        return roots[bp.pipeline]

    def partitioned(producer: Blueprint, load: str) -> str | None:
        """The cron whose intervals key ``load``'s events, if they are keyed."""
        from dagwright.intervals import cron_of

        cron = cron_of(producer.schedule)
        if cron is not None:
            return cron if (producer.pipeline, load) in wanted else None
        if isinstance(producer.schedule, list):
            return root_of(producer)
        return None

    def _resolve_one(bp: Blueprint) -> str | None:
        if not isinstance(bp.schedule, list):
            return None
        assets: list[tuple[str, str | None]] = []
        kinds: dict[str, str | None] = {}
        for name in bp.schedule:
            found = producers.get((bp.destination, table_key(name)))
            if found is None or found[0].pipeline == bp.pipeline:
                assets.append((name, None))
                kinds[name] = None
                continue
            producer, load = found
            assets.append((load, asset_uri(producer.destination, load)))
            kinds[name] = partitioned(producer, load)
        keyed = {n: c for n, c in kinds.items() if c is not None}
        if keyed and len(keyed) < len(kinds):
            plain = [n for n in kinds if kinds[n] is None]
            out.problems[bp.pipeline] = (
                f"schedule: {', '.join(keyed)} {'is' if len(keyed) == 1 else 'are'} partitioned "
                f"by data interval but {', '.join(plain)} {'is' if len(plain) == 1 else 'are'} "
                "not; Airflow never runs a DAG on both kinds of asset events: schedule this "
                "pipeline on one kind"
            )
            return None
        if len(set(keyed.values())) > 1:
            crons = ", ".join(f"{n} ({c})" for n, c in keyed.items())
            out.problems[bp.pipeline] = (
                f"schedule: the tables come from pipelines on different interval schedules "
                f"({crons}): their intervals never match, so this pipeline would never run"
            )
            return None
        out.schedules[bp.pipeline] = Scheduled(assets, partitioned=bool(keyed))
        return next(iter(keyed.values()), None)

    for bp in blueprints:
        root_of(bp)
    for bp in blueprints:
        loads = {
            s.table
            for s in bp.stages
            if s.table and bp.pipeline not in out.problems and partitioned(bp, s.table)
        }
        if loads:
            out.partitioned_loads[bp.pipeline] = loads
    return out
