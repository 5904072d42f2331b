"""Run reports: one self-contained HTML page per run, built from the run log."""

from __future__ import annotations

from pathlib import Path


def write_report(
    project: str | Path,
    run_id: str | None = None,
    pipeline: str | None = None,
    output: str | Path | None = None,
) -> Path:
    """Write the report of ``run_id`` (default: the newest run) and return its path."""
    from dagwright.report.collect import collect, find_run
    from dagwright.report.html import render

    plan, loader, run = find_run(project, run_id, pipeline)
    try:
        data = collect(plan, loader, run)
    finally:
        loader.close()
    path = Path(output) if output else default_path(Path(project), run.pipeline, run.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    return path


def default_path(project: Path, pipeline: str, run_id: str) -> Path:
    return project.resolve() / ".dagwright" / "reports" / pipeline / f"{run_id}.html"
