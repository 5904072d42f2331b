"""Small TPC-H-shaped data, made with DuckDB SQL (the tpch extension cannot be downloaded).

The eight tables have TPC-H's columns, keys and value domains (the nations and regions,
segments, ship modes, part types and containers, the date rules that set return flags and
line statuses), at a few hundred to a few thousand rows each. Every value comes from
``hash`` of the row's number, so the same DuckDB makes the same data each time.
"""

from __future__ import annotations

from pathlib import Path

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")

SUPPLIERS = 100
PARTS = 1200
CUSTOMERS = 600
ORDERS = 3000
BULK_EVERY = 97
"""Every 97th order has seven large lines (Q18 finds them) and every 97th part is a small
Brand#23 MED BOX (Q17's and Q19's part): uniform values alone leave those queries empty."""

NATIONS = (
    ("ALGERIA", 0),
    ("ARGENTINA", 1),
    ("BRAZIL", 1),
    ("CANADA", 1),
    ("EGYPT", 4),
    ("ETHIOPIA", 0),
    ("FRANCE", 3),
    ("GERMANY", 3),
    ("INDIA", 2),
    ("INDONESIA", 2),
    ("IRAN", 4),
    ("IRAQ", 4),
    ("JAPAN", 2),
    ("JORDAN", 4),
    ("KENYA", 0),
    ("MOROCCO", 0),
    ("MOZAMBIQUE", 0),
    ("PERU", 1),
    ("CHINA", 2),
    ("ROMANIA", 3),
    ("SAUDI ARABIA", 4),
    ("VIETNAM", 2),
    ("RUSSIA", 3),
    ("UNITED KINGDOM", 3),
    ("UNITED STATES", 1),
)
REGIONS = ("AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST")

COLORS = [
    "almond",
    "antique",
    "aquamarine",
    "azure",
    "beige",
    "bisque",
    "black",
    "blanched",
    "blue",
    "blush",
    "brown",
    "burlywood",
    "burnished",
    "chartreuse",
    "chiffon",
    "chocolate",
    "coral",
    "cornflower",
    "cornsilk",
    "cream",
    "cyan",
    "dark",
    "deep",
    "dim",
    "dodger",
    "drab",
    "firebrick",
    "floral",
    "forest",
    "frosted",
    "gainsboro",
    "ghost",
    "goldenrod",
    "green",
    "grey",
    "honeydew",
    "hot",
    "indian",
    "ivory",
    "khaki",
]


