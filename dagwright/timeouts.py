"""Per-stage execution timeouts (the spec's ``execution_timeout``) that cancel for real.

The stage executor runs each stage under a ``Deadline`` (``StageExecutor.run``); when it
expires, a timer thread calls the cancel callbacks registered at that moment by the code
running the stage's statements, and the stage fails with ``StageTimeout`` ("stage
'transform_q' timed out after 2 s (execution_timeout: 2s); the statement was cancelled").

Code that runs a statement that can block (a DuckDB query, a PostgreSQL query, an HTTP
request with a way to abort it) registers how to cancel it, for the statement's duration,
from the thread running the stage::

    from dagwright.timeouts import cancellable

    with cancellable(con.interrupt):        # DuckDB: DuckDBPyConnection.interrupt()
        con.execute(sql)
    with cancellable(pg.cancel_safe):       # psycopg 3: Connection.cancel_safe()
        cur.execute(sql)

or through the run context, ``with ctx.cancellable(con.interrupt): ...`` (the same thing).
Outside a stage with a timeout, ``cancellable`` does nothing. Entered once the stage's
time is up, it raises ``StageTimeout`` instead of starting the statement. A callback is
called at most once, on the timer's thread: it must be safe to call from another thread
while the statement runs (both above are), and should not block for long.

The cancelled statement then raises its engine's error (``duckdb.InterruptException``,
``psycopg.errors.QueryCanceled``). Code that turns engine errors into messages asks
``timed_out()`` first and raises what it returns, so that a cancellation never reads
like a rejected query::

    except duckdb.Error as exc:
        if (late := timed_out()) is not None:
            raise late from None
        raise StageError(...)

(The executor maps any error of a stage whose time is up to ``StageTimeout`` too.)

Threads: the deadline follows the stage through a context variable, so a thread started
by a stage sees it only when run in a copy of the context (``contextvars.copy_context()``).

Limit: Polars and Python code cannot be interrupted safely. A stage that registered no
cancel runs to its end; if that end is past its timeout, the stage then fails with a
``StageTimeout`` saying so (a load that committed is kept, with a note).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from dagwright.errors import DagwrightError, StageError

__all__ = [
    "Deadline",
    "StageTimeout",
    "StatementCancelled",
    "cancellable",
    "current",
    "deadline",
    "duration",
    "timed_out",
]

Cancel = Callable[[], object]

_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "dagwright_deadline", default=None
)


class StageTimeout(StageError):
    """A stage ran past its ``execution_timeout``."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        DagwrightError.__init__(self, message)


class StatementCancelled(DagwrightError):
    """A statement cancelled by something other than its stage's timeout (a server's
    ``statement_timeout``, an operator): not a rejection of the query."""


def duration(seconds: float) -> str:
    """``2s``, ``10m``, ``1h30m``: a duration the way a spec writes it."""
    whole = int(seconds)
    if whole != seconds or whole == 0:
        return f"{seconds:g}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


class Deadline:
    """The time a stage may run; on expiry, cancels what is registered (once)."""

    def __init__(self, stage: str, seconds: float) -> None:
        self.stage = stage
        self.seconds = seconds
        self.started = time.monotonic()
        self.expired = False
        self.cancelled = 0
        """How many registered cancels were called (counted before each call returns: a
        cancelled statement may raise in the stage's thread while its cancel still runs)."""
        self.stopped = False
        """Whether the stage was stopped as it was about to start another statement."""
        self._callbacks: dict[int, Cancel] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def start(self) -> Deadline:
        self._timer = threading.Timer(self.seconds, self.expire)
        self._timer.daemon = True
        self._timer.name = f"timeout-{self.stage}"
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def expire(self) -> None:
        """Time is up: call every registered cancel."""
        with self._lock:
            self.expired = True
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
            self.cancelled = len(callbacks)
        for cancel in callbacks:
            try:
                cancel()
            except Exception:  # noqa: BLE001, S112 - a dead connection has nothing to cancel
                continue

    @contextmanager
    def register(self, cancel: Cancel) -> Iterator[None]:
        with self._lock:
            if self.expired:
                self.stopped = True
                raise self.error()
            key = self._next
            self._next += 1
            self._callbacks[key] = cancel
        try:
            yield
        finally:
            with self._lock:
                self._callbacks.pop(key, None)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def error(self) -> StageTimeout:
        limit = f"(execution_timeout: {duration(self.seconds)})"
        head = f"stage {self.stage!r} timed out after {_seconds(self.seconds)} s {limit}"
        if self.cancelled:
            return StageTimeout(self.stage, f"{head}; the statement was cancelled")
        if self.stopped:
            return StageTimeout(self.stage, f"{head}; it was stopped before its next statement")
        return StageTimeout(
            self.stage,
            f"stage {self.stage!r} ran {_seconds(self.elapsed)} s, past its timeout of "
            f"{_seconds(self.seconds)} s {limit}; what it ran could not be interrupted "
            "(Polars or Python code), so it failed when it returned",
        )


@contextmanager
def deadline(stage: str, seconds: float | timedelta | None) -> Iterator[Deadline | None]:
    """Run the body (one stage) under a deadline of ``seconds``; None: no timeout."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    if seconds is None or seconds <= 0:
        yield None
        return
    limit = Deadline(stage, seconds).start()
    token = _current.set(limit)
    try:
        yield limit
    finally:
        limit.stop()
        _current.reset(token)


def current() -> Deadline | None:
    """The deadline of the stage running in this thread, if it has one."""
    return _current.get()


@contextmanager
def cancellable(cancel: Cancel) -> Iterator[None]:
    """Register ``cancel`` to be called if the running stage's time is up in the body."""
    limit = _current.get()
    if limit is None:
        yield
        return
    with limit.register(cancel):
        yield


def timed_out() -> StageTimeout | None:
    """The running stage's ``StageTimeout`` when its time is up, else None."""
    limit = _current.get()
    return limit.error() if limit is not None and limit.expired else None
