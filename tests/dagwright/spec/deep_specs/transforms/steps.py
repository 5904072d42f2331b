"""Polars steps of the deep-validation corpus."""

import polars as pl


def by_customer(orders: pl.LazyFrame) -> pl.LazyFrame:
    return orders.group_by("customer_id").agg(pl.col("amount").sum())


def misspelt(orders: pl.LazyFrame) -> pl.LazyFrame:
    return orders.select(pl.col("amount_eur") * 2)


def one_input(orders: pl.LazyFrame) -> pl.LazyFrame:
    return orders
