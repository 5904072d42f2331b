"""Transform steps (DuckDB SQL, Polars) and the project's own transform functions."""

# A project's own folder of the same name (without __init__.py) extends this package,
# so user modules such as transforms.my_module import beside the built-in ones.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
