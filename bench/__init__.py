"""Benchmarks: ``python -m bench NAME [options]``; each prints one JSON object on its last line."""
