"""Staged outputs kept for selective runs (``dagwright run --select``), and their validity.

Every run keeps the staged output of each stage it ran in the pipeline's ``_last`` folder
under the staging root, replacing the output that stage had there: one file per stage at
most, whatever the number of runs or intervals (the run folders are removed as ever).
``_last/manifest.json`` says, per stage, which run made it, for which interval and params,
from which spec (a hash of the stage's definition and of each stage upstream of it), from
which run's read of each source, and its schema fingerprint.

A selective run reads the outputs of the stages it needs but does not run from there, and
refuses before running anything when one is missing or no longer valid.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright import staging
from dagwright.errors import DagwrightError
from dagwright.results import StageResult
from dagwright.state import Portion

if TYPE_CHECKING:
    from dagwright.context import RunContext
    from dagwright.intervals import Interval
    from dagwright.plan import Plan, Stage
    from dagwright.work import Pass

LAST = "_last"
MANIFEST = "manifest.json"
FRESH = "(this run)"
_LOCK = threading.Lock()


class StaleInputError(DagwrightError):
    """A selective run needs a staged output that is missing or no longer valid."""


def last_dir(staging_root: str, pipeline: str) -> str:
    return f"{staging_root.rstrip('/')}/{pipeline}/{LAST}"


def label(plan: Plan, sid: str) -> str:
    from dagwright.select import stage_names

    return stage_names(plan.stages[sid])[1]


# --- what a stage is made of -------------------------------------------------------------


def definitions(plan: Plan) -> dict[str, str]:
    """Per stage, a hash of what defines its output besides its inputs."""
    return {sid: _digest(_definition(plan, stage)) for sid, stage in plan.stages.items()}


def _definition(plan: Plan, stage: Stage) -> list[Any]:
    model = plan.spec.model
    parts: list[Any] = [stage.kind, stage.name, list(stage.upstream), list(stage.data_inputs)]
    if stage.kind == "extract":
        parts.append(_dump(model.sources[stage.name]))
    elif stage.kind == "transform":
        step = model.transforms[stage.name]
        parts.append(_dump(step))
        if step.sql_file:
            parts.append(_text(plan.spec.project_root / step.sql_file))
        if step.polars:
            parts.append(_module_text(str(step.polars).split(":", 1)[0]))
    elif stage.kind == "load":
        parts += [_dump(model.loads[stage.name]), _dump(model.destination)]
    else:
        section = {"source": model.sources, "transform": model.transforms, "load": model.loads}
        owner = section.get(stage.checks_of or "", {}).get(stage.name)
        names = list(getattr(owner, "expect", None) or [])
        parts.append(names)
        folder = plan.spec.project_root / "expectations"
        parts += [_text(p) for n in names for p in sorted(folder.glob(f"{n}.y*ml"))]
    return parts


def _dump(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    return dump(mode="json") if dump is not None else repr(obj)


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _module_text(module: str) -> str:
    import importlib.util

    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return ""
    return _text(Path(found.origin)) if found is not None and found.origin else ""


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _interval(interval: Interval | None) -> list[str] | None:
    return [interval.start.isoformat(), interval.end.isoformat()] if interval else None


def _params(values: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in sorted(values.items())}


# --- the manifest ------------------------------------------------------------------------


@dataclass
class Kept:
    """One stage output in ``_last``."""

    run_id: str
    interval: list[str] | None
    params: dict[str, str]
    defs: dict[str, str]
    """The definition hash of the stage and of every stage upstream of it."""
    origin: dict[str, str]
    """Per extract stage whose data it holds, the run that read it."""
    result: dict[str, Any]
    fingerprint: str = ""
    """Of the kept file's schema as DuckDB reads it (``file_shape``)."""
    streamed: bool = False
    """Only the result is kept: the output was streamed into its reader, never written."""

    @property
    def staged(self) -> staging.StagedTable:
        return staging.StagedTable.from_dict(self.result["staged"])


@dataclass
class Manifest:
    stages: dict[str, Kept] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """Stages a run ran without keeping their output, and why."""

    @classmethod
    def read(cls, folder: str) -> Manifest:
        text = staging.read_text(f"{folder}/{MANIFEST}")
        if text is None:
            return cls()
        try:
            data = json.loads(text)
            return cls({k: Kept(**v) for k, v in data["stages"].items()}, data.get("notes", {}))
        except (ValueError, KeyError, TypeError):
            return cls()

    def write(self, folder: str) -> None:
        data = {"stages": {k: vars(v) for k, v in self.stages.items()}, "notes": self.notes}
        staging.write_text(f"{folder}/{MANIFEST}", json.dumps(data, indent=1, default=str))


