"""Job A, the reference: one hand-written DuckDB SQL script, CSV in, two tables out."""

import sys

import duckdb

orders, customers, warehouse = sys.argv[1:4]
con = duckdb.connect(
    warehouse,
)
con.execute("SET enable_progress_bar = false")
con.execute(
    """
    CREATE OR REPLACE TABLE fct_orders AS
    SELECT o.order_id, o.customer_id, c.segment, c.country, o.ordered_at, o.amount
    FROM read_csv($orders) o
    JOIN read_csv($customers) c ON c.customer_id = o.customer_id
    WHERE o.status <> 'void'
    """,
    {"orders": orders, "customers": customers},
)
con.execute(
    """
    CREATE OR REPLACE TABLE agg_daily_orders AS
    SELECT CAST(ordered_at AS DATE) AS order_date, segment,
           COUNT(*) AS orders, SUM(amount) AS revenue
    FROM fct_orders GROUP BY ALL
    """
)
con.close()
