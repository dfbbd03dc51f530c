"""Stand-ins for real products' APIs, for the demo, the tests and the benchmarks.

Each module reproduces the documented wire shapes of one product (endpoints, envelopes,
pagination, auth, error shapes) and supports fault injection. Imports none of Tabless.
"""
