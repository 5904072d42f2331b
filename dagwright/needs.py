"""What each table still needs, and the passes that serve it.

A run asks every table of the plan what it still needs from each of its sources. How a
source is read decides it:

- ``interval`` (``incremental: {use_interval: true}``): the run's data interval, always;
  a rerun of an interval replaces what the table took for it.
- ``cursor`` (``incremental`` without ``use_interval``): the rows past the table's own
  mark; nothing when the table already holds the run's interval (its rows were read
  past the mark then, so reading again would find none of them).
- ``files``: a table whose one source is a file source without ``incremental``, and
  that keeps what earlier loads added (append, merge, delete_insert on a merge key, scd2),
  takes each file once: it reads the files it has not loaded, and a file whose content
  changed replaces what its earlier version loaded. A replace reads every file (its
  record lists the files it holds).
- ``snapshot``: everything the source returns, every run.

Tables that need the same portion of every source they share are served by one pass (one
read of each source); a table needing another portion of a shared source (it missed an
earlier run's commit, or it is new) gets a pass of its own. Nothing is compensated after
the fact: each load commits what it took with its data, and commits it only if the table
still needs it (``StateUpdate``).
"""

from __future__ import annotations

import re
from functools import cmp_to_key
from typing import TYPE_CHECKING, Any, Literal

from dagwright import plugins
from dagwright.plan import stage_id
from dagwright.work import Need, Pass, Read, Satisfied

if TYPE_CHECKING:
    from dagwright.intervals import Interval
    from dagwright.plan import Plan
    from dagwright.spec.pipeline import PipelineSpec
    from dagwright.spec.sections import Load
    from dagwright.state import FileIdentity, TableState

Discipline = Literal["interval", "cursor", "files", "snapshot"]
_READS_INTERVAL = re.compile(r"interval_(start|end)\b", re.IGNORECASE)


def accumulates(load: Load) -> bool:
    """Whether the table keeps what earlier loads added (a replace keeps only the last)."""
    if load.write in ("append", "merge"):
        return True
    if load.write == "scd2":
        return not load.retire_absent
    return load.write == "delete_insert" and bool(load.merge_key)


def discipline(spec: PipelineSpec, source: str) -> Discipline:
    config = spec.model.sources[source]
    if config.incremental is not None:
        return "interval" if config.incremental.use_interval else "cursor"
    cls = plugins.plugin(plugins.EXTRACTORS, config.extractor)
    return "files" if getattr(cls, "takes_files", False) else "snapshot"


def sources_of(plan: Plan, table: str) -> list[str]:
    """The sources whose rows reach ``table``'s load."""
    extracts = plan.upstream_extracts(stage_id("load", table))
    return [plan.stages[e].name for e in extracts]


def reads_interval(plan: Plan, table: str) -> bool:
    """Whether a SQL step on the way to ``table`` binds the data interval's parameters."""
    for sid in plan.upstream(stage_id("load", table)):
        stage = plan.stages[sid]
        if stage.kind == "transform":
            step = plan.spec.model.transforms[stage.name]
            if step.kind == "sql" and _READS_INTERVAL.search(step.sql or _sql_text(plan, step)):
                return True
    return False


def file_source(plan: Plan, table: str) -> str | None:
    """The file source ``table`` takes file by file: its only source, read without
    ``incremental``, through steps that do not read the data interval."""
    sources = sources_of(plan, table)
    if len(sources) != 1 or discipline(plan.spec, sources[0]) != "files":
        return None
    return None if reads_interval(plan, table) else sources[0]


def bounded_by_interval(plan: Plan, table: str) -> bool:
    """Whether ``table``'s rows depend on the data interval: a source read by interval or
    past a cursor feeds it, or a step on its way binds the interval's parameters."""
    kinds = {discipline(plan.spec, s) for s in sources_of(plan, table)}
    return bool(kinds & {"interval", "cursor"}) or reads_interval(plan, table)


def appends_snapshots(plan: Plan, table: str) -> str | None:
    """Why an ``append`` to ``table`` would add everything again each run, or ``None``.

    No source bounds what it reads (no interval, no cursor, no step reading the interval)
    and the table does not take its rows file by file.
    """
    load = plan.spec.model.loads[table]
    if load.write != "append" or file_source(plan, table) is not None:
        return None
    if bounded_by_interval(plan, table):
        return None
    sources = sources_of(plan, table)
    named = ", ".join(f"{s!r}" for s in sources)
    if any(discipline(plan.spec, s) == "files" for s in sources):
        return f"it reads several sources ({named}), so no one file names its rows"
    return f"its source(s) {named} have no incremental cursor or interval"


def table_needs(
    plan: Plan,
    states: dict[str, TableState],
    interval: Interval | None,
    files: dict[str, list[FileIdentity]],
    *,
    reprocess: bool = False,
    seen: dict[str, Any] | None = None,
    tables: list[str] | None = None,
) -> tuple[list[Need], list[Satisfied]]:
    """What each of ``tables`` (default: every table) needs in a run of ``interval``.

    ``files``: the current listing of each source a table takes by file (with hashes
    where a version had to be told apart); a source missing from it could not be listed,
    and is read whole (its extract reports why it cannot be read). ``seen``: the
    high-water mark each cursor source was read up to earlier in this run; a table already
    past it needs nothing.
    """
    from dagwright.state import TableState

    needs: list[Need] = []
    satisfied: list[Satisfied] = []
    for table in tables if tables is not None else list(plan.spec.model.loads):
        state = states.get(table) or TableState(table)
        found = _need(plan, table, state, interval, files, reprocess, seen or {})
        (needs if isinstance(found, Need) else satisfied).append(found)
    return needs, satisfied


