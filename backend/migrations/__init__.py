"""Alembic migrations of the backend database (a package so that setuptools ships it)."""
