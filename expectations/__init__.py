"""Great Expectations suites (YAML) and the code that runs them between stages."""

# A project's own folder of the same name (without __init__.py) extends this package,
# so user modules such as expectations.my_module import beside the built-in ones.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
