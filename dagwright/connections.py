"""Connections by name: credentials come from the environment or Airflow, never from specs.

``connection: shop_db`` in a spec resolves, in this order, to:

1. the environment variable ``DAGWRIGHT_CONN_SHOP_DB``: a URL
   (``postgresql://user:pass@host:5432/db``) or a JSON object in Airflow's connection
   format (``{"conn_type": "http", "host": "...", "login": "...", "password": "..."}``);
2. the Airflow connection ``shop_db``, when Airflow is installed and configured
   (``AIRFLOW_CONN_SHOP_DB``, ``AIRFLOW_HOME``, or inside an Airflow process). Airflow
   is imported only then.

Every secret a connection holds is registered for masking: ``redact`` replaces them
(and their URL-encoded forms) in any text before it reaches an error or a log line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from dagwright import secrets
from dagwright.errors import ConfigError

ENV_PREFIX = "DAGWRIGHT_CONN_"

LIBRARY_LOGGERS = ("httpx", "httpcore", "sqlalchemy", "urllib3")
"""Loggers of the libraries that talk to connections; their records are masked too."""


@dataclass(frozen=True)
class Connection:
    """Where a source lives and how to log in. ``repr`` and ``str`` never show the password."""

    name: str
    scheme: str = ""
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        """The connection as a URL, password included: hand it to drivers, never print it."""
        auth = ""
        if self.login or self.password:
            auth = quote(self.login or "", safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        host = self.host or ""
        if self.port:
            host += f":{self.port}"
        path = f"/{self.database}" if self.database else ""
        return f"{self.scheme}://{auth}{host}{path}"

    @property
    def safe_url(self) -> str:
        return redact(self.url)

    def with_scheme(self, scheme: str) -> Connection:
        return replace(self, scheme=scheme)

    def __str__(self) -> str:
        return f"connection {self.name!r} ({self.safe_url})"


def env_var(name: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


EXAMPLE_URL = "postgresql://user:password@host:5432/db"


def resolve(name: str, example: str = EXAMPLE_URL) -> Connection:
    """The connection called ``name``; ``ConfigError`` (with the places looked, and an
    ``example`` URL of the kind the caller needs) when none."""
    var = env_var(name)
    raw = os.environ.get(var)
    if raw:
        conn = parse(name, raw, origin=var)
    elif _airflow_configured(name):
        conn = _from_airflow(name)
    else:
        raise ConfigError(
            f"connection {name!r} is not defined: set the environment variable {var} to its URL "
            f"(e.g. {example}), or define the Airflow connection "
            f"{name!r}"
        )
    register_secrets(conn)
    return conn


def parse(name: str, raw: str, origin: str = "") -> Connection:
    """A connection from a URL or an Airflow-style JSON object."""
    raw = raw.strip()
    where = f" in {origin}" if origin else ""
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"connection {name!r}{where} is not valid JSON (line {exc.lineno}, column "
                f"{exc.colno}): expected a URL or an Airflow connection JSON object"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError(f"connection {name!r}{where}: expected a JSON object")
        return _from_fields(name, data)
    parts = urlsplit(raw)
    if not parts.scheme:
        raise ConfigError(
            f"connection {name!r}{where} is not a URL: expected scheme://[user:password@]host/..."
        )
    if parts.scheme == "sqlite" or parts.scheme.startswith("sqlite+"):
        database = raw.split(":///", 1)[1] if ":///" in raw else parts.path.lstrip("/")
        return Connection(name=name, scheme=parts.scheme, database=database)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"connection {name!r}{where} has an invalid port") from None
    extra = dict(_query(parts.query))
    path = unquote(parts.path.lstrip("/")) or None
    return Connection(
        name=name,
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=path,
        extra=extra,
    )


def _query(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


def _from_fields(name: str, data: dict[str, Any]) -> Connection:
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError:
            extra = {}
    scheme = data.get("conn_type") or data.get("scheme") or ""
    port = data.get("port")
    return Connection(
        name=name,
        scheme="postgresql" if scheme == "postgres" else str(scheme),
        host=data.get("host") or None,
        port=int(port) if port else None,
        login=data.get("login") or None,
        password=data.get("password") or None,
        database=data.get("schema") or data.get("database") or None,
        extra=dict(extra),
    )


def _airflow_configured(name: str) -> bool:
    if importlib.util.find_spec("airflow") is None:
        return False
    return (
        "AIRFLOW_CONN_" + name.upper() in os.environ
        or "AIRFLOW_HOME" in os.environ
        or "airflow" in sys.modules
    )


def _from_airflow(name: str) -> Connection:
    from airflow.sdk.definitions.connection import Connection as AirflowConnection

    try:
        found = AirflowConnection.get(name)
    except Exception as exc:  # noqa: BLE001 - any backend failure means "not found here"
        raise ConfigError(
            f"connection {name!r} is neither in {env_var(name)} nor an Airflow connection "
            f"({type(exc).__name__}: {redact(str(exc))})"
        ) from None
    conn = _from_fields(
        name,
        {
            "conn_type": found.conn_type,
            "host": found.host,
            "port": found.port,
            "login": found.login,
            "password": found.password,
            "schema": found.schema,
            "extra": found.extra_dejson,
        },
    )
    if conn.scheme in ("http", "https") and conn.host and "://" in conn.host:
        parts = urlsplit(conn.host)
        conn = replace(conn, scheme=parts.scheme, host=parts.hostname, port=parts.port or conn.port)
    return conn


def register_secrets(conn: Connection) -> None:
    """Remember a connection's secrets so ``redact`` hides them everywhere."""
    values = [conn.password]
    values += [v for k, v in conn.extra.items() if _secret_key(k) and isinstance(v, str)]
    for value in values:
        register_secret(value)


def register_secret(value: str | None) -> None:
    secrets.register(value)
    secrets.install_log_filter(*LIBRARY_LOGGERS)


def _secret_key(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in ("password", "secret", "token", "key", "auth"))


def redact(text: str) -> str:
    """``text`` with every registered secret, and any URL's password, replaced by ***."""
    return secrets.mask(text)
