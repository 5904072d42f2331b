"""Job A as users write it inside a PythonOperator: pandas, then DuckDB for the tables."""

import sys

import duckdb
import pandas as pd

orders_csv, customers_csv, warehouse = sys.argv[1:4]
orders = pd.read_csv(orders_csv, parse_dates=["ordered_at", "updated_at"])
customers = pd.read_csv(customers_csv)
orders = orders[orders["status"] != "void"]
fct = orders.merge(customers[["customer_id", "segment", "country"]], on="customer_id")
fct = fct[["order_id", "customer_id", "segment", "country", "ordered_at", "amount"]]
daily = (
    fct.assign(order_date=fct["ordered_at"].dt.date)
    .groupby(["order_date", "segment"], as_index=False)
    .agg(orders=("order_id", "size"), revenue=("amount", "sum"))
)
con = duckdb.connect(
    warehouse,
)
con.execute("SET enable_progress_bar = false")
con.register("fct_frame", fct)
con.register("daily_frame", daily)
con.execute("CREATE OR REPLACE TABLE fct_orders AS SELECT * FROM fct_frame")
con.execute("CREATE OR REPLACE TABLE agg_daily_orders AS SELECT * FROM daily_frame")
con.close()