@contextmanager
def _held(folder: str) -> Iterator[None]:
    """One writer of a pipeline's ``_last`` at a time (threads, and processes of a host)."""
    path = Path(staging.open_output(f"{folder}/.lock"))
    with _LOCK, path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- a selective run's inputs --------------------------------------------------------------


@dataclass
class Reuse:
    """What a selective run takes from ``_last``: the results of the stages it needs but
    does not run, and the origin of the data of each stage it runs."""

    results: dict[str, StageResult]
    origins: dict[str, dict[str, str]]
    runs: dict[str, str] = field(default_factory=dict)
    """The run that staged each kept output used."""
    again: dict[str, str] = field(default_factory=dict)
    """Sources read whole that are read again rather than taken from ``_last``, and why."""


def needed(plan: Plan, stage: Stage) -> list[str]:
    """The stages whose results running ``stage`` takes (``StageExecutor.needs``)."""
    found = list(stage.upstream)
    if stage.kind == "load":
        found += [s for s in plan.upstream_extracts(stage.id) if s not in found]
    return found


def _in_warehouse(plan: Plan, sid: str) -> bool:
    """A load (or its check): what it hands on is the table itself, not a staged file."""
    stage = plan.stages[sid]
    return stage.kind == "load" or (stage.kind == "check" and stage.checks_of == "load")


def prepare(
    plan: Plan,
    selected: set[str],
    staging_root: str,
    interval: Interval | None,
    params: dict[str, Any],
) -> Reuse:
    """The staged outputs a run of ``selected`` needs, each checked; else ``StaleInputError``.

    The output of a source read whole (no ``incremental``: it holds no state) that is not
    kept or not valid is read again instead, with its checks: added to ``selected``. A load
    takes from the extracts upstream of it only what they read (their portions): for that
    a kept result is enough, even of an output streamed into its step and not kept.
    """
    manifest = Manifest.read(last_dir(staging_root, plan.pipeline))
    current = definitions(plan)
    reuse = Reuse({}, {})
    problems: dict[str, str] = {}
    for stage in plan.ordered():
        if stage.id not in selected:
            continue
        origin: dict[str, str] = {stage.id: FRESH} if stage.kind == "extract" else {}
        for sid in needed(plan, stage):
            if sid in selected:
                theirs = reuse.origins[sid]
            elif _in_warehouse(plan, sid):
                reuse.results.setdefault(sid, StageResult(stage=sid))
                continue
            else:
                kept = manifest.stages.get(sid)
                data = sid in stage.upstream
                why = _invalid(plan, sid, kept, manifest, current, interval, params, data=data)
                if why is not None and data and _whole(plan, sid):
                    for read in [sid, *plan.upstream(sid)]:
                        selected.add(read)
                        reuse.origins[read] = dict.fromkeys(_origin(plan, read, FRESH), FRESH)
                        reuse.again[read] = why
                    theirs = reuse.origins[sid]
                elif why is not None:
                    problems.setdefault(sid, why)
                    continue
                else:
                    assert kept is not None
                    reuse.results[sid] = StageResult.from_dict(kept.result)
                    reuse.runs[sid] = kept.run_id
                    theirs = kept.origin
            clash = _clash(origin, theirs)
            if clash is not None:
                problems.setdefault(sid, _mixed(plan, stage.id, sid, clash, origin, theirs))
            origin |= theirs
        reuse.origins[stage.id] = origin
    if problems:
        raise StaleInputError(_refusal(plan, selected, problems))
    return reuse


def _whole(plan: Plan, sid: str) -> bool:
    """An extract of a source read whole, or a check of one: safe to read again."""
    stage = plan.stages[sid]
    if stage.kind == "check" and stage.checks_of == "source":
        return _whole(plan, stage.upstream[0])
    source = plan.spec.model.sources.get(stage.name) if stage.kind == "extract" else None
    return source is not None and getattr(source, "incremental", None) is None


