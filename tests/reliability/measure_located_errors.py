"""What the located CSV error costs: DuckDB failing on a fault in the last row, then the re-scan.

``python tests/reliability/measure_located_errors.py [ROWS]`` (default 1,000,000 rows):
prints CPU seconds and wall seconds of DuckDB's failed read and of ``scan_csv`` for each
fault, and of a good file's read (which never scans).
"""

from __future__ import annotations

import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import duckdb

from extractors.files import MAX_LINE_SIZE, scan_csv

FAULTS = {
    "good": b"",
    "utf8": b"9,20,caf\xe9\n",
    "quote": b'9,20,"open\n9,21,x\n',
    "size": b"9,20," + b"x" * (MAX_LINE_SIZE + 10) + b"\n",
}


def clock(fn) -> tuple[float, float, object]:  # noqa: ANN001
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        result = fn()
    except duckdb.Error as exc:
        result = type(exc).__name__
    return time.process_time() - cpu, time.perf_counter() - wall, result


def _read(con: duckdb.DuckDBPyConnection, path: Path, out: str) -> None:
    con.read_csv(str(path), header=True, sep=",", quotechar='"').write_parquet(out)


def main(rows: int) -> None:
    body = b"id,amount,note\n" + b"".join(b"%d,%d,note %d\n" % (i, i % 97, i) for i in range(rows))
    with tempfile.TemporaryDirectory() as tmp:
        for name, tail in FAULTS.items():
            path = Path(tmp) / f"{name}.csv"
            path.write_bytes(body + tail)
            con = duckdb.connect()
            read = clock(partial(_read, con, path, f"{tmp}/out.parquet"))
            con.close()
            with path.open("rb") as handle:
                scan = clock(lambda: scan_csv(handle, ",", '"', MAX_LINE_SIZE))
            size = path.stat().st_size / 1e6
            print(
                f"{name:6} {size:6.1f} MB  duckdb cpu {read[0]:5.2f}s wall {read[1]:5.2f}s "
                f"({read[2] or 'ok'})  scan cpu {scan[0]:5.2f}s wall {scan[1]:5.2f}s "
                f"-> {scan[2][:3] if scan[2] else None}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
