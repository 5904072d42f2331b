"""Expectation suites and inline expectations: where a stage's checks come from.

A suite is ``expectations/<name>.yaml`` in the project (or, failing that, in this
package)::

    suite: orders_raw
    severity: error            # default of every item; error, warn or quarantine
    expectations:
      - expect_column_values_to_not_be_null: {column: order_id}
      - expect_column_values_to_be_in_set: {column: status, value_set: [paid, void]}
        severity: warn

A stage's ``expect:`` list holds suite names, ``{suite: NAME, severity: warn}``, or one
inline expectation ``{expect_...: {column: id}, severity: quarantine}``.

Resolving needs no Great Expectations; ``spec_problems`` checks types and arguments
against GE's own classes and imports GE only when a spec has checks at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import Problem, SpecError, did_you_mean
from dagwright.spec.yaml_source import Document, Loc, read_yaml
from expectations import forms

if TYPE_CHECKING:
    from dagwright.spec.pipeline import PipelineSpec

SEVERITIES = ("error", "warn", "quarantine")
ENGINES = ("native", "great_expectations")
"""``engine:`` of a check: ``native`` (the default) evaluates it in DuckDB where it has a
native form, ``great_expectations`` always in Great Expectations."""
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CheckItem:
    """One expectation to run on a stage, with where it was written (for errors)."""

    type: str
    kwargs: dict[str, Any]
    severity: str
    suite: str | None
    where: Problem
    """Location of the item: ``where.file:line:column`` (message unused)."""
    engine: str | None = None
    """``great_expectations`` forces GE's own evaluation; otherwise a native form runs
    where one exists (``expectations.forms``)."""

    @property
    def label(self) -> str:
        """``expect_x(column=id)``: the expectation and the columns it looks at."""
        cols = [f"{k}={self.kwargs[k]}" for k in _COLUMN_ARGS if k in self.kwargs]
        return f"{self.type}({', '.join(cols)})"

    def problem(self, message: str) -> Problem:
        return Problem(self.where.file, self.where.line, self.where.column, message)


@dataclass
class StageChecks:
    """The checks of one stage: resolved items and the problems met resolving them."""

    kind: str
    """'source', 'transform' or 'load'."""
    name: str
    items: list[CheckItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


_COLUMN_ARGS = ("column", "column_A", "column_B", "column_list")


def suite_dirs(project_root: Path) -> list[Path]:
    return [project_root / "expectations", PACKAGE_DIR]


def find_suite(name: str, project_root: Path) -> Path | None:
    for folder in suite_dirs(project_root):
        for ext in (".yaml", ".yml"):
            path = folder / f"{name}{ext}"
            if path.is_file():
                return path
    return None


def known_suites(project_root: Path) -> list[str]:
    names: set[str] = set()
    for folder in suite_dirs(project_root):
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    return sorted(names)


def stage_refs(spec: PipelineSpec) -> list[tuple[str, str, Loc, list[Any]]]:
    """(kind, name, location of ``expect``, refs) for every section that has checks."""
    model = spec.model
    found: list[tuple[str, str, Loc, list[Any]]] = []
    for name, source in model.sources.items():
        if source.expect:
            found.append(("source", name, ("sources", name, "expect"), list(source.expect)))
    for name, step in model.transforms.items():
        if step.expect:
            found.append(("transform", name, ("transforms", name, "expect"), list(step.expect)))
    for name, load in model.loads.items():
        if load.expect:
            found.append(("load", name, ("loads", name, "expect"), list(load.expect)))
    return found


def checks_for(spec: PipelineSpec, kind: str, name: str) -> StageChecks:
    for k, n, loc, refs in stage_refs(spec):
        if (k, n) == (kind, name):
            return resolve(spec, k, n, loc, refs)
    return StageChecks(kind, name)


def resolve(spec: PipelineSpec, kind: str, name: str, loc: Loc, refs: list[Any]) -> StageChecks:
    result = StageChecks(kind, name)
    for i, ref in enumerate(refs):
        here = loc + (i,)
        if isinstance(ref, str):
            _add_suite(result, spec, ref, None, here)
            continue
        if not isinstance(ref, dict) or not ref:
            result.problems.append(spec.problem(here, "a check is a suite name or a mapping"))
            continue
        severity = ref.get("severity")
        if severity is not None and severity not in SEVERITIES:
            result.problems.append(_bad_severity(spec.doc, here + ("severity",), severity))
            severity = None
        engine = _engine(spec.doc, ref, here, result.problems)
        if "suite" in ref:
            extra = [k for k in ref if k not in ("suite", "severity", "engine")]
            for key in extra:
                result.problems.append(
                    spec.doc.problem(
                        here + (key,),
                        f"unknown key {key!r} beside 'suite' (allowed: severity, engine)",
                    )
                )
            _add_suite(result, spec, str(ref["suite"]), severity, here + ("suite",), engine)
            continue
        item = _item(spec.doc, ref, here, severity or "error", None, engine)
        if isinstance(item, Problem):
            result.problems.append(item)
        else:
            result.items.append(item)
    return result


def _add_suite(
    result: StageChecks,
    spec: PipelineSpec,
    name: str,
    severity: str | None,
    loc: Loc,
    engine: str | None = None,
) -> None:
    path = find_suite(name, spec.project_root)
    if path is None:
        known = known_suites(spec.project_root)
        result.problems.append(
            spec.problem(
                loc,
                f"unknown expectation suite {name!r}{did_you_mean(name, known)}: "
                f"expected {spec.project_root / 'expectations' / name}.yaml"
                + (f"; suites: {', '.join(known)}" if known else ""),
            )
        )
        return
    items, problems = load_suite(path, severity, engine)
    result.items += items
    result.problems += problems


def load_suite(
    path: Path, severity: str | None = None, engine: str | None = None
) -> tuple[list[CheckItem], list[Problem]]:
    """A suite file's items; ``severity`` and ``engine`` (from the spec) override the
    suite's own."""
    try:
        doc = read_yaml(path)
    except SpecError as exc:
        return [], list(exc.problems)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        return [], [doc.problem((), "a suite is a mapping with an 'expectations:' list")]
    problems = [
        doc.problem((key,), f"unknown key {key!r} in suite{did_you_mean(key, _SUITE_KEYS)}", "key")
        for key in data
        if key not in _SUITE_KEYS
    ]
    default = data.get("severity", "error")
    if default not in SEVERITIES:
        problems.append(_bad_severity(doc, ("severity",), default))
        default = "error"
    default_engine = _engine(doc, data, (), problems)
    suite = str(data.get("suite") or path.stem)
    items: list[CheckItem] = []
    for i, entry in enumerate(data["expectations"]):
        loc: Loc = ("expectations", i)
        if not isinstance(entry, dict) or not entry:
            problems.append(doc.problem(loc, "an expectation is a mapping {expect_...: {...}}"))
            continue
        own = entry.get("severity")
        if own is not None and own not in SEVERITIES:
            problems.append(_bad_severity(doc, loc + ("severity",), own))
            own = None
        own_engine = _engine(doc, entry, loc, problems)
        item = _item(
            doc,
            entry,
            loc,
            severity or own or default,
            suite,
            engine or own_engine or default_engine,
        )
        if isinstance(item, Problem):
            problems.append(item)
        else:
            items.append(item)
    return items, problems


