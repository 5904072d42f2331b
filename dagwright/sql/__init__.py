"""SQL through sqlglot: rendering with quoted identifiers, translating between dialects."""
