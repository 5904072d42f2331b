"""``sql_folder`` entries become ordinary SQL steps and loads as the spec is read.

Each .sql file an entry lists becomes a ``sql_file`` step named after the file's stem and,
unless ``loads.<stem>`` says otherwise, a load of its own. What a file reads is found in
its SQL like any SQL step's inputs, so a file reading another's step (or, pushed down,
its table) runs after it. The made steps and loads are located at the entry that made
them (``Document.alias``): every later check points there, or into the .sql file.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from dagwright.errors import Problem, did_you_mean
from dagwright.spec.sections import Load, Transform
from dagwright.spec.sql_folder import DEFAULT_WRITE, SqlFolder
from dagwright.spec.types import NAME_PATTERN

if TYPE_CHECKING:
    from dagwright.spec.pipeline import PipelineSpec
    from dagwright.spec.yaml_source import Loc

_MAGIC = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class SqlFile:
    """One file of a folder: ``path`` as its step names it (relative to the project root
    unless the entry's pattern is absolute)."""

    path: str

    @property
    def stem(self) -> str:
        return Path(self.path).stem


@dataclass(frozen=True)
class Listing:
    files: list[SqlFile]
    folders: list[Path]
    """Where the files were looked for: the folder, or the matched files' folders."""


def expand_sql_folders(spec: PipelineSpec) -> list[Problem]:
    """Replace the spec's sql_folder entries by their steps and loads; the problems found."""
    model = spec.model
    if not any(isinstance(entry, SqlFolder) for entry in model.transforms.values()):
        return []
    problems: list[Problem] = []
    steps: dict[str, Transform] = {}
    loads: dict[str, Load] = dict(model.loads)
    step_files: dict[str, tuple[str, str]] = {}
    """Each step a file made -> its entry and file."""
    table_files: dict[str, str] = {}
    folders: list[Path] = []
    for name, entry in model.transforms.items():
        if not isinstance(entry, SqlFolder):
            steps[name] = entry
            continue
        listing = list_files(spec.project_root, entry.sql_folder)
        folders += listing.folders
        problems += _listing_problems(spec, name, entry, listing)
        files = [f for f in listing.files if _named_freely(spec, name, f, step_files, problems)]
        tables: dict[str, str] = {}
        for file in files:
            steps[file.stem] = _step(entry, file)
            step_files[file.stem] = (name, file.path)
            spec.doc.alias(("transforms", file.stem), ("transforms", name))
            spec.doc.alias(
                ("transforms", file.stem, "sql_file"), ("transforms", name, "sql_folder")
            )
            load = _load(spec, name, entry, file, problems)
            if load is None:
                continue
            table, options = load
            if table in loads:
                other = table_files.get(table)
                problems.append(
                    spec.problem(
                        _entry_loc(name, entry, file),
                        f"transforms.{name}: file {file.path} loads table {table!r}, which "
                        + (f"file {other} loads too" if other else "loads: declares too")
                        + "; hint: give it another table in "
                        f"transforms.{name}.loads.{file.stem}.table",
                    )
                )
                continue
            loads[table] = options
            table_files[table] = file.path
            tables[table] = file.stem
            _locate_load(spec, name, file, table)
        problems += _cycle(spec, name, entry, files, tables)
    if not loads and not problems:
        problems.append(
            spec.problem(
                ("transforms",),
                "the spec loads nothing: every sql_folder file is set not to load (null) "
                "and loads: declares no table",
            )
        )
    spec.model = model.model_copy(update={"transforms": steps, "loads": loads})
    spec.sql_folders = tuple(dict.fromkeys(folders))
    return list(dict.fromkeys(problems))


def list_files(root: Path, pattern: str) -> Listing:
    """The .sql files a folder (its ``*.sql``) or a glob names, sorted by path."""
    if not _MAGIC.search(pattern) and (root / pattern).is_dir():  # an absolute one stays
        pattern = os.path.join(pattern, "*.sql")
    found = sorted(glob.glob(pattern, root_dir=root, recursive=True))
    files = [
        SqlFile(Path(p).as_posix())
        for p in found
        if p.endswith(".sql") and (root / p).is_file()  # an absolute p stays itself
    ]
    folders = {(root / f.path).parent for f in files} or {_base(root, pattern)}
    return Listing(files, sorted(folders))


def _base(root: Path, pattern: str) -> Path:
    """The folder a glob looks in: its leading parts without a wildcard."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if _MAGIC.search(part):
            break
        parts.append(part)
    return root.joinpath(*parts) if parts else root


def _listing_problems(
    spec: PipelineSpec, name: str, entry: SqlFolder, listing: Listing
) -> list[Problem]:
    loc = ("transforms", name, "sql_folder")
    pattern = entry.sql_folder
    problems: list[Problem] = []
    if not listing.files:
        (folder,) = listing.folders
        if not folder.is_dir():
            siblings = (
                [p.name for p in folder.parent.iterdir() if p.is_dir()]
                if folder.parent.is_dir()
                else []
            )
            message = (
                f"transforms.{name}: sql_folder {pattern!r} looks in {folder}, which does not "
                f"exist{did_you_mean(folder.name, siblings)}; paths are relative to the "
                f"project root {spec.project_root}"
            )
        else:
            message = (
                f"transforms.{name}: sql_folder {pattern!r} matches no .sql file in {folder}; "
                "hint: a folder lists its *.sql files, a glob names them (sql/*.sql, "
                "sql/**/*.sql)"
            )
        problems.append(spec.problem(loc, message))
    stems = {f.stem for f in listing.files}
    for stem in entry.loads:
        if stem not in stems:
            problems.append(
                spec.doc.problem(
                    ("transforms", name, "loads", stem),
                    f"transforms.{name}.loads: {stem!r} names no file of sql_folder "
                    f"{pattern!r} (no {stem}.sql){did_you_mean(stem, sorted(stems))}",
                    "key",
                )
            )
    return problems


def _named_freely(
    spec: PipelineSpec,
    name: str,
    file: SqlFile,
    step_files: dict[str, tuple[str, str]],
    problems: list[Problem],
) -> bool:
    """Whether ``file``'s stem may name a step: a valid name no source or step has."""
    model = spec.model
    loc = ("transforms", name, "sql_folder")
    stem = file.stem
    if not re.match(NAME_PATTERN, stem) or len(stem) > 128:
        why = (
            f"{stem!r} is not a valid step name: use letters, digits and underscores, not "
            "starting with a digit; rename the file"
        )
    elif stem in model.sources:
        why = f"its step {stem!r} has the name of a source; rename the file or the source"
    elif stem in model.transforms and not isinstance(model.transforms[stem], SqlFolder):
        why = f"its step {stem!r} has the name of a transform; rename the file or the transform"
    elif stem in step_files and step_files[stem][1] == file.path:
        why = f"sql_folder entry {step_files[stem][0]!r} lists it too; list each file once"
    elif stem in step_files:
        why = f"its step {stem!r} is also the step of file {step_files[stem][1]}; rename one"
    else:
        return True
    problems.append(spec.problem(loc, f"transforms.{name}: file {file.path}: {why}"))
    return False


def _step(entry: SqlFolder, file: SqlFile) -> Transform:
    return Transform(
        sql_file=file.path,
        dialect=entry.dialect,
        pushdown=entry.pushdown,
        expect=entry.expect,
        description=entry.description,
    )


def _set(options: Any) -> dict[str, Any]:
    """The options written (not left to the folder's defaults)."""
    if options is None:
        return {}
    return options.model_dump(exclude_unset=True, exclude_none=True)


def _load(
    spec: PipelineSpec, name: str, entry: SqlFolder, file: SqlFile, problems: list[Problem]
) -> tuple[str, Load] | None:
    """The table ``file``'s step is loaded into and how; ``None``: not loaded, or wrong."""
    override = entry.loads.get(file.stem)
    if file.stem in entry.loads and override is None:
        return None
    options = {"table": "{name}", "write": DEFAULT_WRITE, **_set(entry.load), **_set(override)}
    table = str(options.pop("table")).replace("{name}", file.stem)
    try:
        return table, Load.model_validate({**options, "from": file.stem})
    except ValidationError as exc:
        loc = _entry_loc(name, entry, file)
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in (*loc, *err["loc"]))
            message = err["msg"].removeprefix("Value error, ")
            problems.append(spec.problem(loc, f"{field}: {message}"))
        return None


