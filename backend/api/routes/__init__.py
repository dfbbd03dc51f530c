"""One module per resource: ``health`` (unauthenticated probes) and ``audit``."""
