"""Issue 4: ``pandas.read_csv`` of the same file into a DataFrame (default C parser)."""

import sys

import pandas as pd

csv_path, expected = sys.argv[1], int(sys.argv[2])
frame = pd.read_csv(csv_path, parse_dates=["ordered_at", "updated_at"])
if len(frame) != expected:
    sys.exit(f"read {len(frame):,} rows, expected {expected:,}")
