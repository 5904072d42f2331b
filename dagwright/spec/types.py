"""Small shared types for spec models: names, durations, check references."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
Name = Annotated[
    str,
    StringConstraints(pattern=NAME_PATTERN, max_length=128),
    Field(description="A name: letters, digits and underscores, not starting with a digit."),
]
TableName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    Field(description="A destination table, optionally schema-qualified as 'schema.table'."),
]
Severity = Literal["error", "warn", "quarantine"]

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(value: Any) -> Any:
    try:
        if isinstance(value, str):
            match = _DURATION.match(value)
            if match and any(match.groups()):
                days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
                return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
            raise ValueError(
                f"{value!r} is not a duration: write e.g. '90s', '5m', '1h30m', '2d', "
                "or seconds as an integer"
            )
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueError(f"{value} is a negative duration: durations count forward")
            return timedelta(seconds=value)
    except OverflowError:
        raise ValueError(f"{value!r} is longer than any duration can be") from None
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    Field(
        json_schema_extra={"type": ["string", "integer"]},
        description="A duration such as '90s', '5m', '1h30m', '2d', or seconds as an integer.",
    ),
]


class SpecModel(BaseModel):
    """Base of every spec section: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


CheckRef = Annotated[
    str | dict[str, Any],
    Field(
        description=(
            "A suite name from expectations/<name>.yaml, {suite: NAME, severity: ...}, "
            "or one inline expectation such as "
            "{expect_column_values_to_not_be_null: {column: id}, severity: warn}. "
            "engine: great_expectations beside either runs it in Great Expectations "
            "even where dagwright evaluates it natively."
        )
    ),
]
