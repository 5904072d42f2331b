"""Column-level lineage: which source columns a loaded column comes from, across all stages.

Each SQL step is traced with ``sqlglot.lineage`` on the SQL as it runs (so any dialect
works); the columns it reads from its inputs are traced on into the steps that produced
them, down to the sources. Declarative ops are traced through renames and derived
expressions; a Python Polars function is opaque and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagwright.errors import DagwrightError, did_you_mean

if TYPE_CHECKING:
    from dagwright.spec.pipeline import PipelineSpec
    from dagwright.spec.sections import Transform


@dataclass
class LineageNode:
    name: str
    """``relation.column``."""
    kind: str
    """``load``, ``transform``, ``source``, ``table`` (loaded, read by a pushed-down step)."""
    detail: str = ""
    children: list[LineageNode] = field(default_factory=list)

    def sources(self) -> list[str]:
        """The source columns at the leaves, once each, sorted."""
        if self.kind == "source":
            return [self.name]
        return sorted({s for child in self.children for s in child.sources()})

    def render(self, prefix: str = "", last: bool = True, top: bool = True) -> list[str]:
        label = f"{self.name}  [{self.kind}]" + (f"  {self.detail}" if self.detail else "")
        lines = [label if top else f"{prefix}{'└─ ' if last else '├─ '}{label}"]
        inner = prefix if top else prefix + ("   " if last else "│  ")
        for i, child in enumerate(self.children):
            lines += child.render(inner, i == len(self.children) - 1, False)
        return lines


class Tracer:
    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec
        self.model = spec.model

    def load(self, table: str, column: str) -> LineageNode:
        if table not in self.model.loads:
            raise DagwrightError(
                f"pipeline {self.spec.name!r} loads no table {table!r}"
                f"{did_you_mean(table, list(self.model.loads))}; "
                f"tables: {', '.join(self.model.loads)}"
            )
        load = self.model.loads[table]
        return LineageNode(
            f"{table}.{column}", "load", f"from {load.from_}", [self.relation(load.from_, column)]
        )

    def relation(self, name: str, column: str, depth: int = 0) -> LineageNode:
        if depth > 50:
            return LineageNode(f"{name}.{column}", "transform", "(lineage too deep)")
        if name in self.model.sources:
            return LineageNode(f"{name}.{column}", "source", self._source_detail(name))
        step = self.model.transforms[name]
        if step.kind == "polars":
            return LineageNode(
                f"{name}.{column}",
                "transform",
                f"polars {step.polars}: opaque to lineage (reads {', '.join(step.inputs or [])})",
            )
        if step.kind == "ops":
            return self._ops(name, step, column, depth)
        return self._sql(name, step, column, depth)

    def _source_detail(self, name: str) -> str:
        source = self.model.sources[name]
        return f"extractor {source.extractor}"

    def _sql(self, name: str, step: Transform, column: str, depth: int) -> LineageNode:
        import sqlglot.expressions as exp
        from sqlglot.errors import SqlglotError
        from sqlglot.lineage import lineage

        from transforms.sql import SqlStepError, compile_step, engine_of

        label = f"{name}.{column}"
        engine = engine_of(self.spec, step)
        try:
            compiled, _ = compile_step(
                step, self.spec.project_root, engine, allowed=tuple(self.spec.model.params)
            )
            root = lineage(column, compiled.sql, None, dialect=engine)
        except SqlStepError as exc:
            return LineageNode(label, "transform", f"cannot trace: {exc}")
        except SqlglotError as exc:
            return LineageNode(label, "transform", f"cannot trace: {exc}")
        expression = root.expression
        if isinstance(expression, exp.Alias):
            expression = expression.this
        node = LineageNode(label, "transform", f"SQL: {expression.sql(dialect=engine)}")
        seen: set[str] = set()
        for leaf, parent in _leaves(root):
            if not isinstance(leaf.source, exp.Table):
                continue
            table = leaf.source
            relation = f"{table.db}.{table.name}" if table.db else table.name
            leaf_column = leaf.name.rsplit(".", 1)[-1]
            if leaf_column == "*":
                # Through SELECT *, a column keeps the name its reader asked for.
                leaf_column = (parent.name if parent else column).rsplit(".", 1)[-1]
            key = f"{relation}.{leaf_column}"
            if key in seen:
                continue
            seen.add(key)
            if step.pushdown:
                node.children.append(self._loaded(relation, leaf_column, depth))
            elif relation in self.model.sources or relation in self.model.transforms:
                node.children.append(self.relation(relation, leaf_column, depth + 1))
        return node

    def _loaded(self, table: str, column: str, depth: int) -> LineageNode:
        load = self.model.loads.get(table)
        if load is None:
            return LineageNode(f"{table}.{column}", "table", "not loaded by this pipeline")
        return LineageNode(
            f"{table}.{column}",
            "table",
            f"loaded from {load.from_}",
            [self.relation(load.from_, column, depth + 1)],
        )

    def _ops(self, name: str, step: Transform, column: str, depth: int) -> LineageNode:
        import sqlglot
        import sqlglot.expressions as exp

        assert step.ops is not None and step.inputs
        label = f"{name}.{column}"
        current = {column}
        details: list[str] = []
        joined: list[str] = []
        for op in reversed(step.ops):
            if op.rename:
                back = {new: old for old, new in op.rename.items()}
                current = {back.get(c, c) for c in current}
            elif op.derive:
                expanded: set[str] = set()
                for col in current:
                    if col in op.derive:
                        details.append(f"{col} = {op.derive[col]}")
                        tree = sqlglot.parse_one(op.derive[col])
                        expanded |= {c.name for c in tree.find_all(exp.Column)}
                    else:
                        expanded.add(col)
                current = expanded
            elif op.join:
                joined.append(op.join.with_)
        node = LineageNode(
            label, "transform", "ops" + (f": {'; '.join(details)}" if details else "")
        )
        for col in sorted(current):
            node.children.append(self.relation(step.inputs[0], col, depth + 1))
            for other in joined:
                child = self.relation(other, col, depth + 1)
                child.detail = (child.detail + " " if child.detail else "") + "(if from the join)"
                node.children.append(child)
        return node


def _leaves(root: Any) -> list[tuple[Any, Any]]:
    """``(leaf, parent)`` pairs of a ``sqlglot.lineage`` tree."""
    found: list[tuple[Any, Any]] = []
    stack: list[tuple[Any, Any]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        if not node.downstream:
            found.append((node, parent))
        stack.extend((child, node) for child in reversed(node.downstream))
    return found


def output_columns(spec: PipelineSpec, name: str) -> list[str]:
    """A relation's column names where the spec alone tells them (SQL without ``*``)."""
    model = spec.model
    if name in model.sources:
        return []
    step = model.transforms[name]
    if step.kind != "sql":
        return []
    import sqlglot

    from transforms.sql import SqlStepError, compile_step, engine_of

    engine = engine_of(spec, step)
    try:
        compiled, _ = compile_step(
            step, spec.project_root, engine, allowed=tuple(spec.model.params)
        )
    except SqlStepError:
        return []
    tree = sqlglot.parse_one(compiled.sql, dialect=engine)
    names = list(getattr(tree, "named_selects", []))
    return [] if "*" in names else names


def table_lineage(spec: PipelineSpec, table: str) -> list[tuple[str, list[str]]]:
    """``(column, source columns)`` for each column of a loaded table the spec can name."""
    tracer = Tracer(spec)
    if table not in spec.model.loads:
        tracer.load(table, "?")
    columns = output_columns(spec, spec.model.loads[table].from_)
    return [(c, tracer.load(table, c).sources()) for c in columns]


def column_lineage(spec: PipelineSpec, table: str, column: str) -> LineageNode:
    return Tracer(spec).load(table, column)
