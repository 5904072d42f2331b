"""The pipeline spec: YAML in ``dags/``, validated by pydantic models."""
