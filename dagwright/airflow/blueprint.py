"""What an Airflow DAG needs from a spec, as plain JSON, cached by file modification time.

Parsing the DAG file must stay fast with hundreds of specs: validating a spec (YAML with
positions, pydantic, SQL parsing for inferred inputs) costs milliseconds, so each spec's
``Blueprint`` (or its problems) is kept in ``.dagwright/airflow-specs.json`` next to
``dags/`` (or in the file named by ``DAGWRIGHT_AIRFLOW_CACHE``) and reused while the spec
and the files it reads are unchanged. A warm parse imports neither pydantic nor sqlglot.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagwright import __version__
from dagwright.spec.batch import collections_per_spec

CACHE_VERSION = f"3:{__version__}"
CACHE_FILE = Path(".dagwright") / "airflow-specs.json"


@dataclass(frozen=True)
class StageBlueprint:
    id: str
    kind: str
    upstream: list[str]
    table: str | None = None
    """The destination table a load stage fills (its Airflow asset)."""


@dataclass(frozen=True)
class Blueprint:
    pipeline: str
    spec_path: str
    project_root: str
    schedule: str | list[str] | None
    start_date: str
    end_date: str | None
    catchup: bool
    owner: str
    tags: list[str]
    retries: int
    retry_delay: float
    execution_timeout: float | None
    pool: str | None
    max_active_runs: int
    description: str | None
    destination: str
    stages: list[StageBlueprint] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Declared run parameters: ``{name: {type, default, description}}``, as JSON."""
    reads: list[str] = field(default_factory=list)
    """Destination tables the sources read (``extractor: warehouse``), as written."""

    def to_dict(self) -> dict[str, Any]:
        # dataclasses.asdict deep-copies every value: a tenth of a cold parse's validation.
        data = dict(self.__dict__)
        data["tags"] = list(self.tags)
        data["reads"] = list(self.reads)
        data["stages"] = [dict(s.__dict__, upstream=list(s.upstream)) for s in self.stages]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Blueprint:
        data = dict(data)
        stages = [StageBlueprint(**s) for s in data.pop("stages")]
        return cls(stages=stages, **data)


@dataclass(frozen=True)
class Broken:
    """A spec that cannot become a DAG, with its located problems."""

    name: str
    spec_path: str
    problems: list[str]
    owner: str | None = None
    """The spec's ``owner:``, where the file could be read (shown on the stub DAG)."""
    tags: list[str] = field(default_factory=list)


def blueprint_of(spec: Any) -> Blueprint:
    """The blueprint of a validated ``PipelineSpec`` (through the planner)."""
    from dagwright.plan import build_plan

    model = spec.model
    plan = build_plan(spec)
    stages = [
        StageBlueprint(
            id=s.id,
            kind=s.kind,
            upstream=list(s.upstream),
            table=s.name if s.kind == "load" else None,
        )
        for s in plan.ordered()
    ]
    return Blueprint(
        pipeline=model.pipeline,
        spec_path=str(spec.path.resolve()),
        project_root=str(spec.project_root.resolve()),
        schedule=model.schedule,
        start_date=model.start_date.isoformat(),
        end_date=model.end_date.isoformat() if model.end_date else None,
        catchup=model.catchup,
        owner=model.owner,
        tags=list(model.tags),
        retries=model.retries,
        retry_delay=model.retry_delay.total_seconds(),
        execution_timeout=(
            model.execution_timeout.total_seconds() if model.execution_timeout else None
        ),
        pool=model.pool,
        max_active_runs=model.max_active_runs,
        description=model.description,
        destination=model.destination.loader,
        stages=stages,
        params=_params(model.params),
        reads=sorted({t for s in model.sources.values() if (t := s.reads_table())}),
    )


