"""Issue 4: dagwright's ``csv`` extractor, extract stage only: ``write()`` into one Parquet file."""

import json
import sys
import time
from pathlib import Path

from dagwright.context import RunContext
from extractors.files import FileExtractor, FileSourceConfig

csv_path, out, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
started = time.perf_counter()
config = FileSourceConfig(extractor="csv", path=csv_path)
context = RunContext(
    run_id="bench",
    pipeline="bench",
    project_root=Path(out).parent,
    staging_root=str(Path(out).parent),
)
result = FileExtractor("orders", config, context).write(out)
if result.rows != expected:
    sys.exit(f"extracted {result.rows:,} rows, expected {expected:,}")
print(json.dumps({"phases": {"extract": time.perf_counter() - started}}))
