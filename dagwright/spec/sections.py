"""Spec sections that are not plugins: transforms and loads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from dagwright.spec.types import CheckRef, Name, SpecModel

WriteDisposition = Literal["append", "replace", "merge", "delete_insert", "scd2"]
SchemaContract = Literal["evolve", "freeze", "discard_columns"]


OPS = ("select", "rename", "cast", "filter", "derive", "deduplicate", "join")


class Deduplicate(SpecModel):
    keys: list[str] = Field(min_length=1, description="Columns identifying a row.")
    order_by: list[str] = Field(
        default_factory=list, description="Sort before choosing (prefix '-' for descending)."
    )
    keep: Literal["first", "last"] = Field(default="last", description="Which row per key stays.")


class Join(SpecModel):
    with_: Name = Field(alias="with", description="The input to join.")
    keys: list[str] | str = Field(
        description="Key column(s) present in both (not 'on': YAML reads that as true)."
    )
    how: Literal["inner", "left", "right", "full", "semi", "anti"] = "inner"


class Op(SpecModel):
    """One declarative Polars operation; exactly one key is set."""

    select: list[str] | None = Field(default=None, description="Keep these columns, in order.")
    rename: dict[str, str] | None = Field(default=None, description="{old: new} column names.")
    cast: dict[str, str] | None = Field(
        default=None,
        description="{column: type}, e.g. int64, float64, string, date, decimal(10,2).",
    )
    filter: str | None = Field(
        default=None, description="Keep rows where this SQL expression is true."
    )
    derive: dict[str, str] | None = Field(
        default=None, description="{column: SQL expression} added or replaced."
    )
    deduplicate: Deduplicate | None = Field(default=None, description="One row per key.")
    join: Join | None = Field(default=None, description="Join another input.")

    @model_validator(mode="after")
    def _one_op(self) -> Op:
        ops = [k for k in OPS if getattr(self, k) is not None]
        if len(ops) != 1:
            found = ", ".join(ops) if ops else "none"
            raise ValueError(f"an op needs exactly one of {', '.join(OPS)} (found {found})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in OPS if getattr(self, k) is not None)


class TransformTest(SpecModel):
    """A unit test: given rows for each input, the rows the transform must output."""

    name: str = Field(description="What the test shows.")
    given: dict[Name, list[dict[str, Any]]] = Field(description="Rows of each input, by name.")
    expect: list[dict[str, Any]] = Field(
        description="Expected output rows; only the columns named here are compared."
    )
    ordered: bool = Field(default=False, description="Compare rows in order.")
    interval: tuple[datetime, datetime] | None = Field(
        default=None, description="[start, end] bound to the interval parameters."
    )


class Transform(SpecModel):
    """One named output computed from named inputs, in SQL or in Polars."""

    sql: str | None = Field(default=None, description="SQL text; inputs are referred to by name.")
    sql_file: str | None = Field(
        default=None, description="Path of a .sql file, relative to the project root."
    )
    dialect: str = Field(default="duckdb", description="The SQL dialect the step is written in.")
    pushdown: bool = Field(
        default=False,
        description=(
            "Run the SQL in the destination, in its dialect; the SQL reads tables already "
            "loaded there (load names), and its result feeds loads like any transform."
        ),
    )
    polars: str | None = Field(
        default=None,
        description="'module:function' taking the inputs as LazyFrames, returning a LazyFrame.",
    )
    ops: list[Op] | None = Field(
        default=None,
        description="Declarative Polars operations applied in order to the first input.",
    )
    inputs: list[Name] | None = Field(
        default=None,
        description="Names of sources or transforms read; inferred from SQL when omitted.",
    )
    expect: list[CheckRef] = Field(default_factory=list, description="Checks run on the output.")
    tests: list[TransformTest] = Field(
        default_factory=list, description="Unit tests run by 'dagwright test'."
    )
    description: str | None = None

    @model_validator(mode="after")
    def _one_body(self) -> Transform:
        bodies = [k for k in ("sql", "sql_file", "polars", "ops") if getattr(self, k)]
        if len(bodies) != 1:
            found = ", ".join(bodies) if bodies else "none"
            raise ValueError(
                f"a transform needs exactly one of sql, sql_file, polars, ops (found {found})"
            )
        if self.polars and ":" not in self.polars:
            raise ValueError(f"polars must be 'module:function', got {self.polars!r}")
        if (self.polars or self.ops) and self.inputs is None:
            raise ValueError(f"a {self.kind} transform needs 'inputs' (the names it reads)")
        if self.pushdown and self.kind != "sql":
            raise ValueError("pushdown applies to SQL steps only")
        return self

    @property
    def kind(self) -> Literal["sql", "polars", "ops"]:
        if self.polars:
            return "polars"
        return "ops" if self.ops else "sql"

    @property
    def local_sql(self) -> bool:
        """A SQL step run on DuckDB in the run's process (not pushed down): with a run
        workspace it reads and writes the workspace's tables."""
        return self.kind == "sql" and not self.pushdown


