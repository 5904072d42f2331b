"""``dagwright new PIPELINE --source KIND --destination KIND``: a commented spec that validates.

The skeleton is written from the plugins' config models: required options get example
values, every other option is listed commented out with its default and description.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

SOURCE = "raw"
EXAMPLES: dict[str, str] = {
    "path": "data/{pipeline}/*.{ext}",
    "folder": "data/{pipeline}",
    "url": "https://api.example.com/v1/{pipeline}",
    "connection": "{pipeline}_db",
    "table": "public.{pipeline}",
    "query": "select * from {pipeline}",
}
"""Example values for options a skeleton must set (tried in this order when optional)."""
FILE_FORMATS = ("csv", "tsv", "parquet", "json", "ndjson")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="write a commented skeleton spec for a new pipeline")
    p.add_argument("pipeline", metavar="PIPELINE", help="the pipeline's name (also its dag_id)")
    p.add_argument("--source", required=True, metavar="KIND", help="extractor, e.g. csv, http")
    p.add_argument(
        "--destination", default="duckdb", metavar="KIND", help="loader (default: duckdb)"
    )
    p.add_argument("--output", "-o", metavar="FILE", help="default: dags/PIPELINE.yaml")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dagwright.commands.schema import render_schema
    from dagwright.errors import DagwrightError, SpecError
    from dagwright.spec.load import load_spec

    root = Path(args.project).resolve()
    path = Path(args.output) if args.output else root / "dags" / f"{args.pipeline}.yaml"
    if path.exists() and not args.force:
        raise DagwrightError(f"{path} exists; use --force to overwrite it")
    schema = root / "dagwright.schema.json"
    if not schema.exists():
        schema.write_text(render_schema(), encoding="utf-8")
        print(f"wrote {schema} (the JSON Schema editors use to check dags/*.yaml)")
    text = skeleton(args.pipeline, args.source, args.destination, schema, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    try:
        load_spec(path, root)
    except SpecError as exc:
        extras = [p for p in exc.problems if " needs dagwright[" in p.message]
        if len(extras) != len(exc.problems):
            path.unlink()
            raise DagwrightError(
                f"the skeleton written to {path} does not validate (a dagwright bug):\n{exc}"
            ) from None
        print(f"wrote {path}; before it can run, install what it needs:")
        for problem in extras:
            print(f"  {problem.message}")
        return 0
    print(f"wrote {path}: fill it in, then dagwright validate && dagwright plan {args.pipeline}")
    return 0


def skeleton(pipeline: str, source: str, destination: str, schema: Path, path: Path) -> str:
    from pydantic import TypeAdapter, ValidationError

    from dagwright import plugins
    from dagwright.errors import DagwrightError, did_you_mean
    from dagwright.spec.types import Name

    try:
        TypeAdapter(Name).validate_python(pipeline)
    except ValidationError:
        raise DagwrightError(
            f"pipeline name {pipeline!r}: use letters, digits and underscores, "
            "not starting with a digit"
        ) from None
    parts = {}
    for group, kind, what in (
        (plugins.EXTRACTORS, source, "--source"),
        (plugins.LOADERS, destination, "--destination"),
    ):
        known = plugins.names(group)
        if kind not in known:
            raise DagwrightError(
                f"{what} {kind!r} is not an installed plugin{did_you_mean(kind, known)}; "
                f"choose one of: {', '.join(known)}"
            )
        parts[what] = plugins.plugin(group, kind).config_model
    relative = _relative(schema, path.parent)
    lines = [
        f"# yaml-language-server: $schema={relative}",
        f"# {pipeline}: {source} -> {destination}. Replace the example values, then run",
        f"#   dagwright validate && dagwright plan {pipeline} && dagwright run {pipeline}",
        "# Every key is described in docs/spec-reference.md (or: dagwright schema).",
        f"pipeline: {pipeline}",
        "description: What this pipeline delivers, and to whom.",
        'schedule: "@daily"            # cron, a preset such as @hourly, asset names, or null',
        f"start_date: {date.today().isoformat()}   # the first data interval starts here",
        "owner: data-eng",
        "retries: 1                    # retries of each stage task",
        "# retry_delay: 5m",
        "# tags: []",
        "",
        "sources:",
        f"  {SOURCE}:",
        *_section(parts["--source"], "extractor", source, pipeline, "    "),
        "    # expect: [my_suite]        # checks from expectations/my_suite.yaml, after extract",
        "    # incremental: {cursor: updated_at, use_interval: true}   # only new rows",
        "",
        "transforms:",
        "  cleaned:",
        "    # SQL in any dialect sqlglot reads (dialect: snowflake, bigquery, ...), run on DuckDB",
        f"    sql: select * from {SOURCE}",
        "    # tests:                     # given input rows, the rows expected (dagwright test)",
        "    #   - name: keeps every row",
        f"    #     given: {{{SOURCE}: [{{id: 1}}]}}",
        "    #     expect: [{id: 1}]",
        "",
        "destination:",
        *_section(parts["--destination"], "loader", destination, pipeline, "  "),
        "",
        "loads:",
        f"  {pipeline}:",
        "    from: cleaned",
        "    write: replace              # append, replace, merge, delete_insert or scd2",
        "    # primary_key: [id]         # needed by merge and scd2",
        "    # expect: [my_suite]        # checks on the loaded table",
    ]
    return "\n".join(lines) + "\n"


def _relative(target: Path, start: Path) -> str:
    import os

    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def _section(model: type, tag: str, kind: str, pipeline: str, indent: str) -> list[str]:
    """The plugin's options: ``tag`` and required ones set, the others commented out."""
    ext = kind if kind in (*FILE_FORMATS, "sqlite", "duckdb") else "csv"
    values = {tag: kind}
    for name, field in _fields(model):
        if name != tag and field.is_required():
            values[name] = _example(name, pipeline, ext)
    values.update(_fewest_examples(model, values, pipeline, ext))
    lines = [f"{indent}{k}: {_yaml(v)}{_note(k, v)}" for k, v in values.items()]
    for name, field in _fields(model):
        if name in values or name in ("description", "expect", "incremental"):
            continue
        default = field.get_default(call_default_factory=True)
        shown = _yaml(default if _plain(default) else None)
        note = f"  # {field.description}" if field.description else ""
        lines.append(f"{indent}# {name}: {shown}{note}")
    return lines


