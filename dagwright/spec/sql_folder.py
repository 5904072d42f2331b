"""The ``sql_folder`` transforms entry: a folder or glob of .sql files, one SQL step each.

It exists only while a spec is read: ``dagwright.spec.expand`` turns it into ordinary SQL
steps and loads, so the planner, runners and Airflow never see a folder.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, create_model

from dagwright.spec.sections import Load, Transform
from dagwright.spec.types import CheckRef, Name, SpecModel

ENTRY_TAGS = ("transform step", "sql folder")
"""Tags pydantic puts in error locations to tell the two kinds of transforms entry apart:
they contain a space, so no spec key is mistaken for them (``dagwright.spec.load``)."""

DEFAULT_WRITE = "replace"
"""A folder's steps are whole query results: each run replaces its table."""


def _load_options() -> type[SpecModel]:
    """Every option of a load but its input (the file's step), each optional, plus ``table``:
    the options a load gets from its folder's ``load:``, then from ``loads.<file>``. Built
    from ``Load`` so that a new load option applies to folders too."""
    fields: dict[str, Any] = {
        name: (info.annotation | None, Field(default=None, description=info.description))
        for name, info in Load.model_fields.items()
        if name != "from_"
    }
    fields["write"] = (
        fields["write"][0],
        Field(default=None, description=f"How rows reach the table ({DEFAULT_WRITE} by default)."),
    )
    return create_model(
        "SqlFolderLoad",
        __base__=SpecModel,
        __doc__="The load of a sql_folder's steps: any option of a load but 'from'.",
        table=(
            str | None,
            Field(
                default=None,
                min_length=1,
                description="The destination table; {name} is the file's stem ('{name}' by "
                "default).",
            ),
        ),
        **fields,
    )


SqlFolderLoad = _load_options()


class SqlFolder(SpecModel):
    """A folder or glob of .sql files: one SQL step per file, named after the file's stem,
    each loaded into a table of its own. The files' dependencies come from their SQL."""

    sql_folder: str = Field(
        min_length=1,
        description=(
            "A folder (its *.sql files) or a glob such as sql/tpch/*.sql, relative to the "
            "project root; each file becomes a SQL step named after its stem."
        ),
    )
    dialect: str = Field(default="duckdb", description="The SQL dialect the files are written in.")
    pushdown: bool = Field(
        default=False,
        description=(
            "Run every file in the destination: the SQL reads loaded tables (another "
            "file's table, by default its stem)."
        ),
    )
    expect: list[CheckRef] = Field(
        default_factory=list, description="Checks run on every step's output."
    )
    description: str | None = None
    load: SqlFolderLoad = Field(  # type: ignore[valid-type]
        default_factory=SqlFolderLoad,
        description=(
            "The load of every step: a table per file, '{name}' (the stem) and write: "
            f"{DEFAULT_WRITE} unless set here."
        ),
    )
    loads: dict[Name, SqlFolderLoad | None] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description=(
            "Per file stem, options that override 'load' for that file's table; null: "
            "the file's step is not loaded."
        ),
    )


def entry_kind(value: Any) -> Literal["transform step", "sql folder"]:
    """Which model a transforms entry is validated with (its ``ENTRY_TAGS`` tag): a folder
    if it names one."""
    if isinstance(value, dict):
        return "sql folder" if "sql_folder" in value else "transform step"
    return "sql folder" if isinstance(value, SqlFolder) else "transform step"


TransformEntry = Annotated[
    Annotated[Transform, Tag(ENTRY_TAGS[0])] | Annotated[SqlFolder, Tag(ENTRY_TAGS[1])],
    Discriminator(entry_kind),
]
"""A ``transforms:`` entry as written: one step, or a folder of SQL steps."""
