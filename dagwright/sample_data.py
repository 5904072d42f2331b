"""A deterministic online-shop data set for the examples, tests and demo.

Customers, products, orders and order lines as CSV, with a few deliberately dirty
values a real export has: missing emails, a blank segment, void orders, padded text.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

SEGMENTS = ["consumer", "corporate", "home_office"]
COUNTRIES = ["DE", "FR", "NL", "US", "GB", "ES"]
CATEGORIES = ["books", "garden", "kitchen", "toys", "electronics"]
STATUSES = ["paid"] * 8 + ["shipped"] * 6 + ["void", "refunded"]


@dataclass(frozen=True)
class ShopSize:
    customers: int = 1_000
    products: int = 200
    orders: int = 5_000
    start: date = date(2026, 1, 1)
    days: int = 31


def generate(folder: Path, size: ShopSize = ShopSize(), seed: int = 7) -> dict[str, int]:
    """Write customers.csv, products.csv, orders.csv and order_lines.csv; return row counts."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}

    customers = []
    for cid in range(1, size.customers + 1):
        email = f"customer{cid}@example.com" if rng.random() > 0.03 else ""
        segment = rng.choice(SEGMENTS) if rng.random() > 0.01 else ""
        name = f"Customer {cid}" if rng.random() > 0.02 else f"  Customer {cid}  "
        signup = size.start - timedelta(days=rng.randint(0, 700))
        customers.append([cid, name, email, segment, rng.choice(COUNTRIES), signup.isoformat()])
    counts["customers"] = _write(
        folder / "customers.csv",
        ["customer_id", "name", "email", "segment", "country", "signup_date"],
        customers,
    )

    products = []
    for pid in range(1, size.products + 1):
        price = round(rng.uniform(2, 400), 2)
        products.append([pid, f"Product {pid}", rng.choice(CATEGORIES), f"{price:.2f}"])
    counts["products"] = _write(
        folder / "products.csv", ["product_id", "name", "category", "unit_price"], products
    )

    orders, lines = [], []
    line_id = 0
    for oid in range(1, size.orders + 1):
        day = size.start + timedelta(days=rng.randrange(size.days))
        at = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randrange(86_400))
        status = rng.choice(STATUSES)
        orders.append([oid, rng.randint(1, size.customers), at.isoformat(sep=" "), status])
        for _ in range(rng.randint(1, 4)):
            line_id += 1
            quantity = rng.randint(1, 5) if rng.random() > 0.005 else 0
            lines.append([line_id, oid, rng.randint(1, size.products), quantity])
    counts["orders"] = _write(
        folder / "orders.csv", ["order_id", "customer_id", "ordered_at", "status"], orders
    )
    counts["order_lines"] = _write(
        folder / "order_lines.csv", ["line_id", "order_id", "product_id", "quantity"], lines
    )
    return counts


def _write(path: Path, header: list[str], rows: list[list[object]]) -> int:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)