def _note(key: str, value: Any) -> str:
    """Where a connection's credentials come from: never from the spec."""
    if key != "connection" or not isinstance(value, str):
        return ""
    from dagwright.connections import env_var

    return f"   # its URL: env {env_var(value)} (or .env), or the Airflow connection {value}"


def _fewest_examples(
    model: type, values: dict[str, Any], pipeline: str, ext: str
) -> dict[str, str]:
    """The smallest set of optional example options that makes the section valid."""
    from itertools import combinations

    fields = dict(_fields(model))
    optional = [n for n in EXAMPLES if n not in values and n in fields]
    for size in range(len(optional) + 1):
        for names in combinations(optional, size):
            chosen = {n: _example(n, pipeline, ext) for n in names}
            if _valid(model, {**values, **chosen}):
                return chosen
    return {}


def _fields(model: type) -> list[tuple[str, Any]]:
    return [(f.alias or n, f) for n, f in model.model_fields.items()]


def _example(name: str, pipeline: str, ext: str) -> str:
    if name == "path" and ext not in FILE_FORMATS:
        return f"data/{pipeline}.{ext}"
    return EXAMPLES.get(name, "CHANGE_ME").format(pipeline=pipeline, ext=ext)


def _valid(model: type, values: dict[str, Any]) -> bool:
    from pydantic import ValidationError

    try:
        model.model_validate(values)
    except ValidationError:
        return False
    return True


def _plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return False
    return True


def _yaml(value: Any) -> str:
    """A YAML flow scalar: JSON is valid YAML, and plain words stay plain."""
    if (
        isinstance(value, str)
        and value
        and value[0].isalpha()
        and value.lower() not in ("true", "false", "null", "yes", "no", "on", "off")
        and all(c.isalnum() or c in "_-./" for c in value)
    ):
        return value
    return json.dumps(value)
