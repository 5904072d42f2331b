"""Small Arrow tables from Python rows, without pyarrow importing pandas.

pyarrow imports pandas (about 0.3 s) the first time it converts any Python value to
Arrow (``pa.array``, ``pa.table`` of lists, ``Table.from_pylist``), to ask whether the
value is a pandas object. A run needs pandas for nothing else, so the few rows it writes
beside the data (check results, validations) go through Arrow's JSON reader instead,
which parses in C++ into the given schema.
"""

from __future__ import annotations

import io
import json
import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def arrow_rows(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """``rows`` (dicts of ``None``, ``bool``, ``int``, ``float``, ``str``, dates and
    datetimes) as a table of ``schema``; a key missing from a row is a null."""
    import pyarrow.json as pj

    if not rows:
        return schema.empty_table()
    text = "\n".join(json.dumps({k: _plain(v) for k, v in r.items()}) for r in rows)
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    table = pj.read_json(io.BytesIO(text.encode()), parse_options=options)
    return table.select(schema.names).cast(schema)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value