def _params(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from datetime import date

    from dagwright.spec.params import declared

    shown: dict[str, dict[str, Any]] = {}
    for name, param in declared(raw).items():
        default = param.default
        shown[name] = {
            "type": param.kind,
            "default": default.isoformat() if isinstance(default, date) else default,
            "description": param.description,
        }
    return shown


def spec_files(dags_dir: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(dags_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in sorted(files) if f.endswith((".yaml", ".yml"))]
    return found


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _dependencies(spec: Any) -> list[str]:
    """Files besides the spec whose content shapes the DAG: SQL files, check suites, and the
    folders of SQL folders (a file added or removed changes the folder's time)."""
    root = spec.project_root
    deps: list[str] = []
    for step in spec.model.transforms.values():
        if step.sql_file:
            deps.append(str((root / step.sql_file).resolve()))
    refs = [r for s in spec.model.sources.values() for r in getattr(s, "expect", [])]
    refs += [r for t in spec.model.transforms.values() for r in t.expect]
    refs += [r for load in spec.model.loads.values() for r in load.expect]
    for ref in refs:
        name = ref if isinstance(ref, str) else ref.get("suite")
        if isinstance(name, str):
            deps.append(str((root / "expectations" / f"{name}.yaml").resolve()))
    deps += [str(folder) for folder in spec.sql_folders]
    return sorted(set(deps))


def _fresh(entry: dict[str, Any], path: Path) -> bool:
    if entry.get("stamp") != _stamp(path):
        return False
    return all(_stamp(Path(dep)) == stamp for dep, stamp in entry.get("deps", {}).items())


def _build_entry(path: Path, project_root: Path) -> dict[str, Any]:
    from dagwright.errors import DagwrightError, SpecError
    from dagwright.spec.load import load_spec

    entry: dict[str, Any] = {"stamp": _stamp(path)}
    try:
        spec = load_spec(path, project_root)
        entry["deps"] = {d: _stamp(Path(d)) for d in _dependencies(spec)}
        entry["blueprint"] = blueprint_of(spec).to_dict()
    except SpecError as exc:
        entry.update(_readable(path))
        entry["problems"] = [_relative(str(p), project_root) for p in exc.problems]
    except (DagwrightError, ValueError, OSError) as exc:
        entry.update(_readable(path))
        rel = _relative(str(path), project_root)
        entry["problems"] = [f"{rel}:1:1: {type(exc).__name__}: {exc}"]
    return entry


def _readable(path: Path) -> dict[str, Any]:
    """What a spec that failed validation still says of itself: its name (else the file's
    stem), owner and tags, where the YAML can be read."""
    found: dict[str, Any] = {"name": _name_guess(path)}
    try:
        from dagwright.spec.yaml_source import read_yaml

        data = read_yaml(path).data
    except Exception:  # noqa: BLE001 - a spec too broken to read still gets its stub DAG
        return found
    if isinstance(data, dict):
        if isinstance(data.get("owner"), str):
            found["owner"] = data["owner"]
        tags = data.get("tags")
        if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            found["tags"] = tags
    return found


def _relative(text: str, project_root: Path) -> str:
    prefix = str(project_root) + os.sep
    return text[len(prefix) :] if text.startswith(prefix) else text


def _name_guess(path: Path) -> str:
    """The ``pipeline:`` name of a spec that failed validation, else its file stem."""
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("pipeline:"):
                name = line.partition(":")[2].split("#")[0].strip().strip("'\"")
                if name:
                    return name
    except OSError:
        pass
    return path.stem


def parse_budget() -> float:
    """Seconds a cold parse may spend validating specs: half Airflow's import timeout."""
    text = os.environ.get("DAGWRIGHT_PARSE_BUDGET")
    if text:
        return float(text)
    try:
        from airflow.configuration import conf

        return conf.getfloat("core", "dagbag_import_timeout", fallback=30.0) / 2
    except Exception:  # noqa: BLE001 - outside Airflow there is no timeout to respect
        return float("inf")


def load_blueprints(
    dags_dir: Path, budget: float | None = None
) -> tuple[list[Blueprint], list[Broken], list[str]]:
    """Every spec under ``dags_dir``: blueprints of the valid ones, problems of the others.

    Validating specs stops after ``budget`` seconds (a cold cache with many specs must not
    hit Airflow's import timeout): the specs not reached yet are returned by path, and the
    cache is saved every few seconds so that the next parse carries on where this one ended.
    """
    dags_dir = dags_dir.resolve()
    project_root = dags_dir.parent
    cache_path = Path(os.environ.get("DAGWRIGHT_AIRFLOW_CACHE") or project_root / CACHE_FILE)
    cache = _read_cache(cache_path)
    budget = parse_budget() if budget is None else budget
    started = last_save = time.monotonic()
    entries: dict[str, Any] = {}
    pending: list[str] = []
    changed = False
    with collections_per_spec() as tick:
        for path in spec_files(dags_dir):
            key = str(path)
            entry = cache.get(key)
            if entry is None or not _fresh(entry, path):
                now = time.monotonic()
                if now - started > budget:
                    pending.append(_relative(key, project_root))
                    if entry is not None:
                        entries[key] = entry
                    continue
                entry = _build_entry(path, project_root)
                tick()
                changed = True
                if now - last_save > 2.0:
                    _write_cache(cache_path, {**cache, **entries, key: entry})
                    last_save = now
            entries[key] = entry
    if changed or set(entries) != set(cache):
        _write_cache(cache_path, entries)
    blueprints: list[Blueprint] = []
    broken: list[Broken] = []
    seen: dict[str, str] = {}
    for key, entry in entries.items():
        rel = _relative(key, project_root)
        if "blueprint" not in entry:
            broken.append(
                Broken(
                    entry["name"], rel, entry["problems"], entry.get("owner"), entry.get("tags", [])
                )
            )
            continue
        bp = Blueprint.from_dict(entry["blueprint"])
        if bp.pipeline in seen:
            message = (
                f"{rel}:1:1: duplicate pipeline name {bp.pipeline!r}: also in {seen[bp.pipeline]}"
            )
            broken.append(Broken(bp.pipeline, rel, [message]))
            continue
        seen[bp.pipeline] = rel
        blueprints.append(bp)
    return blueprints, broken, pending


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    specs = data.get("specs")
    return specs if isinstance(specs, dict) else {}


def _write_cache(path: Path, entries: dict[str, Any]) -> None:
    """Best effort: a read-only deployment just parses specs every time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps({"version": CACHE_VERSION, "specs": entries}), "utf-8")
        os.replace(partial, path)
    except OSError:
        pass
