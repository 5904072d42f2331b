"""``dagwright connections [--test]``: the connections the specs name, where each is
defined, its URL with the password masked, and (``--test``) whether it answers."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "connections", help="list the connections the specs name (masked); --test reaches them"
    )
    p.add_argument("--test", action="store_true", help="connect to each and report the outcome")
    p.set_defaults(handler=handle)


@dataclass
class Named:
    name: str
    used_by: list[str]
    example: str


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from dagwright.connections import env_var, resolve
    from dagwright.dotenv import LOADED
    from dagwright.errors import DagwrightError
    from dagwright.project import pipeline_specs
    from dagwright.secrets import mask

    specs, problems = pipeline_specs(args.project, None)
    named: dict[str, Named] = {}
    for spec in specs:
        places = [(f"{spec.name}.sources.{n}", c) for n, c in spec.model.sources.items()]
        places.append((f"{spec.name}.destination", spec.model.destination))
        for where, config in places:
            name = getattr(config, "connection", None)
            if isinstance(name, str):
                entry = named.setdefault(name, Named(name, [], _example(config)))
                entry.used_by.append(where)
    table = Table("connection", "defined in", "URL (masked)", "used by", *(["test"] * args.test))
    failed = 0
    for entry in sorted(named.values(), key=lambda e: e.name):
        var = env_var(entry.name)
        try:
            conn = resolve(entry.name, entry.example)
        except DagwrightError as exc:
            failed += 1
            cells = ["not defined", Text(mask(str(exc)), style="red"), ", ".join(entry.used_by)]
            table.add_row(entry.name, *cells, *(["-"] * args.test))
            continue
        import os

        origin = f".env ({var})" if var in LOADED else var if var in os.environ else "Airflow"
        tested = []
        if args.test:
            ok, said = probe(conn)
            failed += not ok
            tested = [Text(mask(said), style="green" if ok else "red")]
        table.add_row(entry.name, origin, conn.safe_url, ", ".join(entry.used_by), *tested)
    console = Console(highlight=False)
    if named:
        console.print(table)
    else:
        console.print("no spec names a connection (file sources and DuckDB need none)")
    for problem in problems:
        console.print(Text(f"{problem}", style="red"))
    return 1 if failed else 0


def _example(config: Any) -> str:
    kind = getattr(config, "extractor", None) or getattr(config, "loader", "")
    if kind == "http":
        return "https://user:token@api.example.com"
    if kind == "sqlite":
        return "sqlite:///data/shop.db"
    return "postgresql://user:password@host:5432/db"


def probe(conn: Any) -> tuple[bool, str]:
    """Reach the connection once: PostgreSQL answers ``SELECT 1``, an HTTP API any status."""
    import time

    started = time.perf_counter()
    scheme = conn.scheme.split("+", 1)[0]
    try:
        if scheme in ("postgres", "postgresql"):
            import psycopg

            with psycopg.connect(conn.with_scheme("postgresql").url, connect_timeout=5) as con:
                con.execute("SELECT 1")
            return True, f"ok ({time.perf_counter() - started:.2f}s)"
        if scheme in ("http", "https"):
            import httpx

            response = httpx.get(conn.url, timeout=5)
            return True, f"HTTP {response.status_code} ({time.perf_counter() - started:.2f}s)"
        if scheme == "sqlite":
            from pathlib import Path

            found = Path(conn.database or "").is_file()
            return found, "file found" if found else f"no file {conn.database}"
    except ImportError as exc:
        return False, f"cannot test: {exc.name} is not installed"
    except Exception as exc:  # noqa: BLE001 - the outcome of the test, shown masked
        return False, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
    return True, f"not tested ({scheme} connections are not probed)"
