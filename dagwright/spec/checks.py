"""Cross-reference checks that a single field's validation cannot see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagwright.errors import Problem, did_you_mean
from dagwright.spec.inputs import transform_inputs

if TYPE_CHECKING:
    from datetime import timedelta

    from dagwright.spec.pipeline import PipelineSpec


def cross_check(spec: PipelineSpec) -> list[Problem]:
    model = spec.model
    problems: list[Problem] = []
    sources, transforms = set(model.sources), set(model.transforms)
    for name in sources & transforms:
        problems.append(
            spec.problem(
                ("transforms", name),
                f"duplicate name {name!r}: a source and a transform cannot share a name",
            )
        )
    problems += _schedule(spec)
    problems += _dates(spec)
    problems += _table_options(spec)
    problems += [
        spec.problem(("params", name), f"parameter {name!r} is the data interval's own name")
        for name in model.params
        if name.lower() in ("interval_start", "interval_end")
    ]
    known = sorted(sources | transforms)
    deps = transform_inputs(spec, problems)
    for name, inputs in deps.items():
        for ref, loc in inputs:
            if model.transforms[name].pushdown:
                tables = [t for t in sources if model.sources[t].reads_table()]
                if ref in tables and model.sources[ref].incremental is not None:
                    problems.append(
                        spec.problem(
                            loc,
                            f"pushed-down transform {name!r} reads warehouse source {ref!r} "
                            "in place, whole: its incremental read applies to local steps "
                            "only; remove pushdown, or read the table without incremental",
                        )
                    )
                if ref not in model.loads and ref not in tables:
                    problems.append(
                        spec.problem(
                            loc,
                            f"pushed-down transform {name!r} reads {ref!r}, which is neither "
                            f"a loaded table nor a warehouse source"
                            f"{did_you_mean(ref, [*model.loads, *tables])}; to read a table "
                            f"another pipeline loads, declare it: sources: {{{ref.split('.')[-1]}"
                            f": {{extractor: warehouse, table: {ref}}}}}",
                        )
                    )
            elif ref == name:
                problems.append(spec.problem(loc, f"transform {name!r} reads itself"))
            elif ref not in sources and ref not in transforms:
                problems.append(
                    spec.problem(
                        loc,
                        f"transform {name!r} reads unknown input {ref!r}{did_you_mean(ref, known)}",
                    )
                )
    for table, load in model.loads.items():
        if load.from_ not in sources and load.from_ not in transforms:
            problems.append(
                spec.problem(
                    ("loads", table, "from"),
                    f"load {table!r} reads unknown input {load.from_!r}"
                    f"{did_you_mean(load.from_, known)}",
                )
            )
    cycle = find_cycle(
        {n: [r for r, _ in refs if r in transforms and r != n] for n, refs in deps.items()}
    )
    if cycle:
        problems.append(
            spec.problem(("transforms", cycle[0]), f"transforms form a cycle: {' -> '.join(cycle)}")
        )
    from expectations.suites import spec_problems

    problems += spec_problems(spec)
    problems += _extras(spec)
    if not problems:
        problems += _appends(spec)
    return problems


def _extras(spec: PipelineSpec) -> list[Problem]:
    """A source or destination whose plugin needs an extra that is not installed."""
    from dagwright import plugins

    wanted = [
        (("sources", name, "extractor"), f"source {name!r}", plugins.EXTRACTORS, config)
        for name, config in spec.model.sources.items()
    ]
    destination = spec.model.destination
    wanted.append((("destination", "loader"), "the destination", plugins.LOADERS, destination))
    problems = []
    for loc, what, group, config in wanted:
        tag = getattr(config, "extractor", None) or getattr(config, "loader", None)
        missing = plugins.missing_extra(plugins.plugin(group, tag), config)
        if missing is None:
            continue
        extra, modules = missing
        problems.append(
            spec.problem(
                loc,
                f"{what} needs dagwright[{extra}]: pip install 'dagwright[{extra}]' "
                f"(not installed: {', '.join(modules)})",
            )
        )
    return problems


def _table_options(spec: PipelineSpec) -> list[Problem]:
    """Load options the destination would not honour (indexes on DuckDB, say)."""
    from dagwright import plugins

    kind = spec.model.destination.loader
    try:
        loader = plugins.plugin(plugins.LOADERS, kind)
    except Exception:  # noqa: BLE001 - an unknown loader is reported where it is named
        return []
    options = (
        ("indexes", "table_indexes", "PostgreSQL and MySQL"),
        ("cluster_by", "clustering", "Snowflake"),
    )
    problems = []
    for table, load in spec.model.loads.items():
        for option, honoured, where in options:
            if getattr(load, option) and not getattr(loader, honoured, False):
                problems.append(
                    spec.problem(
                        ("loads", table, option),
                        f"load {table!r}: {option} applies to {where} destinations, and this "
                        f"one is {kind}; hint: remove it",
                    )
                )
    return problems


def _span(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _appends(spec: PipelineSpec) -> list[Problem]:
    """An ``append`` that would add everything its sources return again on every run must
    say so (``snapshot: true``); one that cannot must not."""
    from dagwright.needs import appends_snapshots, sources_of
    from dagwright.plan import build_plan

    plan = build_plan(spec)
    problems = []
    for table, load in spec.model.loads.items():
        if load.write == "append":
            for source in sources_of(plan, table):
                inc = spec.model.sources[source].incremental
                if inc is not None and inc.lookback is not None and not inc.use_interval:
                    problems.append(
                        spec.problem(
                            ("sources", source, "incremental", "lookback"),
                            f"source {source!r} re-reads {_span(inc.lookback)} behind its "
                            "mark, and "
                            f"load {table!r} appends: the rows read again would be added "
                            "twice. hint: use write: merge with primary_key on that load, or "
                            "drop lookback",
                        )
                    )
        why = appends_snapshots(plan, table)
        if why is not None and not load.snapshot:
            problems.append(
                spec.problem(
                    ("loads", table, "write"),
                    f"load {table!r} appends, but {why}: every run would append all of "
                    "its rows again. hint: give the source incremental: {cursor: ...}, use "
                    "write: merge (with primary_key) or write: replace, or set snapshot: true "
                    "if each run should append a new snapshot",
                )
            )
        elif why is None and load.snapshot:
            problems.append(
                spec.problem(
                    ("loads", table, "snapshot"),
                    f"load {table!r}: snapshot: true, but what it appends is already bounded "
                    "(an incremental source, or files taken once); remove snapshot",
                )
            )
    return problems


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``graph`` as ``[a, b, ..., a]``, or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _dates(spec: PipelineSpec) -> list[Problem]:
    """Dates and durations whose fields are fine alone but wrong together, or empty."""
    from datetime import date, datetime, timedelta

    model = spec.model
    problems: list[Problem] = []

    def moment(value: date | datetime) -> datetime:
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        return datetime(value.year, value.month, value.day)

    if model.end_date is not None and moment(model.end_date) <= moment(model.start_date):
        problems.append(
            spec.problem(
                ("end_date",),
                f"end_date {model.end_date} is not after start_date {model.start_date}: "
                "no interval would run; move end_date later or remove it",
            )
        )
    if model.execution_timeout is not None and model.execution_timeout <= timedelta(0):
        problems.append(
            spec.problem(
                ("execution_timeout",), "execution_timeout: must be longer than 0s, e.g. '30m'"
            )
        )
    return problems


def _schedule(spec: PipelineSpec) -> list[Problem]:
    from dagwright.spec.model import SCHEDULE_PRESETS

    schedule = spec.model.schedule
    if schedule is None or isinstance(schedule, list):
        return []
    if schedule.startswith("@"):
        if schedule in SCHEDULE_PRESETS:
            return []
        return [
            spec.problem(
                ("schedule",),
                f"unknown schedule preset {schedule!r}{did_you_mean(schedule, SCHEDULE_PRESETS)}",
            )
        ]
    from croniter import croniter

    if len(schedule.split()) == 5 and not croniter.is_valid(schedule):
        return [
            spec.problem(
                ("schedule",),
                f"invalid cron expression {schedule!r}: {_cron_error(schedule)}; "
                "fields are 'minute hour day-of-month month day-of-week', e.g. '0 6 * * *'",
            )
        ]
    if not croniter.is_valid(schedule) or len(schedule.split()) != 5:
        return [
            spec.problem(
                ("schedule",),
                f"invalid cron expression {schedule!r}: expected 5 fields "
                "'minute hour day-of-month month day-of-week', e.g. '0 6 * * *'",
            )
        ]
    return []


_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)


def _cron_error(schedule: str) -> str:
    """Which of the five fields is wrong, e.g. ``minute 61 is out of range 0-59``."""
    import re

    from croniter import croniter

    for text, (name, low, high) in zip(schedule.split(), _CRON_FIELDS, strict=True):
        for number in re.findall(r"(?<![/\d])\d+", text):
            if not low <= int(number) <= high:
                return f"{name} {number} is out of range {low}-{high}"
        probe = ["*"] * 5
        probe[[f[0] for f in _CRON_FIELDS].index(name)] = text
        if not croniter.is_valid(" ".join(probe)):
            return f"{name} field {text!r} is not understood"
    return "not a valid schedule"
