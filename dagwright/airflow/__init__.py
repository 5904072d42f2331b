"""The Airflow side of dagwright: specs as Airflow 3 DAGs, stages as PythonOperator tasks.

Importing this package imports nothing from Airflow; ``factory`` does.
"""