_SUITE_KEYS = ("suite", "description", "severity", "engine", "expectations")


def _item(
    doc: Document,
    entry: dict[str, Any],
    loc: Loc,
    severity: str,
    suite: str | None,
    engine: str | None = None,
) -> CheckItem | Problem:
    keys = [k for k in entry if k not in ("severity", "engine")]
    if len(keys) != 1:
        return doc.problem(
            loc,
            "an expectation needs exactly one type key such as "
            f"'expect_column_values_to_not_be_null' (found {', '.join(keys) or 'none'})",
        )
    (kind,) = keys
    kwargs = entry[kind]
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        return doc.problem(
            loc + (kind,), f"{kind}: arguments must be a mapping, e.g. {{column: id}}"
        )
    line, column = doc.position(loc + (kind,), "key")
    return CheckItem(
        type=str(kind),
        kwargs=dict(kwargs),
        severity=severity,
        suite=suite,
        where=Problem(doc.path, line, column, ""),
        engine=engine,
    )


def _engine(doc: Document, entry: dict[str, Any], loc: Loc, problems: list[Problem]) -> str | None:
    value = entry.get("engine")
    if value is None or value in ENGINES:
        return value
    problems.append(
        doc.problem(
            loc + ("engine",),
            f"unknown engine {value!r}{did_you_mean(str(value), ENGINES)}; "
            f"use one of {', '.join(ENGINES)}",
        )
    )
    return None