def _list(words: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def _pick(words: tuple[str, ...] | list[str], key: str, salt: int) -> str:
    return f"{_list(words)}[rnd({key}, {salt}, {len(words)}) + 1]"


def _phone(nation: str, key: str) -> str:
    return (
        f"({nation} + 10)::VARCHAR || '-' || lpad((rnd({key}, 21, 900) + 100)::VARCHAR, 3, '0')"
        f" || '-' || lpad((rnd({key}, 22, 900) + 100)::VARCHAR, 3, '0')"
        f" || '-' || lpad((rnd({key}, 23, 9000) + 1000)::VARCHAR, 4, '0')"
    )


def statements() -> list[str]:
    """The SQL making the eight tables, in order."""
    nations = ", ".join(
        f"({key}, '{name}', {region}, 'nation {name.lower()}')"
        for key, (name, region) in enumerate(NATIONS)
    )
    regions = ", ".join(f"({key}, '{name}', 'region')" for key, name in enumerate(REGIONS))
    name_words = " || ' ' || ".join(_pick(COLORS, "i", 30 + k) for k in range(5))
    part_type = " || ' ' || ".join(
        (
            _pick(("STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"), "i", 7),
            _pick(("ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"), "i", 8),
            _pick(("TIN", "NICKEL", "BRASS", "STEEL", "COPPER"), "i", 9),
        )
    )
    container = " || ' ' || ".join(
        (
            _pick(("SM", "LG", "MED", "JUMBO", "WRAP"), "i", 10),
            _pick(("CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM"), "i", 11),
        )
    )
    segments = ("AUTOMOBILE", "BUILDING", "FURNITURE", "MACHINERY", "HOUSEHOLD")
    priorities = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")
    instructs = ("DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN")
    modes = ("REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB")
    # TPC-H's rule: part p is supplied by these four suppliers (j = 0..3).
    supplier_of = (
        f"(({{p}} + {{j}} * ({SUPPLIERS} // 4 + ({{p}} - 1) // {SUPPLIERS})) % {SUPPLIERS}) + 1"
    )
    return [
        # hash(i, salt)'s low bits are alike across salts; a hashed string's are not.
        "CREATE OR REPLACE MACRO rnd(i, salt, n) AS "
        "CAST(hash(i::VARCHAR || ':' || salt::VARCHAR) % n AS INTEGER)",
        f"""CREATE TABLE region AS SELECT * FROM (VALUES {regions})
            t(r_regionkey, r_name, r_comment)""",
        f"""CREATE TABLE nation AS SELECT * FROM (VALUES {nations})
            t(n_nationkey, n_name, n_regionkey, n_comment)""",
        f"""CREATE TABLE supplier AS SELECT
              i::INTEGER AS s_suppkey,
              'Supplier#' || lpad(i::VARCHAR, 9, '0') AS s_name,
              'address ' || rnd(i, 1, 100000) AS s_address,
              rnd(i, 2, 25) AS s_nationkey,
              {_phone("rnd(i, 2, 25)", "i")} AS s_phone,
              ((rnd(i, 3, 1099998) - 99999) / 100)::DECIMAL(15, 2) AS s_acctbal,
              CASE WHEN i % 17 = 0 THEN 'blithely Customer sly Complaints'
                   WHEN i % 19 = 0 THEN 'carefully Customer Recommends'
                   ELSE 'quickly final deposits' END AS s_comment
            FROM range(1, {SUPPLIERS + 1}) t(i)""",
        f"""CREATE TABLE part AS SELECT
              i::INTEGER AS p_partkey,
              {name_words} AS p_name,
              'Manufacturer#' || (rnd(i, 5, 5) + 1) AS p_mfgr,
              CASE WHEN i % {BULK_EVERY} = 0 THEN 'Brand#23'
                   ELSE 'Brand#' || (rnd(i, 5, 5) + 1) || (rnd(i, 6, 5) + 1) END AS p_brand,
              {part_type} AS p_type,
              CASE WHEN i % {BULK_EVERY} = 0 THEN rnd(i, 12, 10) + 1
                   ELSE rnd(i, 12, 50) + 1 END AS p_size,
              CASE WHEN i % {BULK_EVERY} = 0 THEN 'MED BOX' ELSE {container} END
                AS p_container,
              ((90000 + ((i // 10) % 20001) + 100 * (i % 1000)) / 100)::DECIMAL(15, 2)
                AS p_retailprice,
              'part comment ' || rnd(i, 13, 1000) AS p_comment
            FROM range(1, {PARTS + 1}) t(i)""",
        f"""CREATE TABLE partsupp AS SELECT
              p::INTEGER AS ps_partkey,
              ({supplier_of.format(p="p", j="j")})::INTEGER AS ps_suppkey,
              rnd(p * 4 + j, 1, 9999) + 1 AS ps_availqty,
              ((rnd(p * 4 + j, 2, 99901) + 100) / 100)::DECIMAL(15, 2) AS ps_supplycost,
              'partsupp comment' AS ps_comment
            FROM range(1, {PARTS + 1}) a(p), range(0, 4) b(j)""",
        f"""CREATE TABLE customer AS SELECT
              i::INTEGER AS c_custkey,
              'Customer#' || lpad(i::VARCHAR, 9, '0') AS c_name,
              'address ' || rnd(i, 1, 100000) AS c_address,
              rnd(i, 2, 25) AS c_nationkey,
              {_phone("rnd(i, 2, 25)", "i")} AS c_phone,
              ((rnd(i, 3, 1099998) - 99999) / 100)::DECIMAL(15, 2) AS c_acctbal,
              {_pick(segments, "i", 4)} AS c_mktsegment,
              'customer comment ' || rnd(i, 5, 1000) AS c_comment
            FROM range(1, {CUSTOMERS + 1}) t(i)""",
        # A third of the customers (keys divisible by 3) place no order, as in TPC-H.
        f"""CREATE TABLE order_head AS SELECT
              o::INTEGER AS o_orderkey,
              (3 * rnd(o, 1, {CUSTOMERS // 3}) + 1 + rnd(o, 2, 2))::INTEGER AS o_custkey,
              DATE '1992-01-01' + rnd(o, 3, 2406) AS o_orderdate,
              {_pick(priorities, "o", 4)} AS o_orderpriority,
              'Clerk#' || lpad((rnd(o, 5, 1000) + 1)::VARCHAR, 9, '0') AS o_clerk,
              0 AS o_shippriority,
              CASE WHEN o % 13 = 0 THEN 'carefully special pending requests'
                   ELSE 'regular ideas' END AS o_comment,
              CASE WHEN o % {BULK_EVERY} = 0 THEN 7 ELSE rnd(o, 6, 7) + 1 END AS lines,
              o % {BULK_EVERY} = 0 AS bulk
            FROM range(1, {ORDERS + 1}) t(o)""",
        f"""CREATE TABLE line_draft AS SELECT
              o_orderkey AS l_orderkey,
              n::INTEGER AS l_linenumber,
              rnd(o_orderkey * 8 + n, 1, {PARTS}) + 1 AS l_partkey,
              rnd(o_orderkey * 8 + n, 2, 4) AS supplier_index,
              (CASE WHEN bulk THEN 44 + rnd(o_orderkey * 8 + n, 3, 7)
                    ELSE rnd(o_orderkey * 8 + n, 3, 50) + 1 END)::DECIMAL(15, 2) AS l_quantity,
              (rnd(o_orderkey * 8 + n, 4, 11) / 100)::DECIMAL(15, 2) AS l_discount,
              (rnd(o_orderkey * 8 + n, 5, 9) / 100)::DECIMAL(15, 2) AS l_tax,
              o_orderdate + rnd(o_orderkey * 8 + n, 6, 121) + 1 AS l_shipdate,
              o_orderdate + rnd(o_orderkey * 8 + n, 7, 61) + 30 AS l_commitdate,
              rnd(o_orderkey * 8 + n, 8, 30) + 1 AS receipt_lag,
              rnd(o_orderkey * 8 + n, 9, 2) AS returned,
              {_pick(instructs, "o_orderkey * 8 + n", 10)} AS l_shipinstruct,
              {_pick(modes, "o_orderkey * 8 + n", 11)} AS l_shipmode
            FROM order_head, range(1, 8) t(n) WHERE n <= lines""",
        f"""CREATE TABLE lineitem AS SELECT
              l_orderkey,
              l_partkey,
              ({supplier_of.format(p="l_partkey", j="supplier_index")})::INTEGER AS l_suppkey,
              l_linenumber,
              l_quantity,
              (l_quantity * p_retailprice)::DECIMAL(15, 2) AS l_extendedprice,
              l_discount,
              l_tax,
              CASE WHEN l_shipdate + receipt_lag <= DATE '1995-06-17'
                   THEN CASE returned WHEN 0 THEN 'R' ELSE 'A' END ELSE 'N' END
                AS l_returnflag,
              CASE WHEN l_shipdate > DATE '1995-06-17' THEN 'O' ELSE 'F' END AS l_linestatus,
              l_shipdate,
              l_commitdate,
              l_shipdate + receipt_lag AS l_receiptdate,
              l_shipinstruct,
              l_shipmode,
              'line comment' AS l_comment
            FROM line_draft JOIN part ON p_partkey = l_partkey
            ORDER BY l_orderkey, l_linenumber""",
        """CREATE TABLE orders AS SELECT
              h.o_orderkey,
              h.o_custkey,
              CASE WHEN bool_and(l_linestatus = 'F') THEN 'F'
                   WHEN bool_and(l_linestatus = 'O') THEN 'O' ELSE 'P' END AS o_orderstatus,
              sum(l_extendedprice * (1 + l_tax) * (1 - l_discount))::DECIMAL(15, 2)
                AS o_totalprice,
              h.o_orderdate,
              h.o_orderpriority,
              h.o_clerk,
              h.o_shippriority,
              h.o_comment
            FROM order_head h JOIN lineitem ON l_orderkey = h.o_orderkey
            GROUP BY ALL ORDER BY h.o_orderkey""",
    ]


def generate(folder: Path) -> dict[str, Path]:
    """Write the eight tables as Parquet files in ``folder``; their paths, by table."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        for sql in statements():
            con.execute(sql)
        paths = {name: folder / f"{name}.parquet" for name in TABLES}
        for name, path in paths.items():
            con.table(name).write_parquet(str(path))
    finally:
        con.close()
    return paths
