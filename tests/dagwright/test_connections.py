"""Connections by name: environment URLs and JSON, Airflow connections, secrets masked."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from dagwright.connections import env_var, parse, redact, resolve
from dagwright.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_url_from_environment(monkeypatch) -> None:
    monkeypatch.setenv(
        "DAGWRIGHT_CONN_SHOP_DB", "postgresql://etl:p%40ss%2Fw0rd@db.local:6543/shop"
    )
    conn = resolve("shop_db")
    assert (conn.scheme, conn.host, conn.port, conn.login, conn.database) == (
        "postgresql",
        "db.local",
        6543,
        "etl",
        "shop",
    )
    assert conn.password == "p@ss/w0rd"
    assert conn.url == "postgresql://etl:p%40ss%2Fw0rd@db.local:6543/shop"
    assert "p@ss/w0rd" not in repr(conn) and "p%40ss" not in str(conn)
    assert str(conn) == "connection 'shop_db' (postgresql://etl:***@db.local:6543/shop)"


def test_airflow_style_json_from_environment(monkeypatch) -> None:
    monkeypatch.setenv(
        env_var("my-api"),
        json.dumps(
            {
                "conn_type": "https",
                "host": "api.example.com",
                "password": "tok-json-secret",
                "extra": {"api_token": "extra-secret-1"},
            }
        ),
    )
    conn = resolve("my-api")
    assert env_var("my-api") == "DAGWRIGHT_CONN_MY_API"
    assert (conn.scheme, conn.host, conn.password) == (
        "https",
        "api.example.com",
        "tok-json-secret",
    )
    assert redact("token tok-json-secret and extra-secret-1") == "token *** and ***"


def test_undefined_and_malformed_connections_are_config_errors(monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW_HOME", raising=False)
    monkeypatch.delenv("DAGWRIGHT_CONN_NOWHERE", raising=False)
    if "airflow" in sys.modules:
        pytest.skip("Airflow already imported in this process: the lookup would go there")
    with pytest.raises(ConfigError, match="set the environment variable DAGWRIGHT_CONN_NOWHERE"):
        resolve("nowhere")
    with pytest.raises(ConfigError, match="is not a URL"):
        parse("x", "just-a-host")
    with pytest.raises(ConfigError, match=r"not valid JSON \(line 1, column 2\)"):
        parse("x", "{oops")


def test_secrets_are_masked_in_text_and_log_records(monkeypatch, caplog) -> None:
    monkeypatch.setenv("DAGWRIGHT_CONN_LOGGED", "postgresql://u:Log-Secret-42@h/db")
    resolve("logged")
    assert redact("failed: Log-Secret-42 / Log-Secret-42") == "failed: *** / ***"
    assert redact("mysql://someone:other-pw@host/db") == "mysql://someone:***@host/db"
    with caplog.at_level(logging.INFO, logger="dagwright"):
        logging.getLogger("dagwright").info("connecting with %s", "Log-Secret-42")
    assert "Log-Secret-42" not in caplog.text
    assert "connecting with ***" in caplog.text


@pytest.mark.slow
def test_airflow_connection_when_airflow_is_configured(tmp_path: Path) -> None:
    """A real Airflow lookup (its environment-variable secrets backend), in a fresh process."""
    code = (
        "from dagwright.connections import resolve\n"
        "c = resolve('warehouse_db')\n"
        "print(c.scheme, c.host, c.port, c.login, c.database, c.password == 'af-Secret-9')\n"
        "print(c)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW_CONN_WAREHOUSE_DB": "postgres://loader:af-Secret-9@pg.internal:5433/dw",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "postgresql pg.internal 5433 loader dw True"
    assert lines[1] == "connection 'warehouse_db' (postgresql://loader:***@pg.internal:5433/dw)"
    assert "af-Secret-9" not in result.stdout.replace(lines[0], "")