def _need(
    plan: Plan,
    table: str,
    state: TableState,
    interval: Interval | None,
    files: dict[str, list[FileIdentity]],
    reprocess: bool,
    seen: dict[str, Any],
) -> Need | Satisfied:
    load = plan.spec.model.loads[table]
    sources = sources_of(plan, table)
    kinds = {s: discipline(plan.spec, s) for s in sources}
    cursors = [s for s, k in kinds.items() if k == "cursor"]
    if cursors and interval is not None:
        by = state.loaded(interval)
        if by is not None:
            return Satisfied(
                table,
                f"already loaded for this interval by run {by} (source(s) "
                f"{', '.join(cursors)} continue from their watermark in the next interval)",
            )
    if (
        cursors
        and "interval" not in kinds.values()
        and all(s in seen and s in state.marks and state.marks[s] >= seen[s] for s in cursors)
    ):
        return Satisfied(table, f"nothing new past its mark of {', '.join(cursors)}")
    reads: dict[str, Read] = {s: Read() for s in sources}
    for source in cursors:
        reads[source] = Read(after=state.marks.get(source))
    replaces: tuple[str, ...] = ()
    source = takes_files(plan, table)
    if source is not None and source in files:
        listed = files[source]
        taken = state.files.get(source, {})
        chosen, replaces, reason = _accumulating(source, listed, taken, reprocess, load.write)
        if chosen is None:
            return Satisfied(table, reason)
        every = tuple(sorted(f.path for f in listed))
        reads[source] = Read(files=None if chosen == every else chosen)
        holds = {p: taken[p].run_id for p in chosen if p in taken}
    else:
        holds = {}
    guard = bool(cursors) and interval is not None
    return Need(table, reads, replaces, guard_interval=guard, holds=holds)


def _accumulating(
    source: str,
    listed: list[FileIdentity],
    taken: dict[str, Any],
    reprocess: bool,
    write: str,
) -> tuple[tuple[str, ...] | None, tuple[str, ...], str]:
    """Files an accumulating table still needs: new ones, and changed ones with every
    other file of the loads that took them (an append removes those loads' rows first)."""
    new = [f.path for f in listed if f.path not in taken]
    changed = [
        f.path
        for f in listed
        if f.path in taken and (reprocess or not taken[f.path].identity.same_version(f))
    ]
    if not new and not changed:
        runs = sorted({t.run_id for t in taken.values()})
        return (
            None,
            (),
            (
                f"every file of source {source!r} is loaded already "
                f"({len(taken)} file(s), by run {', '.join(runs[-3:])})"
            ),
        )
    if write != "append":
        return tuple(sorted(new + changed)), (), ""
    redo = sorted({taken[p].run_id for p in changed})
    present = {f.path for f in listed}
    again = [p for p, t in taken.items() if t.run_id in redo and p in present]
    return tuple(sorted(set(new) | set(changed) | set(again))), tuple(redo), ""


def passes(needs: list[Need]) -> list[Pass]:
    """Group tables into passes: each pass reads every source once, for all its tables.

    A pass reading a shared cursor source from further behind comes first: what it reads
    shows whether the tables further ahead need anything at all (``seen``).
    """
    out: list[Pass] = []
    for need in needs:
        target = next((p for p in out if p.fits(need)), None)
        if target is None:
            target = Pass()
            out.append(target)
        target.add(need)
    return sorted(out, key=cmp_to_key(_behind))


def _behind(a: Pass, b: Pass) -> int:
    """-1 when ``a`` reads some shared cursor source from an earlier mark than ``b``."""
    for source in sorted(set(a.reads) & set(b.reads)):
        x, y = a.reads[source].after, b.reads[source].after
        if x == y:
            continue
        if x is None or y is None:
            return -1 if x is None else 1
        try:
            return -1 if x < y else 1
        except TypeError:
            continue
    return 0


def changed_paths(
    plan: Plan, states: dict[str, TableState], listed: dict[str, list[FileIdentity]]
) -> dict[str, list[str]]:
    """Per source, the listed paths some table took in another version (size or time
    differs): only these need their content hashed to tell a change from a touch."""
    out: dict[str, list[str]] = {}
    for table in plan.spec.model.loads:
        source = takes_files(plan, table)
        state = states.get(table)
        if source is None or state is None:
            continue
        taken = state.files.get(source, {})
        for f in listed.get(source, []):
            if f.path in taken and not taken[f.path].identity.same_version(f):
                out.setdefault(source, []).append(f.path)
    return out


def interval_tables(plan: Plan) -> list[str]:
    """The tables whose rows depend on the data interval: fed by a source read by interval
    or past a cursor. When none is, every table (each interval is a full run)."""
    keyed = [table for table in plan.spec.model.loads if bounded_by_interval(plan, table)]
    return keyed or list(plan.spec.model.loads)


def takes_files(plan: Plan, table: str) -> str | None:
    """The source whose files ``table`` takes once: its file source, when it keeps what
    earlier loads added (a replace reads every file every run)."""
    source = file_source(plan, table)
    return source if source is not None and accumulates(plan.spec.model.loads[table]) else None


def file_sources(plan: Plan) -> list[str]:
    """The sources some table takes file by file (their files are listed before a run)."""
    found = {takes_files(plan, t) for t in plan.spec.model.loads}
    return sorted(s for s in found if s is not None)


def _sql_text(plan: Plan, step: Any) -> str:
    if step.sql_file is None:
        return ""
    path = plan.spec.project_root / step.sql_file
    return path.read_text(encoding="utf-8") if path.is_file() else ""
