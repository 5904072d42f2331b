"""Polars transforms of the example shop pipeline."""

from __future__ import annotations

import polars as pl


def daily_revenue(order_revenue: pl.LazyFrame) -> pl.LazyFrame:
    """Revenue, orders and customers per day and segment."""
    return (
        order_revenue.with_columns(pl.col("ordered_at").dt.date().alias("order_date"))
        .group_by("order_date", "segment")
        .agg(
            pl.col("revenue").sum().round(2).alias("revenue"),
            pl.col("order_id").n_unique().alias("orders"),
            pl.col("customer_id").n_unique().alias("customers"),
        )
        .sort("order_date", "segment")
    )