class Load(SpecModel):
    """A destination table filled from a source or transform."""

    from_: Name = Field(alias="from", description="The source or transform to load.")
    write: WriteDisposition = Field(default="append", description="How rows reach the table.")
    primary_key: list[str] = Field(default_factory=list, description="Key for merge and scd2.")
    merge_key: list[str] = Field(
        default_factory=list,
        description="delete_insert: rows of the table whose key appears in the batch are replaced.",
    )
    interval_column: str | None = Field(
        default=None,
        description="delete_insert: replace the rows whose column falls inside the data interval.",
    )
    hard_delete_column: str | None = Field(
        default=None,
        description=(
            "merge and scd2: a boolean column of the batch; rows where it is true delete "
            "their key (merge) or close its current version (scd2)."
        ),
    )
    retire_absent: bool = Field(
        default=False,
        description="scd2: the batch is a full snapshot; keys missing from it are closed.",
    )
    partition_by: list[str] = Field(
        default_factory=list,
        description="Parquet destinations: columns that name the partition folders (col=value).",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Declared types of the table's columns (SQL type names as DuckDB writes them: "
            "DECIMAL(12, 2), BIGINT, VARCHAR, TIMESTAMPTZ...): the table takes these, not "
            "the types its first batch happens to have; values are cast as they load."
        ),
    )
    indexes: list[list[str] | str] = Field(
        default_factory=list,
        description=(
            "PostgreSQL and MySQL: indexes created with the table, each a column or a list "
            "of columns. merge and scd2 tables there also get a PRIMARY KEY constraint."
        ),
    )
    cluster_by: list[str] = Field(
        default_factory=list,
        description="Snowflake: the table's clustering key, set when it is created.",
    )
    schema_contract: SchemaContract = Field(
        default="evolve",
        description=(
            "What a change in the incoming columns does: evolve (add columns, widen types "
            "where safe), freeze (fail, listing the differences), discard_columns (load the "
            "table's columns only)."
        ),
    )
    lineage: bool = Field(
        default=True,
        description=(
            "Add _dagwright_load_id and _dagwright_loaded_at columns to every row. false "
            "writes the batch's columns only (on DuckDB, 0.05-0.1 s less per million rows: "
            "the load id is a string stored on each row)."
        ),
    )
    snapshot: bool = Field(
        default=False,
        description=(
            "append: each run adds everything its sources return, as a new snapshot "
            "(told apart by _dagwright_load_id). Needed, and only allowed, when nothing "
            "bounds what the sources read: no incremental cursor or interval, and no single "
            "file source (whose files a table takes once)."
        ),
    )
    expect: list[CheckRef] = Field(default_factory=list, description="Checks run after load.")

    @model_validator(mode="after")
    def _keys(self) -> Load:
        if self.write in ("merge", "scd2") and not self.primary_key:
            raise ValueError(f"write: {self.write} needs primary_key")
        if self.write == "delete_insert" and not (self.merge_key or self.interval_column):
            raise ValueError("write: delete_insert needs merge_key or interval_column")
        if self.hard_delete_column and self.write not in ("merge", "scd2"):
            raise ValueError("hard_delete_column applies to write: merge and scd2 only")
        if self.retire_absent and self.write != "scd2":
            raise ValueError("retire_absent applies to write: scd2 only")
        if self.snapshot and self.write != "append":
            raise ValueError("snapshot applies to write: append only")
        return self

    @field_validator("columns")
    @classmethod
    def _types(cls, columns: dict[str, str]) -> dict[str, str]:
        for column, text in columns.items():
            problem = _type_problem(text)
            if problem:
                raise ValueError(f"{column}: {problem}")
        return columns

    def index_columns(self) -> list[list[str]]:
        return [[i] if isinstance(i, str) else list(i) for i in self.indexes]


def _type_problem(text: str) -> str | None:
    """Why ``text`` is not a SQL type name, or ``None``."""
    import sqlglot.expressions as exp
    from sqlglot.errors import ParseError

    try:
        parsed = exp.DataType.build(text, dialect="duckdb")
    except (ParseError, ValueError):
        return f"{text!r} is not a SQL type; hint: write it as DuckDB does, e.g. DECIMAL(12, 2)"
    if parsed.this == exp.DType.USERDEFINED:
        return f"{text!r} is not a SQL type DuckDB knows; hint: e.g. BIGINT, VARCHAR, DOUBLE"
    return None
