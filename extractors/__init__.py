"""Sources: each module holds one ``Extractor`` subclass, registered as an entry point."""
