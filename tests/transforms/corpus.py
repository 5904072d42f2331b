"""The differential corpus: one small shared data set and SQL transforms in many dialects.

Each case is written in a non-DuckDB dialect. The test runs it through the framework on
DuckDB and, translated, on a real PostgreSQL server and a real MariaDB server, and compares
the rows. ``postgres`` and ``mysql`` hold the expected error text where the case cannot be
translated faithfully to that engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal as D

TABLES: dict[str, tuple[list[tuple[str, str, str]], list[tuple]]] = {
    # name: ([(column, arrow type, postgres type)], rows)
    "customers": (
        [
            ("customer_id", "int64", "BIGINT"),
            ("name", "string", "TEXT"),
            ("email", "string", "TEXT"),
            ("segment", "string", "TEXT"),
            ("country", "string", "TEXT"),
            ("signup_date", "date32", "DATE"),
        ],
        [
            (1, "Ada Lovelace", "ada@example.com", "gold", "UK", date(2025, 1, 5)),
            (2, " Bob Stone ", "", "silver", "US", date(2025, 2, 10)),
            (3, "Chen Wei", "chen@example.com", None, "CN", date(2025, 3, 15)),
            (4, "Dana Ruiz", None, "gold", "ES", date(2025, 3, 15)),
            (5, "Eve Adams", "eve@example.org", "bronze", "US", date(2025, 6, 30)),
            (6, "Femi Ade", "femi@example.com", "", "NG", date(2025, 12, 31)),
        ],
    ),
    "products": (
        [
            ("product_id", "int64", "BIGINT"),
            ("name", "string", "TEXT"),
            ("category", "string", "TEXT"),
            ("price", "decimal(10,2)", "NUMERIC(10,2)"),
        ],
        [
            (10, "Widget", "tools", D("2.50")),
            (11, "Gadget", "tools", D("10.00")),
            (12, "Doohickey", "toys", D("7.25")),
            (13, "Thingamajig", None, D("1.00")),
            (14, "Gizmo", "toys", D("99.99")),
        ],
    ),
    "orders": (
        [
            ("order_id", "int64", "BIGINT"),
            ("customer_id", "int64", "BIGINT"),
            ("status", "string", "TEXT"),
            ("amount", "decimal(10,2)", "NUMERIC(10,2)"),
            ("ordered_at", "timestamp", "TIMESTAMP"),
            ("shipped_at", "timestamp", "TIMESTAMP"),
        ],
        [
            (100, 1, "shipped", D("25.00"), datetime(2026, 1, 1, 9, 15), datetime(2026, 1, 2, 10)),
            (101, 1, "shipped", D("10.00"), datetime(2026, 1, 3, 18, 30), datetime(2026, 1, 5, 8)),
            (102, 2, "void", D("7.25"), datetime(2026, 1, 3, 23, 59, 59), None),
            (103, 3, "pending", D("120.50"), datetime(2026, 1, 10), None),
            (104, 4, "shipped", D("3.00"), datetime(2026, 1, 15, 12), datetime(2026, 1, 20, 12)),
            (105, 2, "refunded", D("50.00"), datetime(2026, 2, 1, 8), datetime(2026, 2, 3, 9, 30)),
            (
                106,
                5,
                "shipped",
                D("15.75"),
                datetime(2026, 2, 14, 14, 14, 14),
                datetime(2026, 2, 15),
            ),
            (107, 99, "pending", D("5.00"), datetime(2026, 2, 28, 22), None),
            (
                108,
                1,
                "shipped",
                D("99.99"),
                datetime(2026, 3, 1, 0, 0, 1),
                datetime(2026, 3, 10, 16, 45),
            ),
            (109, 3, "shipped", D("20.00"), datetime(2026, 3, 1, 0, 0, 1), datetime(2026, 3, 2)),
        ],
    ),
    "order_lines": (
        [
            ("order_id", "int64", "BIGINT"),
            ("line_no", "int64", "BIGINT"),
            ("product_id", "int64", "BIGINT"),
            ("quantity", "int64", "BIGINT"),
            ("unit_price", "decimal(10,2)", "NUMERIC(10,2)"),
        ],
        [
            (100, 1, 10, 2, D("2.50")),
            (100, 2, 11, 2, D("10.00")),
            (101, 1, 11, 1, D("10.00")),
            (102, 1, 12, 1, D("7.25")),
            (103, 1, 12, 10, D("7.25")),
            (103, 2, 10, 19, D("2.50")),
            (104, 1, 13, 3, D("1.00")),
            (105, 1, 11, 5, D("10.00")),
            (106, 1, 12, 1, D("7.25")),
            (106, 2, 10, 2, D("2.50")),
            (106, 3, 13, 3, D("1.00")),
            (108, 1, 11, 10, D("10.00")),
            (109, 1, 10, 8, D("2.50")),
            (110, 1, 15, 1, D("4.00")),
        ],
    ),
}


@dataclass(frozen=True)
class Case:
    id: str
    dialect: str
    sql: str
    ordered: bool = False
    """Compare rows in order (the query has a total ORDER BY)."""
    postgres: str | None = None
    """Expected error text when translating to PostgreSQL is not faithful."""
    duckdb: str | None = None
    """Expected error text when translating to DuckDB is not faithful."""
    mysql: str | None = None
    """Expected error text when translating to MySQL (MariaDB) is not faithful."""
    snowflake: str | None = None
    """Expected error text when translating to Snowflake is not faithful."""
    fakesnow: str | None = None
    """The error of Snowflake's stand-in where it lacks what Snowflake has (the SQL is
    Snowflake's own): the case is shown to fail there as known, not compared."""


