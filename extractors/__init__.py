"""Sources: each module holds one ``Extractor`` subclass, registered as an entry point."""

# A project's own folder of the same name (without __init__.py) extends this package,
# so user modules such as extractors.my_module import beside the built-in ones.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
