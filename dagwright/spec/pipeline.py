"""A pipeline spec once read: its model, its YAML document, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagwright.errors import Problem
    from dagwright.spec.model import PipelineBase
    from dagwright.spec.yaml_source import Document, Loc


@dataclass
class PipelineSpec:
    """A validated pipeline and where it came from."""

    path: Path
    project_root: Path
    doc: Document
    model: PipelineBase
    sql_folders: tuple[Path, ...] = ()
    """The folders ``sql_folder`` entries listed: a file added there or removed is a step
    added or removed (``dagwright.spec.expand``)."""

    @property
    def name(self) -> str:
        return self.model.pipeline

    def problem(self, loc: Loc, message: str) -> Problem:
        return self.doc.problem(loc, message)


def discover(paths: list[Path]) -> list[Path]:
    """Spec files under the given files and folders (``*.yaml`` and ``*.yml``)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def project_root_for(path: Path) -> Path:
    """The project a spec belongs to: the folder holding ``dags/`` (or the spec's folder)."""
    path = path.resolve()
    for parent in path.parents:
        if parent.name == "dags":
            return parent.parent
    return path.parent
