"""Run parameters: typed values a spec declares, bound into SQL steps like the interval.

A spec declares ``params: {threshold: 100}`` (the type from the default) or
``params: {threshold: {type: number, default: 100}}``; a run may override each with
``dagwright run --param threshold=250`` or an Airflow DAG param. SQL steps name them as
they name the interval (``$threshold``, ``:threshold``...), always as bound values.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from dagwright.spec.types import SpecModel

ParamType = Literal["string", "integer", "number", "boolean", "date", "timestamp"]
Scalar = str | int | float | bool | date | datetime


class Param(SpecModel):
    """A declared parameter: its type and the value a run uses unless told otherwise."""

    type: ParamType | None = Field(default=None, description="By default, the default's type.")
    default: Scalar | None = Field(default=None, description="Used when a run gives no value.")
    description: str | None = None

    @model_validator(mode="after")
    def _typed(self) -> Param:
        if self.type is None and self.default is None:
            raise ValueError("a parameter needs a type or a default (e.g. {type: integer})")
        if self.default is not None:
            coerce(self.kind, self.default)
        return self

    @property
    def kind(self) -> ParamType:
        return self.type or type_of(self.default)


def type_of(value: Any) -> ParamType:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, date):
        return "date"
    return "string"


def coerce(kind: ParamType, value: Any) -> Any:
    """``value`` (from YAML, the CLI's text, or Airflow) as a ``kind``; ``ValueError`` if not."""
    text = value if isinstance(value, str) else None
    try:
        if kind == "string":
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if text is not None and text.lower() in ("true", "false", "1", "0", "yes", "no"):
                return text.lower() in ("true", "1", "yes")
            raise ValueError
        if kind == "integer":
            if isinstance(value, (bool, float)):
                raise ValueError
            return int(value)
        if kind == "number":
            if isinstance(value, bool):
                raise ValueError
            return float(value) if not isinstance(value, int) else value
        if kind == "date":
            if isinstance(value, datetime):
                raise ValueError
            return value if isinstance(value, date) else date.fromisoformat(str(text))
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        return datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a {kind}") from None


def declared(raw: dict[str, Param | Scalar]) -> dict[str, Param]:
    """Each declared parameter as a ``Param`` (a bare value is its default)."""
    return {
        name: p if isinstance(p, Param) else Param(default=p)  # type: ignore[arg-type]
        for name, p in raw.items()
    }


def resolve(raw: dict[str, Param | Scalar], given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values of a run: the defaults, overridden by ``given``; names lowercased as SQL
    binds them. ``ValueError`` names an unknown parameter, a value of the wrong type, or
    one with no default left unset."""
    from dagwright.errors import did_you_mean

    params = declared(raw)
    given = dict(given or {})
    unknown = sorted(set(given) - set(params))
    if unknown:
        known = ", ".join(params) or "none"
        raise ValueError(
            f"unknown parameter {unknown[0]!r}{did_you_mean(unknown[0], list(params))}; "
            f"the spec declares: {known}"
        )
    values: dict[str, Any] = {}
    for name, param in params.items():
        value = given.get(name, param.default)
        if value is None:
            raise ValueError(f"parameter {name!r} has no default: pass --param {name}=VALUE")
        try:
            values[name.lower()] = coerce(param.kind, value)
        except ValueError as exc:
            raise ValueError(f"parameter {name!r}: {exc}") from None
    return values


def run_values(spec: Any, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """``resolve`` for a run of a ``PipelineSpec``: a bad value is a ``ConfigError``
    naming the spec's file."""
    from dagwright.errors import ConfigError

    try:
        return resolve(spec.model.params, given)
    except ValueError as exc:
        raise ConfigError(f"{spec.path}: {exc}") from None


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` from the command line; ``ValueError`` for a pair without ``=``."""
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param {pair!r}: write NAME=VALUE")
        given[name.strip()] = value
    return given
