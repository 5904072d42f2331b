"""Finding a project's specs and a pipeline by name."""

from __future__ import annotations

from pathlib import Path

from dagwright.errors import DagwrightError, Problem, SpecError, did_you_mean
from dagwright.spec.load import PipelineSpec, discover, load_spec, load_specs


def dags_dir(project: str | Path) -> Path:
    return Path(project).resolve() / "dags"


def pipeline_specs(
    project: str | Path, name: str | None
) -> tuple[list[PipelineSpec], list[Problem]]:
    """The named pipeline, or every valid spec in ``dags/`` and the problems of the rest."""
    if name:
        return [find_pipeline(project, name)], []
    folder = dags_dir(project)
    return load_specs(discover([folder]) if folder.is_dir() else [])


def one_per_destination(specs: list[PipelineSpec]) -> list[PipelineSpec]:
    """The first spec writing to each distinct destination: the state (run log, ledgers,
    check results) lives in the destination, so each is read once."""
    seen: set[str] = set()
    firsts = []
    for spec in specs:
        key = repr(spec.model.destination)
        if key not in seen:
            seen.add(key)
            firsts.append(spec)
    return firsts


def find_pipeline(project: str | Path, name: str) -> PipelineSpec:
    """A pipeline by name (or by the path of its YAML file)."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return load_spec(path)
    folder = dags_dir(project)
    candidates = discover([folder]) if folder.is_dir() else []
    for candidate in candidates:
        if candidate.stem == name:
            return load_spec(candidate, Path(project).resolve())
    specs, problems = load_specs(candidates)
    for spec in specs:
        if spec.name == name:
            return spec
    if problems and any(Path(p.file).stem == name for p in problems):
        raise SpecError([p for p in problems if Path(p.file).stem == name])
    known = [s.name for s in specs]
    raise DagwrightError(
        f"no pipeline {name!r} in {folder}{did_you_mean(name, known)}"
        + (f"; pipelines: {', '.join(sorted(known))}" if known else "")
    )
