"""The workspace: stage outputs handed over inside the warehouse's own DuckDB instance.

When the local runner holds a DuckDB warehouse open for a whole run, its stages run in
one process and exchange data as tables of an in-memory catalog attached to that
database instance, instead of Parquet files. An attached catalog is visible to every
cursor of the instance (a TEMP object belongs to one connection, so a stage on another
thread could not read it); being ``:memory:``, nothing of it reaches the warehouse file
and it vanishes with the process, killed or not.

A workspace output keeps the URI its Parquet file would have had; ``staging.local_path``
writes that file on demand, once, for the consumers that read Parquet (polars steps,
checks, other loaders). A source read only by one SQL step may stay a lazy relation that
the step's query reads directly (``add_lazy``), so its parse streams into the query.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import sqlglot.expressions as exp

Factory = Callable[[Any], Any]
"""Builds a source's DuckDB relation on a given cursor (``duckdb`` types, imported lazily)."""
Explain = Callable[[Exception], Exception | None]
"""A source's reading of an engine error: a readable error when it is about the source."""

ATTACH = "ATTACH ':memory:' AS :catalog"
OUT_VIEW = "__dagwright_out"
BATCH_ROWS = 100_000
_SEQ = itertools.count(1)
_ENTRIES: dict[str, Entry] = {}
_ENTRIES_LOCK = threading.Lock()


