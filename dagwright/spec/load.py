"""Reading specs: YAML -> pydantic model -> cross-references, every problem located."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dagwright import plugins
from dagwright.errors import Problem, SpecError, did_you_mean
from dagwright.spec.batch import collections_per_spec
from dagwright.spec.model import json_schema, pipeline_model
from dagwright.spec.pipeline import PipelineSpec, discover, project_root_for
from dagwright.spec.sql_folder import ENTRY_TAGS, entry_kind
from dagwright.spec.types import NAME_PATTERN
from dagwright.spec.yaml_source import Document, read_yaml

__all__ = ["PipelineSpec", "discover", "load_spec", "load_specs", "project_root_for"]


def load_spec(path: Path, project_root: Path | None = None) -> PipelineSpec:
    """Parse and validate one spec; raise ``SpecError`` listing every problem found."""
    doc = read_yaml(path)
    root = project_root or project_root_for(path)
    if not isinstance(doc.data, dict):
        raise SpecError(
            [doc.problem((), "a spec must be a mapping with 'pipeline:', 'sources:'...")]
        )
    problems = _loads_missing(doc)
    try:
        model = pipeline_model().model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(problems + _pydantic_problems(doc, exc)) from None
    if problems:
        raise SpecError(problems)
    spec = PipelineSpec(path=path, project_root=root, doc=doc, model=model)
    from dagwright.spec.checks import cross_check
    from dagwright.spec.expand import expand_sql_folders

    problems = expand_sql_folders(spec)
    if problems:
        raise SpecError(problems)

    problems = cross_check(spec)
    if problems:
        raise SpecError(problems)
    return spec


def _loads_missing(doc: Document) -> list[Problem]:
    """``loads:`` may be left out only by a spec whose sql_folder entries load their steps."""
    transforms = doc.data.get("transforms")
    entries = transforms.values() if isinstance(transforms, dict) else []
    if "loads" in doc.data or any(entry_kind(e) == "sql folder" for e in entries):
        return []
    return [doc.problem((), "missing required key 'loads' in spec")]


def load_specs(paths: list[Path]) -> tuple[list[PipelineSpec], list[Problem]]:
    """Every spec under ``paths``: the valid ones, and the problems of the rest."""
    specs: list[PipelineSpec] = []
    problems: list[Problem] = []
    seen: dict[str, PipelineSpec] = {}
    with collections_per_spec() as tick:
        for path in discover(paths):
            try:
                spec = load_spec(path)
            except SpecError as exc:
                problems.extend(exc.problems)
                continue
            finally:
                tick()
            if spec.name in seen:
                first = seen[spec.name]
                problems.append(
                    spec.problem(
                        ("pipeline",),
                        f"duplicate pipeline name {spec.name!r}: also defined in {first.path}",
                    )
                )
                continue
            seen[spec.name] = spec
            specs.append(spec)
    return specs, problems


def _data_loc(data: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """Drop pydantic's union-tag steps from ``loc``; return the path into the YAML data."""
    path: list[Any] = []
    node = data
    for step in loc:
        if (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and step < len(node)
        ):
            node = node[step]
            path.append(step)
        elif (
            isinstance(node, dict)
            and isinstance(step, str)
            and (node.get("extractor", node.get("loader")) == step or step in ENTRY_TAGS)
        ):
            continue
        elif isinstance(node, (dict, list)):
            if isinstance(step, str) and any(c in step for c in "[]"):
                continue
            path.append(step)
            node = None
        else:
            continue
    return tuple(path), node


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json_schema()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _allowed_keys(data: Any, path: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at ``path`` (for did-you-mean hints)."""
    root = _schema()
    node: dict[str, Any] = root
    value = data
    for step in path:
        node = _pick(root, _resolve(root, node), value)
        if isinstance(step, int):
            node = node.get("items", {})
        elif step in node.get("properties", {}):
            node = node["properties"][step]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        elif node.get("patternProperties"):
            node = next(iter(node["patternProperties"].values()))
        else:
            return []
        value = value[step] if isinstance(value, (dict, list)) else None
    node = _pick(root, _resolve(root, node), value)
    return list(node.get("properties", {}))


def _pick(root: dict[str, Any], node: dict[str, Any], value: Any) -> dict[str, Any]:
    """Choose the branch of a union that fits ``value`` (by its tag when it has one)."""
    options = node.get("oneOf") or node.get("anyOf")
    if not options:
        return node
    options = [_resolve(root, o) for o in options]
    if isinstance(value, dict):
        for option in options:
            props = option.get("properties", {})
            for tag in ("extractor", "loader"):
                allowed = props.get(tag, {})
                tags = allowed.get("enum") or ([allowed["const"]] if "const" in allowed else [])
                if value.get(tag) in tags:
                    return option
        objects = [o for o in options if o.get("type") == "object" or "properties" in o]
        if objects:
            # The option declaring the most of the keys written (a sql_folder entry, not a step).
            return max(objects, key=lambda o: len(set(value) & set(o.get("properties", {}))))
    return options[0]


def _pydantic_problems(doc: Document, exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[int, int, str]] = set()
    typed: set[tuple[Any, ...]] = set()
    for err in exc.errors(include_url=False):
        path, _ = _data_loc(doc.data, err["loc"])
        kind = err["type"]
        field = ".".join(str(p) for p in path) or "spec"
        if kind not in ("extra_forbidden", "missing"):
            if path in typed:
                continue  # the other members of a union (date | datetime) say the same
            typed.add(path)
        if kind == "extra_forbidden":
            key = str(path[-1])
            hint = did_you_mean(key, _allowed_keys(doc.data, path[:-1]))
            message = f"unknown key {key!r} in {'.'.join(map(str, path[:-1])) or 'spec'}{hint}"
        elif kind == "literal_error" and path and path[-1] in ("extractor", "loader"):
            tag = str(path[-1])
            group = plugins.EXTRACTORS if tag == "extractor" else plugins.LOADERS
            installed = plugins.names(group)
            given = str(err["input"])
            message = (
                f"unknown {tag} {given!r}{did_you_mean(given, installed)}; "
                f"installed: {', '.join(installed)}"
            )
        elif kind == "missing":
            parent = ".".join(str(p) for p in path[:-1]) or "spec"
            message = f"missing required key {str(path[-1])!r} in {parent}"
            path = path[:-1]
        elif kind == "union_tag_invalid":
            tag = err["ctx"]["discriminator"].strip("'")
            expected = [t.strip().strip("'") for t in err["ctx"]["expected_tags"].split(",")]
            given = err["ctx"]["tag"]
            message = (
                f"unknown {tag} {given!r}{did_you_mean(given, expected)}; "
                f"installed: {', '.join(sorted(expected))}"
            )
            path = path + (tag,)
        elif kind == "string_pattern_mismatch" and err["ctx"]["pattern"] == NAME_PATTERN:
            message = (
                f"{field}: {err['input']!r} is not a valid name: use letters, digits and "
                "underscores, not starting with a digit"
            )
        elif kind == "union_tag_not_found":
            tag = err["ctx"]["discriminator"].strip("'")
            message = f"{field}: missing required key {tag!r}"
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            message = f"{field}: {msg}"
        line, column = doc.position(path, "key" if kind == "extra_forbidden" else "auto")
        key = (line, column, message)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(doc.path, line, column, message))
    return problems
