"""Great Expectations suites (YAML) and the code that runs them between stages."""
