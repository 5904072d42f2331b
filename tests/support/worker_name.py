"""Airflow's ``[core] hostname_callable`` for test workers on one machine.

Two Celery workers on one host report the same fully qualified name; with this callable
each reports ``DAGWRIGHT_TEST_WORKER``, so the task instances show which worker ran them.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("DAGWRIGHT_TEST_WORKER") or socket.getfqdn()
