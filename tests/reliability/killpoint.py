"""Run the real ``dagwright`` CLI, SIGKILLing itself at one statement on the warehouse file.

Used as ``python killpoint.py ARGS...`` (the arguments of ``dagwright``). Environment:

- ``KILL_STATEMENT=N`` and ``KILL_WHEN=before|after``: SIGKILL this process just before
  (or just after) the N-th statement any connection runs on a database file;
  with ``KILL_WORD=COMMIT``, the N-th statement starting with that word;
- ``SLOW_STATEMENT=N`` and ``SLOW_SECONDS=S``: sleep S seconds before the N-th statement
  (a slow run, to hold the warehouse while another process starts);
- ``STATEMENT_LOG=path``: append each statement's first word to ``path`` (to learn N and
  where the COMMITs are, from a clean run).

Nothing of dagwright is replaced: the real loader runs, and the process really dies.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

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


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Counted:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: object, **kwargs: object) -> object:
        global _count, _words
        word = (sql.split() or ["?"])[0].upper()
        with _lock:
            _count += 1
            _words += word == KILL_WORD
            number = _count
            target = _words if KILL_WORD else _count
            kill = target == KILL_AT and (word == KILL_WORD or not KILL_WORD)
            if LOG:
                with open(LOG, "a", encoding="utf-8") as log:
                    log.write(word + "\n")
        if number == SLOW_AT:
            time.sleep(SLOW_SECONDS)
        if kill and not KILL_AFTER:
            _die()
        result = self._con.execute(sql, *args, **kwargs)
        if kill and KILL_AFTER:
            _die()
        return result

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

if __name__ == "__main__":
    from dagwright.cli import main

    sys.exit(main(sys.argv[1:]))
