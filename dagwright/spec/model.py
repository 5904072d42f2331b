"""The pipeline model: the single source of truth for specs and their JSON Schema.

Source and destination sections are tagged unions of the installed plugins' config
models, so every plugin's options are validated and documented in the schema.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Union

from pydantic import Field, create_model

from dagwright import plugins
from dagwright.spec.params import Param, Scalar
from dagwright.spec.sections import Load, Transform
from dagwright.spec.sql_folder import TransformEntry
from dagwright.spec.types import Duration, Name, SpecModel, TableName

SCHEDULE_PRESETS = (
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
)


class PipelineBase(SpecModel):
    """Fields every pipeline has; ``sources`` and ``destination`` are added per plugin set."""

    pipeline: Name = Field(description="The pipeline's name, which is also its Airflow dag_id.")
    description: str | None = None
    schedule: str | list[str] | None = Field(
        default=None,
        description=(
            "A cron expression, a preset (@daily, @hourly, ...), a list of asset names "
            "(run when those tables are loaded), or null for manual runs only."
        ),
    )
    start_date: date | datetime = Field(description="First data interval starts here.")
    end_date: date | datetime | None = None
    catchup: bool = Field(default=False, description="Let Airflow run every missed interval.")
    owner: str = "dagwright"
    tags: list[str] = Field(default_factory=list)
    retries: int = Field(default=0, ge=0, description="Retries of each stage task.")
    retry_delay: Duration = Field(default="5m", validate_default=True)  # type: ignore[assignment]
    execution_timeout: Duration | None = None
    pool: str | None = None
    max_active_runs: int = Field(default=1, ge=1)
    params: dict[Name, Param | Scalar] = Field(
        default_factory=dict,
        description=(
            "Run parameters bound into SQL steps like the interval ($name, :name...): a "
            "default value, or {type, default, description}; overridden with --param k=v "
            "or Airflow's DAG params."
        ),
    )
    transforms: dict[Name, Transform] = Field(
        default_factory=dict,
        description=(
            "Named steps, each a SQL or Polars transform; or a sql_folder entry, one SQL step "
            "per .sql file (expanded into steps and loads when the spec is read)."
        ),
    )
    loads: dict[TableName, Load] = Field(
        # Required unless a sql_folder entry loads its steps (``dagwright.spec.load``).
        default_factory=dict,
        min_length=1,
        description=(
            "Destination tables, each filled from a source or transform (sql_folder entries "
            "add their own)."
        ),
    )

    # Filled in by build_model(); declared for type checkers.
    sources: dict[str, Any]
    destination: Any


def _union(group: str, tag: str) -> Any:
    models = tuple(cls.config_model for cls in plugins.plugin_classes(group))
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator=tag)]  # noqa: UP007


@lru_cache(maxsize=1)
def pipeline_model() -> type[PipelineBase]:
    """The ``Pipeline`` model over the installed plugins."""
    source = _union(plugins.EXTRACTORS, "extractor")
    destination = _union(plugins.LOADERS, "loader")
    from loaders.duckdb import DuckDBConfig

    return create_model(
        "Pipeline",
        __base__=PipelineBase,
        __doc__="One pipeline: sources, transforms, checks and loads, from one YAML file.",
        # Validated as steps or folders; once the spec is read (``dagwright.spec.expand``),
        # only steps remain, as the base class declares.
        transforms=(dict[Name, TransformEntry], PipelineBase.model_fields["transforms"]),
        sources=(
            dict[Name, source],
            Field(min_length=1, description="Named sources, each read by an extractor."),
        ),
        destination=(
            destination,
            Field(
                default_factory=lambda: DuckDBConfig(),
                description="Where loads go; the embedded DuckDB warehouse by default.",
            ),
        ),
    )


def json_schema() -> dict[str, Any]:
    schema = pipeline_model().model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dagwright pipeline spec"
    return schema
