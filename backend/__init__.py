"""The Tabless backend: a small FastAPI service that stores agents' audit records.

``backend.main.create_app(settings)`` builds the app; ``backend.cli.backend_command(argv)`` runs
it (``tabless backend``). It imports nothing of ``app`` but the audit wire schema and the pure
domain modules.
"""
