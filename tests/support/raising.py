"""A Polars step whose error text holds square brackets, as paths and lists often do."""

from __future__ import annotations

import polars as pl


def bracketed(orders: pl.LazyFrame) -> pl.LazyFrame:
    raise ValueError("closing tag '[/data/x/transform_y.parquet]' at position 3; see [docs]")
