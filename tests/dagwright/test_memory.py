"""Freed Arrow memory goes back to the system between stages."""

from __future__ import annotations

import gc
import os
import sys

import pyarrow as pa
import pytest

from dagwright.memory import give_back


def resident_mib() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memory_a_stage_freed_in_arrows_pool_is_given_back() -> None:
    arrays = [pa.array(range(i * 25_000, (i + 1) * 25_000)) for i in range(800)]
    held = pa.default_memory_pool().bytes_allocated() // 2**20
    assert held > 100
    del arrays
    gc.collect()
    before = resident_mib()
    give_back()
    assert before - resident_mib() > held // 2, (before, resident_mib(), held)
