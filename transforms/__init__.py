"""Transform steps (DuckDB SQL, Polars) and the project's own transform functions."""