def _bad_severity(doc: Document, loc: Loc, value: Any) -> Problem:
    return doc.problem(
        loc,
        f"unknown severity {value!r}{did_you_mean(str(value), SEVERITIES)}; "
        f"use one of {', '.join(SEVERITIES)}",
    )


def spec_problems(spec: PipelineSpec) -> list[Problem]:
    """Every problem in a spec's checks; imports Great Expectations only if there are any."""
    found = stage_refs(spec)
    if not found:
        return []
    problems: list[Problem] = []
    items: list[tuple[CheckItem, str]] = []
    for kind, name, loc, refs in found:
        checks = resolve(spec, kind, name, loc, refs)
        problems += checks.problems
        items += [(item, kind) for item in checks.items]
    key = _cache_key(items)
    if not problems and key is not None and _cache_file(key).exists():
        return []
    if all(forms.accepts(i.type, i.kwargs, i.engine) for i, _ in items):
        problems += [p for item, kind in items for p in _severity_problems(item, kind, True)]
        return _unique(problems)
    try:
        import expectations.gx_types  # noqa: F401
    except ImportError as exc:
        return problems + [
            spec.problem(
                found[0][2],
                f"checks need Great Expectations ({exc.name} is missing): "
                "pip install 'dagwright[checks]'",
            )
        ]
    for item, kind in items:
        problems += item_problems(item, kind)
    if not problems and key is not None:
        with contextlib.suppress(OSError):
            _cache_file(key).parent.mkdir(parents=True, exist_ok=True)
            _cache_file(key).touch()
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list({(p.file, p.line, p.column, p.message): p for p in problems}.values())


def _cache_key(items: list[tuple[CheckItem, str]]) -> str | None:
    """A digest of the checks and the GE version: identical checks were valid before.

    Checking against GE's classes means importing GE (seconds); a spec whose checks
    passed once is not checked again (``dagwright run``, Airflow parsing the DAG file).
    """
    try:
        version = importlib.metadata.version("great_expectations")
    except importlib.metadata.PackageNotFoundError:
        return None
    text = json.dumps(
        [version] + [[i.type, i.kwargs, i.severity, kind] for i, kind in items],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_file(key: str) -> Path:
    root = os.environ.get("DAGWRIGHT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dagwright"
    )
    return Path(root) / "valid-checks" / key


def item_problems(item: CheckItem, kind: str) -> list[Problem]:
    """Check one item against Great Expectations' own expectation classes."""
    if forms.accepts(item.type, item.kwargs, item.engine):
        return _severity_problems(item, kind, item.type in forms.ROW_LEVEL)
    from expectations import gx_types

    cls = gx_types.expectation_class(item.type)
    if cls is None:
        return [
            item.problem(
                f"unknown expectation type {item.type!r}"
                f"{did_you_mean(item.type, gx_types.expectation_names())}"
            )
        ]
    problems = [item.problem(m) for m in gx_types.argument_problems(cls, item.type, item.kwargs)]
    return problems + _severity_problems(item, kind, gx_types.is_row_level(cls))


def _severity_problems(item: CheckItem, kind: str, row_level: bool) -> list[Problem]:
    """Quarantine needs rows that can still be held back, and a row-level expectation."""
    problems: list[Problem] = []
    if item.severity == "quarantine":
        if kind == "load":
            problems.append(
                item.problem(
                    f"{item.type}: severity quarantine cannot apply after a load (the rows are "
                    "already in the table); put the check on the source or transform instead"
                )
            )
        elif not row_level:
            problems.append(
                item.problem(
                    f"{item.type}: severity quarantine needs a row-level expectation "
                    "(expect_column_values_..., column pair or multicolumn); "
                    "use error or warn for table-level checks"
                )
            )
    return problems
