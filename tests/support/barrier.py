"""Polars transforms that only finish when two of them run at the same time."""

from __future__ import annotations

import threading

import polars as pl

BARRIER = threading.Barrier(2, timeout=20)


def left(orders: pl.LazyFrame) -> pl.LazyFrame:
    BARRIER.wait()
    return orders.select("order_id")


def right(orders: pl.LazyFrame) -> pl.LazyFrame:
    BARRIER.wait()
    return orders.select("customer_id")
