"""The one file Airflow parses: every dagwright spec (*.yaml) in this folder becomes a DAG.

Specs that fail validation are reported together as an import error of this file
(file, line and problem of each), and every valid spec still loads as its own DAG.
"""

from dagwright.airflow.factory import build_dags

globals().update(build_dags(__file__))