CASES = [
    # --- joins of every kind ------------------------------------------------------------
    Case(
        "inner_join",
        "snowflake",
        """
        select o.order_id, c.name, o.amount
        from orders o join customers c on c.customer_id = o.customer_id""",
    ),
    Case(
        "left_join_count",
        "bigquery",
        """
        SELECT c.customer_id, COUNT(o.order_id) AS orders
        FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.customer_id
        GROUP BY c.customer_id""",
    ),
    Case(
        "right_join",
        "tsql",
        """
        SELECT c.name, o.order_id
        FROM customers AS c RIGHT OUTER JOIN orders AS o ON o.customer_id = c.customer_id""",
    ),
    Case(
        "full_outer_join",
        "spark",
        """
        SELECT l.order_id, l.product_id AS line_product, p.product_id AS product
        FROM order_lines l FULL OUTER JOIN products p ON p.product_id = l.product_id""",
    ),
    Case(
        "cross_join",
        "mysql",
        """
        SELECT c.customer_id, p.product_id
        FROM customers c CROSS JOIN products p WHERE p.price > 50""",
    ),
    Case(
        "self_join",
        "redshift",
        """
        select a.order_id as first_order, b.order_id as later_order
        from orders a join orders b on a.customer_id = b.customer_id and a.order_id < b.order_id""",
    ),
    Case(
        "semi_join_exists",
        "snowflake",
        """
        select c.customer_id from customers c
        where exists (select 1 from orders o where o.customer_id = c.customer_id
                      and o.status = 'shipped')""",
    ),
    Case(
        "anti_join_not_exists",
        "bigquery",
        """
        SELECT c.customer_id, c.name FROM customers c
        WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)""",
    ),
    Case(
        "join_using",
        "spark",
        """
        SELECT customer_id, o.order_id, c.country
        FROM orders o JOIN customers c USING (customer_id)""",
    ),
    Case(
        "natural_join",
        "snowflake",
        """
        select order_id, country from orders natural join (
            select customer_id, country from customers) c""",
    ),
    Case(
        "correlated_scalar_subquery",
        "mysql",
        """
        SELECT c.customer_id,
               (SELECT MAX(o.amount) FROM orders o WHERE o.customer_id = c.customer_id) AS top_amount
        FROM customers c""",
    ),
    Case(
        "left_semi_join",
        "spark",
        """
        SELECT c.customer_id FROM customers c LEFT SEMI JOIN orders o ON o.customer_id = c.customer_id""",
    ),
    Case(
        "left_anti_join",
        "spark",
        """
        SELECT p.product_id FROM products p LEFT ANTI JOIN order_lines l ON l.product_id = p.product_id""",
    ),
    # --- window functions ---------------------------------------------------------------
    Case(
        "ranking",
        "snowflake",
        """
        select order_id, customer_id,
               row_number() over (partition by customer_id order by amount desc, order_id) as rn,
               rank() over (order by ordered_at) as rnk,
               dense_rank() over (order by ordered_at) as drnk
        from orders""",
    ),
    Case(
        "running_sum",
        "bigquery",
        """
        SELECT order_id, SUM(amount) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
        FROM orders""",
    ),
    Case(
        "lag_lead",
        "tsql",
        """
        SELECT order_id,
               LAG(amount, 1, 0) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS prev_amount,
               LEAD(order_id) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS next_order
        FROM orders""",
    ),
    Case(
        "ntile_percent_rank",
        "spark",
        """
        SELECT order_id, NTILE(3) OVER (ORDER BY amount, order_id) AS tile,
               ROUND(PERCENT_RANK() OVER (ORDER BY amount, order_id), 4) AS pct
        FROM orders""",
    ),
    Case(
        "first_last_value",
        "redshift",
        """
        select order_id,
               first_value(amount) over (partition by customer_id order by ordered_at, order_id
                   rows between unbounded preceding and unbounded following) as first_amount,
               last_value(amount) over (partition by customer_id order by ordered_at, order_id
                   rows between unbounded preceding and unbounded following) as last_amount
        from orders""",
    ),
    Case(
        "moving_average",
        "mysql",
        """
        SELECT order_id, ROUND(AVG(amount) OVER (ORDER BY ordered_at, order_id
               ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), 3) AS moving_avg
        FROM orders""",
    ),
    Case(
        "qualify_latest",
        "snowflake",
        """
        select customer_id, order_id, ordered_at from orders
        qualify row_number() over (partition by customer_id order by ordered_at desc, order_id desc) = 1""",
    ),
    Case(
        "qualify_rank",
        "bigquery",
        """
        SELECT product_id, order_id, quantity FROM order_lines
        WHERE TRUE
        QUALIFY RANK() OVER (PARTITION BY product_id ORDER BY quantity DESC) = 1""",
    ),
    Case(
        "share_of_total",
        "redshift",
        """
        select order_id, round(amount / sum(amount) over (), 4) as share from orders""",
    ),
    # --- dates and timestamps -----------------------------------------------------------
    Case(
        "snowflake_dateadd_datediff",
        "snowflake",
        """
        select order_id, dateadd(day, 7, ordered_at) as due,
               datediff(day, ordered_at, shipped_at) as days_to_ship,
               datediff(month, ordered_at, shipped_at) as months
        from orders""",
    ),
    Case(
        "bigquery_trunc_diff",
        "bigquery",
        """
        SELECT order_id, DATE_TRUNC(DATE(ordered_at), MONTH) AS month,
               TIMESTAMP_DIFF(shipped_at, ordered_at, HOUR) AS hours_to_ship
        FROM orders""",
    ),
    Case(
        "tsql_datepart_dateadd",
        "tsql",
        """
        SELECT order_id, DATEPART(month, ordered_at) AS m, DATEPART(year, ordered_at) AS y,
               DATEADD(month, 1, ordered_at) AS next_month, EOMONTH(ordered_at) AS month_end
        FROM orders""",
    ),
    Case(
        "mysql_date_functions",
        "mysql",
        """
        SELECT order_id, DATE_FORMAT(ordered_at, '%Y-%m') AS ym,
               DATE_ADD(ordered_at, INTERVAL 1 DAY) AS next_day,
               DATEDIFF(shipped_at, ordered_at) AS days
        FROM orders""",
    ),
    Case(
        "spark_date_functions",
        "spark",
        """
        SELECT customer_id, date_add(signup_date, 30) AS trial_end,
               datediff(DATE'2026-01-01', signup_date) AS tenure_days,
               date_trunc('MONTH', signup_date) AS cohort
        FROM customers""",
    ),
    Case(
        "redshift_datediff_hour",
        "redshift",
        """
        select order_id, datediff(hour, ordered_at, shipped_at) as hours,
               date_trunc('week', ordered_at) as week
        from orders""",
    ),
    Case(
        "extract_parts",
        "snowflake",
        """
        select order_id, extract(year from ordered_at) as y, extract(month from ordered_at) as m,
               extract(day from ordered_at) as d, extract(hour from ordered_at) as h
        from orders""",
    ),
    Case(
        "interval_bounds_bigquery",
        "bigquery",
        """
        SELECT order_id FROM orders
        WHERE ordered_at >= @interval_start AND ordered_at < @interval_end""",
    ),
    Case(
        "interval_bounds_snowflake",
        "snowflake",
        """
        select count(*) as n, sum(amount) as total from orders
        where ordered_at >= :interval_start and ordered_at < :interval_end""",
    ),
    Case(
        "interval_bounds_tsql",
        "tsql",
        """
        SELECT o.order_id, c.name FROM orders o JOIN customers c ON c.customer_id = o.customer_id
        WHERE o.ordered_at >= @interval_start AND o.ordered_at < @interval_end""",
    ),
    # --- strings ------------------------------------------------------------------------
    Case(
        "snowflake_strings",
        "snowflake",
        """
        select customer_id, upper(trim(name)) as up, lower(country) as lc, length(trim(name)) as len,
               substr(name, 1, 3) as pre, split_part(email, '@', 2) as domain,
               replace(name, ' ', '_') as snake, lpad(customer_id::varchar, 4, '0') as padded,
               name || '/' || country as label
        from customers""",
    ),
    Case(
        "bigquery_strings",
        "bigquery",
        """
        SELECT customer_id, CONCAT(country, '-', CAST(customer_id AS STRING)) AS code,
               STARTS_WITH(name, 'D') AS d_name, REGEXP_CONTAINS(email, r'@example[.]com$') AS corp,
               SUBSTR(name, 2) AS tail, STRPOS(name, 'a') AS first_a
        FROM customers""",
    ),
    Case(
        "tsql_strings",
        "tsql",
        """
        SELECT customer_id, LEN(name) AS len, LEFT(name, 3) AS l3, RIGHT(country, 1) AS r1,
               CHARINDEX('e', name) AS pos_e, LTRIM(RTRIM(name)) AS trimmed, ISNULL(email, 'n/a') AS mail
        FROM customers""",
    ),
    Case(
        "mysql_strings",
        "mysql",
        """
        SELECT customer_id, CONCAT_WS('|', name, country) AS joined, LOCATE('a', name) AS pos,
               IFNULL(segment, 'none') AS seg, REVERSE(country) AS rev
        FROM customers""",
    ),
    Case(
        "spark_strings",
        "spark",
        """
        SELECT customer_id, concat_ws(',', country, segment) AS cs, instr(name, 'e') AS pos_e,
               regexp_replace(name, '[aeiou]', '') AS consonants, upper(name) AS up
        FROM customers""",
    ),
    Case(
        "redshift_strings",
        "redshift",
        """
        select customer_id, nvl(email, 'none') as email, charindex('@', nvl(email, '')) as at_pos,
               split_part(name, ' ', 1) as first_name, len(country) as clen
        from customers""",
    ),
    Case(
        "string_agg",
        "snowflake",
        """
        select country, listagg(name, ', ') within group (order by name) as names
        from customers group by country""",
    ),
    Case(
        "group_concat",
        "mysql",
        """
        SELECT status, GROUP_CONCAT(order_id ORDER BY order_id SEPARATOR ';') AS ids
        FROM orders GROUP BY status""",
    ),
    Case(
        "contains_rule",
        "snowflake",
        """
        select customer_id, contains(email, 'example') as is_example from customers""",
    ),
    # --- the framework's own rules, proven on data ---------------------------------------
    Case(
        "own_rules_snowflake",
        "snowflake",
        """
        select customer_id, endswith(email, '.com') as dot_com, insert(name, 1, 3, 'X') as masked
        from customers""",
    ),
    Case(
        "own_rules_names",
        "snowflake",
        """
        select order_id, monthname(ordered_at) as mon, dayname(ordered_at) as dow from orders""",
    ),
    Case(
        "own_rules_bigquery",
        "bigquery",
        """
        SELECT customer_id, REGEXP_EXTRACT(email, r'@([a-z]+)') AS host, BYTE_LENGTH(name) AS bytes
        FROM customers""",
        mysql="REGEXP_EXTRACT",
        fakesnow="octet_length(VARCHAR)",  # Snowflake's OCTET_LENGTH takes strings
    ),
    Case(
        "own_rules_bigquery_time",
        "bigquery",
        """
        SELECT order_id, DATETIME_TRUNC(ordered_at, DAY) AS day,
               TIMESTAMP_DIFF(shipped_at, ordered_at, HOUR) AS hours_elapsed,
               TIMESTAMP_DIFF(shipped_at, ordered_at, MINUTE) AS minutes_elapsed
        FROM orders""",
    ),
    Case(
        "own_rules_tsql",
        "tsql",
        """
        SELECT order_id, STUFF(status, 2, 3, '*') AS stuffed,
               DATEFROMPARTS(2026, MONTH(ordered_at), 1) AS month_start,
               CHOOSE(order_id % 3 + 1, 'a', 'b', 'c') AS bucket
        FROM orders""",
    ),
    Case(
        "own_rules_mysql",
        "mysql",
        """
        SELECT order_id, ELT(order_id % 4 + 1, 'w', 'x', 'y') AS pick,
               TIMESTAMPDIFF(HOUR, ordered_at, shipped_at) AS hours
        FROM orders""",
    ),
    # --- casts --------------------------------------------------------------------------
    Case(
        "snowflake_casts",
        "snowflake",
        """
        select order_id, amount::int as whole, order_id::varchar as id_text,
               ordered_at::date as day, '42'::number(10, 0) + 1 as n, to_varchar(amount) as amount_text
        from orders""",
    ),
    Case(
        "bigquery_casts",
        "bigquery",
        """
        SELECT order_id, CAST(amount AS FLOAT64) AS f, CAST(order_id AS STRING) AS s,
               CAST(ordered_at AS DATE) AS d, CAST('2026-01-01' AS DATE) AS jan1
        FROM orders""",
    ),
    Case(
        "tsql_casts",
        "tsql",
        """
        SELECT order_id, CAST(order_id AS VARCHAR(10)) AS s, CAST(amount AS FLOAT) AS f,
               CAST(ordered_at AS DATE) AS d, CAST(quantity_text AS INT) * 2 AS q
        FROM (SELECT order_id, amount, ordered_at, '3' AS quantity_text FROM orders) AS t""",
    ),
    # --- CASE ---------------------------------------------------------------------------
    Case(
        "snowflake_case_iff_decode",
        "snowflake",
        """
        select order_id,
               case when amount >= 50 then 'large' when amount >= 10 then 'medium' else 'small' end as size,
               iff(shipped_at is null, 'open', 'closed') as state,
               decode(status, 'shipped', 1, 'void', 0, -1) as code
        from orders""",
    ),
    Case(
        "tsql_iif_case",
        "tsql",
        """
        SELECT order_id, IIF(amount > 20, 1, 0) AS big,
               CASE status WHEN 'shipped' THEN 'S' WHEN 'pending' THEN 'P' ELSE 'X' END AS s
        FROM orders""",
    ),
    Case(
        "mysql_if",
        "mysql",
        """
        SELECT customer_id, IF(segment = '' OR segment IS NULL, 'unknown', segment) AS seg,
               CASE WHEN email LIKE '%example.com' THEN 1 ELSE 0 END AS corp
        FROM customers""",
    ),
    Case(
        "bigquery_if_coalesce",
        "bigquery",
        """
        SELECT customer_id, IF(country = 'US', 'domestic', 'abroad') AS market,
               COALESCE(NULLIF(email, ''), 'missing') AS email, IFNULL(segment, '?') AS segment
        FROM customers""",
    ),
    # --- CTEs ---------------------------------------------------------------------------
    Case(
        "chained_ctes",
        "snowflake",
        """
        with shipped as (select * from orders where status = 'shipped'),
             per_customer as (select customer_id, sum(amount) as total from shipped group by customer_id)
        select c.name, p.total from per_customer p join customers c using (customer_id)""",
    ),
    Case(
        "recursive_cte",
        "snowflake",
        """
        with recursive n (i) as (select 1 union all select i + 1 from n where i < 5)
        select i, i * i as sq from n""",
    ),
    Case(
        "tsql_cte_top",
        "tsql",
        """
        WITH ranked AS (SELECT order_id, amount FROM orders)
        SELECT TOP 3 order_id, amount FROM ranked ORDER BY amount DESC, order_id""",
        ordered=True,
    ),
    # --- grouping sets ------------------------------------------------------------------
    Case(
        "grouping_sets",
        "snowflake",
        """
        select country, segment, count(*) as n from customers
        group by grouping sets ((country), (segment), ())""",
        mysql="GROUPING SETS",
    ),
    Case(
        "rollup",
        "bigquery",
        """
        SELECT c.country, o.status, SUM(o.amount) AS total
        FROM orders o JOIN customers c ON c.customer_id = o.customer_id
        GROUP BY ROLLUP (c.country, o.status)""",
    ),
    Case(
        "cube_grouping",
        "tsql",
        """
        SELECT status, customer_id, COUNT(*) AS n, GROUPING(status) AS g_status
        FROM orders GROUP BY CUBE (status, customer_id)""",
        mysql="CUBE",
    ),
    Case(
        "mysql_with_rollup",
        "mysql",
        """
        SELECT country, COUNT(*) AS n FROM customers GROUP BY country WITH ROLLUP""",
    ),
    # --- nested aggregates ----------------------------------------------------------------
    Case(
        "avg_of_sums",
        "snowflake",
        """
        select round(avg(total), 3) as avg_total, max(total) as max_total
        from (select customer_id, sum(amount) as total from orders group by customer_id) t""",
    ),
    Case(
        "window_over_aggregate",
        "bigquery",
        """
        SELECT status, SUM(amount) AS total, SUM(SUM(amount)) OVER () AS grand_total,
               RANK() OVER (ORDER BY SUM(amount) DESC) AS rnk
        FROM orders GROUP BY status""",
    ),
    Case(
        "count_distinct_having",
        "redshift",
        """
        select customer_id, count(distinct status) as statuses, count(*) as n
        from orders group by customer_id having count(*) > 1""",
    ),
    Case(
        "conditional_count",
        "snowflake",
        """
        select customer_id, count_if(status = 'shipped') as shipped, count(*) as n
        from orders group by customer_id""",
    ),
    Case(
        "countif_bigquery",
        "bigquery",
        """
        SELECT COUNTIF(shipped_at IS NULL) AS open_orders, LOGICAL_OR(amount > 100) AS any_large
        FROM orders""",
    ),
    Case(
        "median",
        "snowflake",
        """
        select status, median(amount) as med from orders group by status""",
        mysql="MEDIAN",
    ),
    # --- set operations and limits ------------------------------------------------------
    Case(
        "union_intersect_except",
        "tsql",
        """
        SELECT customer_id FROM customers EXCEPT SELECT customer_id FROM orders
        UNION ALL
        SELECT customer_id FROM orders INTERSECT SELECT customer_id FROM customers WHERE country = 'UK'""",
    ),
    Case(
        "limit_offset",
        "snowflake",
        """
        select order_id from orders order by order_id limit 3 offset 2""",
        ordered=True,
    ),
    # --- constructs without a faithful PostgreSQL translation ----------------------------
    Case(
        "star_except",
        "bigquery",
        """
        SELECT * EXCEPT (email, signup_date) FROM customers""",
        mysql="EXCEPT",
        postgres="EXCEPT",
    ),
    Case(
        "approx_percentile",
        "snowflake",
        """
        select status, approx_percentile(amount, 0.5) as p50 from orders group by status""",
        mysql="APPROX_PERCENTILE",
        postgres="APPROX_PERCENTILE",
    ),
    Case(
        "spark_initcap",
        "spark",
        """
        SELECT customer_id,
               initcap(name) AS title FROM customers""",
        mysql="INITCAP",
        postgres="INITCAP",
        snowflake="INITCAP",
    ),
    Case(
        "mysql_timestampdiff_month",
        "mysql",
        """
        SELECT order_id,
               TIMESTAMPDIFF(MONTH, ordered_at, shipped_at) AS months FROM orders""",
        postgres="TIMESTAMPDIFF in MONTH units",
        duckdb="TIMESTAMPDIFF in MONTH units",
        snowflake="TIMESTAMPDIFF in MONTH units",
    ),
]
