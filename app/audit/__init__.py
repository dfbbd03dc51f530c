"""The audit trail: a hash-chained log of every agent action, uploaded to the backend.

``app.audit.wire`` is the schema shared with the backend (stdlib only). This package file stays
import-free so that the backend can import the wire module without pulling in the client side.
"""
