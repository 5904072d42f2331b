"""Spec sections that are not plugins: transforms and loads."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dagwright.spec.types import CheckRef, Name, SpecModel

WriteDisposition = Literal["append", "replace", "merge", "delete_insert", "scd2"]
SchemaContract = Literal["evolve", "freeze", "discard_columns"]


class Transform(SpecModel):
    """One named output computed from named inputs, in SQL or in Polars."""

    sql: str | None = Field(default=None, description="SQL text; inputs are referred to by name.")
    sql_file: str | None = Field(
        default=None, description="Path of a .sql file, relative to the project root."
    )
    dialect: str = Field(default="duckdb", description="The SQL dialect the step is written in.")
    polars: str | None = Field(
        default=None,
        description="'module:function' taking the inputs as LazyFrames, returning a LazyFrame.",
    )
    inputs: list[Name] | None = Field(
        default=None,
        description="Names of sources or transforms read; inferred from SQL when omitted.",
    )
    expect: list[CheckRef] = Field(default_factory=list, description="Checks run on the output.")
    description: str | None = None

    @model_validator(mode="after")
    def _one_body(self) -> Transform:
        bodies = [k for k in ("sql", "sql_file", "polars") if getattr(self, k)]
        if len(bodies) != 1:
            found = ", ".join(bodies) if bodies else "none"
            raise ValueError(
                f"a transform needs exactly one of sql, sql_file, polars (found {found})"
            )
        if self.polars and ":" not in self.polars:
            raise ValueError(f"polars must be 'module:function', got {self.polars!r}")
        if self.polars and self.inputs is None:
            raise ValueError("a polars transform needs 'inputs' (the names it reads)")
        return self

    @property
    def kind(self) -> Literal["sql", "polars"]:
        return "polars" if self.polars else "sql"


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
    schema_contract: SchemaContract = Field(
        default="evolve", description="What a change in the incoming columns does."
    )
    lineage: bool = Field(
        default=True, description="Add _dagwright_load_id and _dagwright_loaded_at columns."
    )
    expect: list[CheckRef] = Field(default_factory=list, description="Checks run after load.")

    @model_validator(mode="after")
    def _keys(self) -> Load:
        if self.write in ("merge", "scd2") and not self.primary_key:
            raise ValueError(f"write: {self.write} needs primary_key")
        if self.write == "delete_insert" and not (self.merge_key or self.interval_column):
            raise ValueError("write: delete_insert needs merge_key or interval_column")
        return self
