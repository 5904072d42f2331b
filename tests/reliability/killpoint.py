"""Run the real ``dagwright`` CLI, SIGKILLing itself at one statement on the warehouse file.

Used as ``python killpoint.py ARGS...`` (the arguments of ``dagwright``). Environment:

- ``KILL_STATEMENT=N`` and ``KILL_WHEN=before|after``: SIGKILL this process just before
  (or just after) the N-th statement any connection runs on a database file or sends to
  PostgreSQL;
  with ``KILL_WORD=COMMIT``, the N-th statement starting with that word;
- ``SLOW_STATEMENT=N`` and ``SLOW_SECONDS=S``: sleep S seconds before the N-th statement
  (with ``SLOW_WORD=COMMIT``, the N-th starting with that word): a slow run, to hold the
  warehouse while another process starts;
- ``STATEMENT_LOG=path``: append each statement's first word to ``path`` (to learn N and
  where the COMMITs are, from a clean run);
- inside check stages: ``KILL_CHUNK=N`` SIGKILLs when the N-th chunk of a validation is
  read (after the previous chunks were validated); ``KILL_APPEND=N`` with ``KILL_WHEN``
  just before or after the N-th side-table append (check results, validations, quarantine
  rows; a stage's appends share one transaction, committed after its last); ``CHECK_CHUNK_ROWS=R`` validates in chunks of R rows; ``EVENT_LOG=path`` appends
  ``chunk`` and ``append TABLE FIRST LAST`` (the statement numbers the append ran) lines.

Nothing of dagwright is replaced: the real loader runs, and the process really dies.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable

import duckdb

_real_connect = duckdb.connect
_lock = threading.Lock()
_count = 0
_words = 0
KILL_AT = int(os.environ.get("KILL_STATEMENT", "0"))
KILL_AFTER = os.environ.get("KILL_WHEN", "before") == "after"
KILL_WORD = os.environ.get("KILL_WORD", "").upper()
LOG = os.environ.get("STATEMENT_LOG")
SLOW_AT = int(os.environ.get("SLOW_STATEMENT", "0"))
SLOW_SECONDS = float(os.environ.get("SLOW_SECONDS", "0"))
SLOW_WORD = os.environ.get("SLOW_WORD", "").upper()
_slow_words = 0


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _statement(sql: str, run: Callable[[], object]) -> object:
    """Count one statement, then run it; die just before or after it if it is the one."""
    global _count, _words, _slow_words
    word = (sql.split() or ["?"])[0].upper()
    with _lock:
        _count += 1
        _words += word == KILL_WORD
        _slow_words += word == SLOW_WORD
        number = _slow_words if SLOW_WORD and word == SLOW_WORD else _count
        if SLOW_WORD and word != SLOW_WORD:
            number = 0
        target = _words if KILL_WORD else _count
        kill = target == KILL_AT and (word == KILL_WORD or not KILL_WORD)
        if LOG:
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(word + "\n")
    if number == SLOW_AT:
        time.sleep(SLOW_SECONDS)
    if kill and not KILL_AFTER:
        _die()
    result = run()
    if kill and KILL_AFTER:
        _die()
    return result


class _Counted:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: object, **kwargs: object) -> object:
        return _statement(sql, lambda: self._con.execute(sql, *args, **kwargs))

    def cursor(self) -> _Counted:
        return _Counted(self._con.cursor())

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def _connect(database: str = ":memory:", *args: object, **kwargs: object) -> object:
    con = _real_connect(database, *args, **kwargs)
    if database in (":memory:", "", None):
        return con
    return _Counted(con)


duckdb.connect = _connect


def _count_postgres() -> None:
    """Count the statements sent to PostgreSQL too (a PostgreSQL destination's)."""
    try:
        import psycopg
    except ImportError:
        return
    real = psycopg.Cursor.execute

    def execute(self: object, query: object, *args: object, **kwargs: object) -> object:
        text = query if isinstance(query, str) else str(query)
        return _statement(text, lambda: real(self, query, *args, **kwargs))

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]


_count_postgres()


def _count_mysql() -> None:
    """Count the statements sent to MySQL too (a MySQL destination's)."""
    try:
        import pymysql.cursors
    except ImportError:
        return
    real = pymysql.cursors.Cursor.execute

    def execute(self: object, query: str, *args: object, **kwargs: object) -> object:
        return _statement(query, lambda: real(self, query, *args, **kwargs))

    pymysql.cursors.Cursor.execute = execute  # type: ignore[method-assign]


_count_mysql()

KILL_CHUNK = int(os.environ.get("KILL_CHUNK", "0"))
KILL_APPEND = int(os.environ.get("KILL_APPEND", "0"))
EVENTS = os.environ.get("EVENT_LOG")
CHUNK_ROWS = int(os.environ.get("CHECK_CHUNK_ROWS", "0"))
_chunks = 0
_appends = 0


def _event(line: str) -> None:
    if EVENTS:
        with open(EVENTS, "a", encoding="utf-8") as log:
            log.write(line + "\n")


def _watch_checks() -> None:
    """Count validation chunks and side-table appends (the real ones run unchanged)."""
    import expectations.engine
    import expectations.runner
    from loaders.duckdb import DuckDBLoader

    if CHUNK_ROWS:
        expectations.runner.CHUNK_ROWS = CHUNK_ROWS
    real_chunks = expectations.engine.Data.chunks
    real_append = DuckDBLoader.append_in

    def chunks(self: object, *args: object, **kwargs: object) -> object:
        global _chunks
        for chunk in real_chunks(self, *args, **kwargs):
            with _lock:
                _chunks += 1
                number = _chunks
            _event("chunk")
            if number == KILL_CHUNK:
                _die()
            yield chunk

    def append_in(self: object, s: object, table_name: str, path: str, stage: object) -> None:
        global _appends
        with _lock:
            _appends += 1
            number, first = _appends, _count + 1
        if number == KILL_APPEND and not KILL_AFTER:
            _die()
        real_append(self, s, table_name, path, stage)
        _event(f"append {table_name} {first} {_count}")
        if number == KILL_APPEND and KILL_AFTER:
            _die()

    expectations.engine.Data.chunks = chunks
    DuckDBLoader.append_in = append_in


if KILL_CHUNK or KILL_APPEND or EVENTS or CHUNK_ROWS:
    _watch_checks()

if __name__ == "__main__":
    from dagwright.cli import main

    sys.exit(main(sys.argv[1:]))
