"""One place that masks secrets in text: errors, log lines and run records.

Masked are: every value registered here (connection passwords and tokens, and the values
of environment variables whose names say they are secret), the password of any URL
(``scheme://user:PASSWORD@host``), and ``password=...``-style pairs (libpq DSNs, query
strings). ``mask`` is what the CLI prints errors through and what the runner stores;
``MaskingFilter`` does the same for log records.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"
MIN_LENGTH = 3
"""Shorter values are not registered: masking every 'ab' would garble all text."""

SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL",
    re.IGNORECASE,
)
CONNECTION_VARS = ("DAGWRIGHT_CONN_", "AIRFLOW_CONN_")
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)@")
_PAIR = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|secret|token|api_?key|access_?token)"
    r"\s*[=:]\s*(?P<quote>['\"]?))(?P<value>[^\s'\"&;,]+)",
    re.IGNORECASE,
)

_known: set[str] = set()
_lock = threading.Lock()


def register(value: str | None) -> None:
    """Mask ``value`` (and its URL-encoded forms) from now on, in this process."""
    if not value or len(value) < MIN_LENGTH:
        return
    with _lock:
        _known.update({value, quote(value, safe=""), quote(value), quote_plus(value)})


def register_all(values: Iterable[str | None]) -> None:
    for value in values:
        register(value)


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """Register secret-looking environment variables and the passwords of connection URLs."""
    environ = os.environ if environ is None else environ
    for name, value in environ.items():
        if name.startswith(CONNECTION_VARS):
            register_all(connection_secrets(value))
        elif SECRET_NAME.search(name):
            register(value)


def connection_secrets(raw: str) -> list[str]:
    """The secrets in a connection given as a URL or as Airflow's JSON object."""
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return [raw]
        if not isinstance(data, dict):
            return []
        found = [str(data["password"])] if data.get("password") else []
        extra = data.get("extra")
        if isinstance(extra, dict):
            found += [str(v) for k, v in extra.items() if SECRET_NAME.search(k) and v]
        return found
    try:
        password = urlsplit(raw).password
    except ValueError:
        return []
    return [password] if password else []


def mask(text: str) -> str:
    """``text`` with every known secret, URL password and ``password=`` value as ``***``."""
    if not text:
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", text)
    text = _PAIR.sub(lambda m: m.group("head") + MASK, text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return text


class MaskingFilter(logging.Filter):
    """Mask secrets in a log record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = mask(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


_filter = MaskingFilter()


def install_log_filter(*loggers: str) -> None:
    """Add the masking filter to the root handlers and to the named loggers (idempotent)."""
    targets = list(logging.getLogger().handlers)
    targets += [logging.getLogger(name) for name in ("dagwright", *loggers)]
    for target in targets:
        if _filter not in target.filters:
            target.addFilter(_filter)
