"""Safe YAML reading that remembers where every key and value came from.

PyYAML's composer gives nodes with positions; we build plain Python values from them
ourselves, so no tag can construct a Python object, aliases cannot expand without
bound (YAML bombs), and every value keeps its ``line:column`` for error messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dagwright.errors import Problem, SpecError

Loc = tuple[str | int, ...]

MAX_NODES = 100_000
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Document:
    """A parsed YAML file: plain data plus the position of each key and value."""

    path: str
    data: Any
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    scalars: set[Loc] = field(default_factory=set)

    def position(self, loc: Loc, at: str = "auto") -> tuple[int, int]:
        """Where ``loc`` is: a scalar's value, a section's key (or ``at="key"``), else a parent."""
        while True:
            if at == "auto" and loc in self.values and loc in self.scalars:
                return self.values[loc]
            if loc in self.keys:
                return self.keys[loc]
            if loc in self.values:
                return self.values[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]

    def alias(self, loc: Loc, written: Loc) -> None:
        """Locate ``loc`` and everything under it where ``written`` is: a section the spec
        does not spell out (a step made from a ``sql_folder`` entry) points at what made it."""
        size = len(written)
        for table in (self.keys, self.values):
            for key, pos in [(k, p) for k, p in table.items() if k[:size] == written]:
                table[loc + key[size:]] = pos
        self.scalars |= {loc + k[size:] for k in self.scalars if k[:size] == written}

    def problem(self, loc: Loc, message: str, at: str = "auto") -> Problem:
        line, column = self.position(loc, at)
        return Problem(self.path, line, column, message)


class _Builder:
    def __init__(self, doc: Document, environ: Mapping[str, str]) -> None:
        self.doc = doc
        self.environ = environ
        self.count = 0
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(
                [
                    Problem(
                        self.doc.path,
                        node.start_mark.line + 1,
                        node.start_mark.column + 1,
                        f"document expands to more than {MAX_NODES} values "
                        "(too many aliases: a YAML bomb?)",
                    )
                ]
            )
        self.doc.values.setdefault(loc, _pos(node))
        if node.tag not in _PLAIN_TAGS:
            self.problems.append(
                Problem(
                    self.doc.path,
                    *_pos(node),
                    f"YAML tag {node.tag!r} is not allowed: specs hold plain data only",
                )
            )
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    merged = self.build(value_node, loc)
                    for item in merged if isinstance(merged, list) else [merged]:
                        if isinstance(item, dict):
                            for k, v in item.items():
                                result.setdefault(k, v)
                    continue
                key = self.build(key_node, loc + ("<key>",))
                if not isinstance(key, (str, int, bool)) or key is None:
                    self.problems.append(
                        Problem(self.doc.path, *_pos(key_node), "mapping keys must be plain text")
                    )
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    self.problems.append(
                        Problem(self.doc.path, *_pos(key_node), f"duplicate key {key!r}")
                    )
                self.doc.keys[loc + (key,)] = _pos(key_node)
                result[key] = self.build(value_node, loc + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
        self.doc.scalars.add(loc)
        try:
            value = _SCALAR_LOADER.yaml_constructors[node.tag](_SCALAR_LOADER, node)
        except (ValueError, OverflowError) as exc:
            self.problems.append(Problem(self.doc.path, *_pos(node), _bad_scalar(node, loc, exc)))
            return None
        if isinstance(value, str) and "${" in value:
            value = self._interpolate(value, node, loc)
        return value

    def _interpolate(self, text: str, node: yaml.Node, loc: Loc) -> str:
        sql = _sql_field(loc)
        if sql == "refused":
            self.problems.append(
                Problem(
                    self.doc.path,
                    *_pos(node),
                    f"{'.'.join(map(str, loc))}: ${{VAR}} is not allowed in this SQL (it would "
                    "be pasted into the query); declare a params: entry and bind it in a SQL "
                    "step ($name), or move the expression into a SQL step",
                )
            )
            return text

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.environ:
                return self.environ[name]
            if default is not None:
                return default
            self.problems.append(
                Problem(
                    self.doc.path,
                    *_pos(node),
                    f"environment variable {name} is not set "
                    f"(export it, or write ${{{name}:-default}})",
                )
            )
            return ""

        replaced = _ENV.sub(replace, text)
        return text if sql == "bound" else replaced


def _sql_field(loc: Loc) -> str | None:
    """``bound``: a SQL step's text, whose ``${VAR}``s become bound values or quoted names
    when it compiles (``dagwright.sql.variables``); ``refused``: SQL that has no such step."""
    if len(loc) == 3 and loc[0] == "transforms" and loc[2] == "sql":
        return "bound"
    if len(loc) == 3 and loc[0] == "sources" and loc[2] == "query":
        return "refused"
    if (
        len(loc) >= 5
        and loc[0] == "transforms"
        and loc[2] == "ops"
        and loc[4] in ("filter", "derive")
    ):
        return "refused"
    return None


_SCALAR_LOADER = yaml.SafeLoader("")


def _bad_scalar(node: yaml.Node, loc: Loc, exc: Exception) -> str:
    """A value YAML recognises by its shape but cannot build (``2026-02-30``)."""
    field = ".".join(str(step) for step in loc) or "spec"
    if node.tag == "tag:yaml.org,2002:timestamp":
        return (
            f"{field}: {node.value!r} is not a date: {exc}; write a real calendar date "
            "as YYYY-MM-DD (or YYYY-MM-DDTHH:MM:SS)"
        )
    return f"{field}: {node.value!r} cannot be read: {exc}"


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(text: str, path: str, environ: Mapping[str, str] | None = None) -> Document:
    """Parse one YAML document safely, raising ``SpecError`` with positions on any problem."""
    doc = Document(path=path, data=None)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise SpecError([Problem(path, line, column, f"YAML syntax error: {message}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(path, 1, 1, f"YAML error: {exc}")]) from None
    if node is None:
        raise SpecError(
            [Problem(path, 1, 1, "the file is empty: a spec needs at least 'pipeline:'")]
        )
    builder = _Builder(doc, os.environ if environ is None else environ)
    doc.data = builder.build(node, ())
    if builder.problems:
        raise SpecError(builder.problems)
    return doc


def read_yaml(path: Path, environ: Mapping[str, str] | None = None) -> Document:
    """Read and parse a YAML file, reporting unreadable files as spec problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([Problem(str(path), 1, 1, f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise SpecError([Problem(str(path), 1, 1, f"cannot read file: {exc.strerror}")]) from None
    return parse_yaml(text, str(path), environ)
