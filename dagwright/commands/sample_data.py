"""``dagwright sample-data [DIR]``: write the example online-shop data set."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample-data", help="generate the example shop data set (CSV)")
    p.add_argument("folder", nargs="?", default="data/shop", metavar="DIR")
    p.add_argument("--orders", type=int, default=5_000, help="number of orders (default 5000)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dagwright.sample_data import ShopSize, generate

    folder = Path(args.project) / args.folder
    counts = generate(folder, ShopSize(orders=args.orders))
    for name, rows in counts.items():
        print(f"{folder / (name + '.csv')}: {rows:,} rows")
    return 0