def _entry_loc(name: str, entry: SqlFolder, file: SqlFile) -> Loc:
    """Where ``file``'s load options are written: its override, else the folder's load."""
    if file.stem in entry.loads:
        return ("transforms", name, "loads", file.stem)
    return ("transforms", name, "load")


def _locate_load(spec: PipelineSpec, name: str, file: SqlFile, table: str) -> None:
    """Locate the made load at its folder's ``load``, then at the file's override."""
    for written in (
        ("transforms", name),
        ("transforms", name, "load"),
        ("transforms", name, "loads", file.stem),
    ):
        spec.doc.alias(("loads", table), written)
    spec.doc.alias(("loads", table, "from"), ("transforms", name, "sql_folder"))


def _cycle(
    spec: PipelineSpec,
    name: str,
    entry: SqlFolder,
    files: list[SqlFile],
    tables: dict[str, str],
) -> list[Problem]:
    """Files reading each other in a circle, named by their paths.

    Local steps read each other's step names; pushed-down ones read the tables loaded from
    each other (``tables``: table -> stem). SQL that cannot be read or parsed is left to
    the spec's checks, which locate it in its file.
    """
    from dagwright.spec.checks import find_cycle
    from transforms.sql import SqlStepError, read_sql, tables_of

    paths = {f.stem: f.path for f in files}
    graph: dict[str, list[str]] = {}
    for file in files:
        try:
            text = read_sql(None, file.path, spec.project_root).text
            refs = tables_of(text, entry.dialect, entry.pushdown)
        except SqlStepError:
            continue
        stems = [tables.get(r) if entry.pushdown else r for r in refs]
        graph[file.stem] = [s for s in stems if s in paths]
    cycle = find_cycle(graph)
    if cycle is None:
        return []
    return [
        spec.problem(
            ("transforms", name, "sql_folder"),
            f"transforms.{name}: files read each other in a cycle: "
            + " -> ".join(paths[s] for s in cycle)
            + "; hint: a step cannot read its own output, not even through other files",
        )
    ]