def _invalid(
    plan: Plan,
    sid: str,
    kept: Kept | None,
    manifest: Manifest,
    current: dict[str, str],
    interval: Interval | None,
    params: dict[str, Any],
    *,
    data: bool = True,
) -> str | None:
    """Why ``kept`` cannot stand for ``sid``'s output (only its result, without ``data``)
    in this run, or None."""
    if kept is None:
        note = manifest.notes.get(sid)
        return (
            f"not kept by an earlier run ({note})"
            if note
            else (
                "no earlier run kept it (run with --keep-outputs to keep the stages' outputs "
                "for --select)"
            )
        )
    if kept.interval != _interval(interval):
        then = " .. ".join(kept.interval) if kept.interval else "no interval"
        now = " .. ".join(_interval(interval) or []) or "no interval"
        return f"staged by run {kept.run_id} for {then}, this run is for {now}"
    if kept.params != _params(params):
        return f"staged by run {kept.run_id} with other params ({_show(kept.params)})"
    changed = [
        label(plan, s) for s in [sid, *sorted(plan.upstream(sid))] if kept.defs.get(s) != current[s]
    ]
    if changed or set(kept.defs) != {sid, *plan.upstream(sid)}:
        what = ", ".join(changed) or "its upstream stages"
        return f"the spec of {what} changed since run {kept.run_id} staged it"
    if not data:
        return None
    if kept.streamed:
        return f"not kept: run {kept.run_id} streamed it into the step reading it"
    staged = kept.staged
    if not staging.exists(staged.uri):
        return f"its file {staged.uri} (run {kept.run_id}) is missing"
    if file_shape(staged.uri) != kept.fingerprint:
        return f"its file {staged.uri} (run {kept.run_id}) no longer has the schema it had"
    return None


