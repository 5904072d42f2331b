"""The one file Airflow parses: every dagwright spec (*.yaml) in this folder becomes a DAG.

A spec that fails validation becomes a paused DAG under its own name, tagged
``dagwright-broken-spec``, whose page lists every problem with its file, line and column
(it is not an import error: those would stop Airflow running the other pipelines of this
file); every valid spec still loads as its own DAG.
"""

from dagwright.airflow.factory import build_dags

globals().update(build_dags(__file__))
