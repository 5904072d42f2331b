"""Destinations: each module holds one ``Loader`` subclass, registered as an entry point."""