@dataclass
class Entry:
    """One stage output held by a workspace: a table, or a lazy relation (``factory``)."""

    workspace: Workspace
    uri: str
    table: str | None
    factory: Factory | None
    explain: Explain | None
    rows: int | None
    fingerprint: str
    parquet: bool = False
    """Its Parquet file has been written at ``uri``."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def qualified(self) -> str | None:
        return self.workspace.qualified(self.table) if self.table else None


def table_name(uri: str) -> str:
    """A stage output's table in the workspace: its staged file's name (the stage id)."""
    return uri.rsplit("/", 1)[-1].removesuffix(".parquet")


def entry(uri: str) -> Entry | None:
    """The workspace entry behind ``uri`` in this process, if any."""
    return _ENTRIES.get(uri)


class Workspace:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        from dagwright.sql.render import render

        self.con = con
        self.catalog = f"dagwright_ws_{next(_SEQ)}"
        with self.cursor() as cur:
            cur.execute(render(ATTACH, "duckdb", catalog=self.catalog))

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def table(self, name: str) -> exp.Table:
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident

        return exp.Table(this=ident(name), db=ident("main"), catalog=ident(self.catalog))

    def qualified(self, name: str) -> str:
        return self.table(name).sql(dialect="duckdb")

    def _register(self, item: Entry) -> Entry:
        with _ENTRIES_LOCK:
            _ENTRIES[item.uri] = item
        return item

    def add_lazy(self, uri: str, factory: Factory, explain: Explain | None = None) -> Entry:
        """A source read where it is consumed, and only there.

        It is not bound here: binding a CSV source sniffs its files (a second of wall time
        on a busy machine), and the step that reads it binds it again on its own cursor
        (DuckDB binds a relation per connection). Its problems show in that step, under
        the source's name; its schema fingerprint stays unknown ("").
        """
        return self._register(Entry(self, uri, None, factory, explain, None, ""))

    def add_relation(self, uri: str, build: Factory, explain: Explain | None = None) -> Entry:
        """Materialise the relation ``build`` makes into the workspace table of ``uri``."""
        import duckdb

        with self.cursor() as cur:
            try:
                return self.store(cur, build(cur), uri, explain)
            except duckdb.Error as exc:
                readable = explain(exc) if explain else None
                if readable is None:
                    raise
                raise readable from None

    def _fingerprint(self, target: exp.Table) -> str:
        from dagwright.sql.render import render

        with self.cursor() as cur:
            return _shape(cur.sql(render("SELECT * FROM :t", "duckdb", t=target)))

    def relation(self, cur: duckdb.DuckDBPyConnection, item: Entry) -> duckdb.DuckDBPyRelation:
        """The entry's rows as a relation on ``cur``."""
        from dagwright.sql.render import render

        if item.factory is not None:
            return item.factory(cur)
        assert item.table is not None
        return cur.sql(render("SELECT * FROM :t", "duckdb", t=self.table(item.table)))

    def expose(self, cur: duckdb.DuckDBPyConnection, name: str, uri: str) -> None:
        """Make ``uri``'s rows readable as ``name`` by the queries of ``cur`` (a TEMP view)."""
        from dagwright.sql.render import render
        from dagwright.staging import local_path

        item = entry(uri)
        if item is None or item.workspace is not self:
            cur.register(name, cur.read_parquet(local_path(uri)))
        elif item.factory is not None:
            cur.register(name, item.factory(cur))
        else:
            assert item.table is not None
            view = "CREATE OR REPLACE TEMP VIEW :name AS SELECT * FROM :t"
            cur.execute(render(view, "duckdb", name=name, t=self.table(item.table)))

    def explain(self, exc: Exception, uris: list[str]) -> Exception | None:
        """An error raised while a query read lazy sources, as the source that failed says it."""
        for item in (entry(u) for u in uris):
            if item is not None and item.factory is not None and item.explain is not None:
                readable = item.explain(exc)
                if readable is not None:
                    return readable
        return None

    def store(
        self,
        cur: duckdb.DuckDBPyConnection,
        rel: duckdb.DuckDBPyRelation,
        uri: str,
        explain: Explain | None = None,
    ) -> Entry:
        """Materialise a query's relation on ``cur`` as the workspace table of ``uri``."""
        from dagwright.sql.render import render

        cur.register(OUT_VIEW, rel)
        return self.store_query(
            cur, render("SELECT * FROM :v", "duckdb", v=OUT_VIEW), None, uri, explain
        )

    def store_query(
        self,
        cur: duckdb.DuckDBPyConnection,
        sql: str,
        params: Any,
        uri: str,
        explain: Explain | None = None,
    ) -> Entry:
        """Materialise a query's rows, run on ``cur``, as the workspace table of ``uri``."""
        name = table_name(uri)
        created = f"CREATE TABLE {self.qualified(name)} AS {sql}"
        rows = int(cur.execute(created, params).fetchall()[0][0])
        return self._register(
            Entry(self, uri, name, None, explain, rows, self._fingerprint(self.table(name)))
        )

    def materialise(self, item: Entry) -> str:
        """Write the entry's Parquet file at its URI, once; return the local path."""
        from dagwright.staging import open_output

        path = open_output(item.uri)
        with item.lock:
            if not item.parquet:
                with self.cursor() as cur:
                    try:
                        self.relation(cur, item).write_parquet(path)
                    except Exception as exc:
                        readable = item.explain(exc) if item.explain else None
                        if readable is None:
                            raise
                        raise readable from None
                item.parquet = True
        return path

    def batches(self, item: Entry, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        with self.cursor() as cur:
            rel = self.relation(cur, item)
            if columns is not None:
                import duckdb

                rel = rel.project(*[duckdb.ColumnExpression(c) for c in columns])
            yield from rel.to_arrow_reader(batch_size=BATCH_ROWS)  # type: ignore[attr-defined]

    def release(self, uri: str) -> None:
        """Free an output every consumer has read (its Parquet file, if written, stays)."""
        from dagwright.sql.render import render

        with _ENTRIES_LOCK:
            item = _ENTRIES.get(uri)
            if item is None or item.workspace is not self:
                return
            del _ENTRIES[uri]
        if item.table:
            with self.cursor() as cur:
                cur.execute(render("DROP TABLE IF EXISTS :t", "duckdb", t=self.table(item.table)))

    def close(self) -> None:
        """Forget every output and detach the catalog (its memory is freed)."""
        from dagwright.sql.render import render

        with _ENTRIES_LOCK:
            for uri in [u for u, i in _ENTRIES.items() if i.workspace is self]:
                del _ENTRIES[uri]
        with suppress(Exception), self.cursor() as cur:
            cur.execute(render("DETACH :catalog", "duckdb", catalog=self.catalog))


def _shape(rel: duckdb.DuckDBPyRelation) -> str:
    """A schema fingerprint from the relation's bound column types (nothing is read)."""
    import hashlib

    text = ",".join(f"{name}:{kind}" for name, kind in zip(rel.columns, rel.types, strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
