"""Job C's yardstick: Great Expectations called directly on a pandas frame of the orders.

Prints its phases (GE import, reading the frame, GE setup, validation) as JSON so the
suite can report the one-time import apart from the validation itself; ``*_cpu`` are the
same phases in CPU seconds of this process.
"""

import json
import os
import sys
import time

os.environ.setdefault("TQDM_DISABLE", "1")
orders_csv = sys.argv[1]
phases = {}
started, started_cpu = time.perf_counter(), time.process_time()
import great_expectations as gx  # noqa: E402

phases["import"] = time.perf_counter() - started
phases["import_cpu"] = time.process_time() - started_cpu
import pandas as pd  # noqa: E402

mark = time.perf_counter()
frame = pd.read_csv(orders_csv)
phases["read"] = time.perf_counter() - mark

mark = time.perf_counter()
context = gx.get_context(mode="ephemeral")
asset = context.data_sources.add_pandas("bench").add_dataframe_asset("orders")
batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
    batch_parameters={"dataframe": frame}
)
E = gx.expectations
suite = gx.ExpectationSuite(name="orders")
for expectation in (
    E.ExpectColumnValuesToNotBeNull(column="order_id"),
    E.ExpectColumnValuesToBeUnique(column="order_id"),
    E.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=1000),
    E.ExpectColumnValuesToBeInSet(
        column="status", value_set=["paid", "shipped", "void", "refunded"]
    ),
):
    suite.add_expectation(expectation)
phases["setup"] = time.perf_counter() - mark

mark, mark_cpu = time.perf_counter(), time.process_time()
result = batch.validate(suite)
phases["validate"] = time.perf_counter() - mark
phases["validate_cpu"] = time.process_time() - mark_cpu
if not result.success:
    sys.exit("the four expectations failed on valid data")
print(json.dumps({"phases": phases}))
