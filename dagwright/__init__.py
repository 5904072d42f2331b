"""dagwright: declarative ETL pipelines that become Airflow 3 DAGs."""

__version__ = "0.1.0"
