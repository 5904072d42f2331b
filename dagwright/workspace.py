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

An output that one ``replace`` load takes whole has a *home* instead (``homes``): a table
of the warehouse file itself, in the load's schema, under a reserved name. The load then
renames it into place rather than copying every row (as dbt builds a table beside its
target and swaps it in). A home is dropped when its readers are done if the load did not
take it, when the workspace closes, and, after a killed run, when the next one opens.
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
HOME_PREFIX = "__dagwright_work_"
STALE_HOMES = """SELECT schema_name, table_name FROM duckdb_tables()
    WHERE database_name = current_database() AND starts_with(table_name, ?)"""
SCHEMA_EXISTS = """SELECT COUNT(*) FROM duckdb_schemas()
    WHERE database_name = current_database() AND schema_name = ?"""
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
    where: exp.Table | None
    """The table holding the rows: in the in-memory catalog, or a home in the warehouse."""
    factory: Factory | None
    explain: Explain | None
    rows: int | None
    fingerprint: str
    parquet: bool = False
    """Its Parquet file has been written at ``uri``."""
    home: bool = False
    """``where`` is a table of the warehouse file that its load may rename into place."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def qualified(self) -> str | None:
        return self.where.sql(dialect="duckdb") if self.where is not None else None


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
        self.homes: dict[str, exp.Table] = {}
        """Outputs (by URI) to store as tables of the warehouse file, where their load is."""
        with self.cursor() as cur:
            cur.execute(render(ATTACH, "duckdb", catalog=self.catalog))

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the warehouse; a stage's timeout interrupts what runs on it."""
        from dagwright.timeouts import cancellable

        cur = self.con.cursor()
        try:
            with cancellable(cur.interrupt):
                yield cur
        finally:
            cur.close()

    def table(self, name: str) -> exp.Table:
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident

        return exp.Table(this=ident(name), db=ident("main"), catalog=ident(self.catalog))

    def place(self, uri: str, target: exp.Table, run_id: str) -> bool:
        """Store ``uri``'s output as a home next to ``target`` (its one replace load's table).

        Not when ``target``'s schema does not exist yet: the load creates it, in its own
        transaction.
        """
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident

        schema = target.args.get("db")
        if schema is not None:
            with self.cursor() as cur:
                if not cur.execute(SCHEMA_EXISTS, [schema.name]).fetchall()[0][0]:
                    return False
        name = f"{HOME_PREFIX}{run_id}_{table_name(uri)}"
        self.homes[uri] = exp.Table(this=ident(name), db=schema.copy() if schema else None)
        return True

    def drop_stale_homes(self) -> list[str]:
        """Drop the homes a killed run left in the warehouse file; return their names.

        Called only by a run holding the file alone, so no live run owns one.
        """
        import sqlglot.expressions as exp

        from dagwright.sql.render import ident, render

        dropped = []
        with self.cursor() as cur:
            for schema, name in cur.execute(STALE_HOMES, [HOME_PREFIX]).fetchall():
                stale = exp.Table(this=ident(name), db=ident(schema))
                cur.execute(render("DROP TABLE IF EXISTS :t", "duckdb", t=stale))
                dropped.append(f"{schema}.{name}")
        return dropped

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
        assert item.where is not None
        return cur.sql(render("SELECT * FROM :t", "duckdb", t=item.where))

    def expose(self, cur: duckdb.DuckDBPyConnection, name: str, uri: str) -> None:
        """Make ``uri``'s rows readable as ``name`` by the queries of ``cur`` (a TEMP view)."""
        from dagwright.spool import fetch
        from dagwright.sql.render import render

        item = entry(uri)
        if item is None or item.workspace is not self:
            cur.register(name, cur.read_parquet(fetch(uri)))
        elif item.factory is not None:
            cur.register(name, item.factory(cur))
        else:
            assert item.where is not None
            view = "CREATE OR REPLACE TEMP VIEW :name AS SELECT * FROM :t"
            cur.execute(render(view, "duckdb", name=name, t=item.where))

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
        """Materialise a query's rows, run on ``cur``, as the workspace table of ``uri``
        (or as its home, see ``place``)."""
        home = self.homes.get(uri)
        where = home if home is not None else self.table(table_name(uri))
        created = f"CREATE TABLE {where.sql(dialect='duckdb')} AS {sql}"
        rows = int(cur.execute(created, params).fetchall()[0][0])
        fingerprint = self._fingerprint(where)
        return self._register(
            Entry(self, uri, where, None, explain, rows, fingerprint, home=home is not None)
        )

    def materialise(self, item: Entry) -> str:
        """Write the entry's Parquet file at its URI, once; return the local path."""
        from dagwright.spool import open_output

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
        """Free an output every consumer has read (its Parquet file, if written, stays).

        A home its load renamed into place is gone already; one it did not is dropped.
        """
        from dagwright.sql.render import render

        with _ENTRIES_LOCK:
            item = _ENTRIES.get(uri)
            if item is None or item.workspace is not self:
                return
            del _ENTRIES[uri]
        if item.where is not None:
            with self.cursor() as cur:
                cur.execute(render("DROP TABLE IF EXISTS :t", "duckdb", t=item.where))

    def keep(self) -> None:
        """Write every stored output still held to its Parquet file: a failed run's
        staging keeps what its stages computed, to be inspected (``dagwright staging``)."""
        with _ENTRIES_LOCK:
            mine = [i for i in _ENTRIES.values() if i.workspace is self and i.where is not None]
        for item in mine:
            with suppress(Exception):
                self.materialise(item)

    def close(self) -> None:
        """Forget every output, drop the homes left, detach the catalog (its memory is freed)."""
        from dagwright.sql.render import render

        with _ENTRIES_LOCK:
            mine = [_ENTRIES.pop(u) for u, i in list(_ENTRIES.items()) if i.workspace is self]
        homes = [i.where for i in mine if i.home]
        with suppress(Exception), self.cursor() as cur:
            for home in homes:
                cur.execute(render("DROP TABLE IF EXISTS :t", "duckdb", t=home))
            cur.execute(render("DETACH :catalog", "duckdb", catalog=self.catalog))


def _shape(rel: duckdb.DuckDBPyRelation) -> str:
    """A schema fingerprint from the relation's bound column types (nothing is read)."""
    import hashlib

    text = ",".join(f"{name}:{kind}" for name, kind in zip(rel.columns, rel.types, strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
