"""Memory a finished stage no longer needs, handed back to the operating system.

A stage that streamed a source through Arrow leaves the buffers it freed in Arrow's pool
(mimalloc keeps them for reuse) and a driver's in the C allocator's arenas. The next
stage of the same process, a load into DuckDB, then builds its own peak on top of them:
with a 5M-row PostgreSQL extract, the run's peak RSS was about 60-90 MiB higher. Dask's
workers trim memory the same way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache
from typing import Any


def give_back() -> None:
    """Return the free memory Arrow's pool and the C allocator hold to the system."""
    # Another stage's thread may be importing pyarrow right now: a half-initialised module
    # has no pool yet, and nothing of Arrow's to give back either.
    pool = getattr(sys.modules.get("pyarrow"), "default_memory_pool", None)
    if pool is not None:
        pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``; ``None`` where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