def _show(params: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "none"


def _clash(mine: dict[str, str], theirs: dict[str, str]) -> str | None:
    for extract, run in theirs.items():
        if extract in mine and mine[extract] != run:
            return extract
    return None


def _mixed(
    plan: Plan, sid: str, input_id: str, extract: str, mine: dict[str, str], theirs: dict[str, str]
) -> str:
    def read(run: str) -> str:
        return "this run reads it again" if run == FRESH else f"as run {run} read it"

    source = plan.stages[extract].name
    return (
        f"it holds {source} {read(theirs[extract])}, but the other inputs of "
        f"{label(plan, sid)} hold {source} {read(mine[extract])}: a stage must not mix "
        "two reads of a source"
    )


def _refusal(plan: Plan, selected: set[str], problems: dict[str, str]) -> str:
    lines = [f"cannot run the selected stages of {plan.pipeline} from the last run's staging:"]
    readers: list[str] = []
    for sid, why in problems.items():
        lines.append(f"  {label(plan, sid)}: {why}")
        readers += [
            label(plan, s.id) for s in plan.readers(sid) if s.id in selected and s.kind != "check"
        ]
    hint = readers[0] if readers else label(plan, next(iter(problems)))
    lines.append(
        f"hint: run the stages upstream too (`--select +{hint}`), or the whole pipeline "
        "(no --select); nothing was run"
    )
    return "\n".join(lines)


def check_reads(plan: Plan, work: Pass, reuse: Reuse, wanted: set[str]) -> None:
    """Refuse when a selected load would take a kept read that is not the one its table
    needs now (a cursor table loaded past it since, other files)."""
    problems = []
    for sid in sorted(wanted):
        stage = plan.stages[sid]
        need = work.needs.get(stage.name) if stage.kind == "load" else None
        if need is None:
            continue
        for extract in plan.upstream_extracts(sid):
            kept = reuse.results.get(extract)
            if kept is None or kept.portion is None:
                continue
            source = plan.stages[extract].name
            portion = Portion.from_dict(kept.portion)
            read = need.reads.get(source)
            after = read.after if read is not None else None
            files = set(read.files) if read is not None and read.files is not None else None
            kept_files = {f.path for f in portion.files}
            if after != portion.after or (files is not None and files != kept_files):
                problems.append(
                    f"  {label(plan, sid)}: the kept read of {source} (past "
                    f"{portion.after!r}, {len(kept_files)} file(s)) is not what {stage.name} "
                    f"needs now (past {after!r}, {len(files or ())} file(s))"
                )
    if problems:
        raise StaleInputError(
            "\n".join(
                [f"cannot run the selected stages of {plan.pipeline} from the last run's staging:"]
                + problems
                + ["hint: select the sources too (`--select +STAGE`); nothing was run"]
            )
        )


def serve(plan: Plan, ctx: RunContext, reuse: Reuse) -> dict[str, StageResult]:
    """The kept results for this pass: a kept read serves the tables that need it now."""
    work = ctx.work
    results = {}
    for sid, result in reuse.results.items():
        copy = StageResult.from_dict(result.to_dict())
        copy.note = None
        if plan.stages[sid].kind == "extract" and work is not None:
            copy.serves = work.served_by(plan.stages[sid].name)
        results[sid] = copy
    return results


# --- keeping a run's outputs -----------------------------------------------------------------


def materialise(result: StageResult) -> None:
    """Write a workspace output's Parquet file now, while the workspace holds it."""
    from dagwright import workspace

    held = workspace.entry(result.staged.uri) if result.staged else None
    if held is not None and held.where is not None:
        held.workspace.materialise(held)


def keep(
    plan: Plan,
    ctx: RunContext,
    results: dict[str, StageResult],
    ran: set[str],
    origins: dict[str, dict[str, str]] | None = None,
    *,
    copy: bool = False,
) -> None:
    """Move (``copy``) the outputs of the stages this pass ran into ``_last``, replacing
    the outputs kept of those stages."""
    folder = last_dir(ctx.staging_root, plan.pipeline)
    current = definitions(plan)
    run_dir = ctx.staging_dir.rstrip("/") + "/"
    with _held(folder):
        manifest = Manifest.read(folder)
        moved: dict[str, str | None] = {}
        """Run-dir URI -> its file in ``_last`` (None: streamed, no file)."""
        shapes: dict[str, str] = {}
        """Read before the move: a remote file's local spool is still there."""
        for sid in sorted(ran):
            result = results.get(sid)
            if result is None or result.skipped or result.staged is None:
                if not _in_warehouse(plan, sid):
                    why = (result.skipped if result else None) or "it failed or did not run"
                    manifest.stages.pop(sid, None)
                    manifest.notes[sid] = f"run {ctx.run_id}: {why}"
                continue
            uri: str | None = result.staged.uri
            if uri is not None and uri.startswith(run_dir):
                if uri not in moved:
                    moved[uri] = None
                    if result.staged.fingerprint and staging.exists(uri):
                        target = f"{folder}/{ctx.run_id}.{uri.rsplit('/', 1)[-1]}"
                        shapes[target] = file_shape(uri)
                        staging.move(uri, target, copy=copy)
                        moved[uri] = target
                uri = moved[uri]
            data = result.to_dict()
            data["staged"]["uri"] = uri or result.staged.uri
            origin = (origins or {}).get(sid) or _origin(plan, sid, ctx.run_id)
            manifest.stages[sid] = Kept(
                run_id=ctx.run_id,
                interval=_interval(ctx.interval),
                params=_params(ctx.params),
                defs={s: current[s] for s in [sid, *plan.upstream(sid)]},
                origin={k: ctx.run_id if v == FRESH else v for k, v in origin.items()},
                result=data,
                fingerprint=(shapes.get(uri) or file_shape(uri)) if uri else "",
                streamed=uri is None,
            )
            manifest.notes.pop(sid, None)
        manifest.write(folder)
        referenced = {
            k.staged.uri.rsplit("/", 1)[-1] for k in manifest.stages.values() if not k.streamed
        }
        for name in staging.names(folder):
            if name.endswith(".parquet") and name not in referenced:
                staging.remove_file(f"{folder}/{name}")


def file_shape(uri: str) -> str:
    """A schema fingerprint of a Parquet file, from its footer (DuckDB: no pyarrow import)."""
    with _SHAPES:
        global _reader
        if _reader is None:
            import duckdb

            _reader = duckdb.connect()
        rel = _reader.read_parquet(staging.local_path(uri))
        text = ",".join(f"{n}:{t}" for n, t in zip(rel.columns, rel.types, strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_SHAPES = threading.Lock()
_reader: Any = None
"""An in-memory DuckDB that reads Parquet footers (connecting costs a fiftieth of a second)."""


def _origin(plan: Plan, sid: str, run_id: str) -> dict[str, str]:
    """A full run: every source upstream of ``sid`` was read by this run."""
    extracts = {s for s in plan.upstream(sid) if plan.stages[s].kind == "extract"}
    if plan.stages[sid].kind == "extract":
        extracts.add(sid)
    return dict.fromkeys(sorted(extracts), run_id)
