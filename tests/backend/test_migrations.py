"""Alembic migrations: an empty database gets the schema; running them again changes nothing."""

from __future__ import annotations

import argparse

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from setuptools import find_packages

from backend import crud
from backend.core.db import MIGRATIONS_DIR, Database, head_revision
from backend.core.security import Role
from backend.models import Base


def test_migrations_build_the_schema_once(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert database.revision() is None
        assert sa.inspect(database.engine).get_table_names() == []

        database.migrate()

        assert database.revision() == head_revision() == "0003"
        inspector = sa.inspect(database.engine)
        assert set(inspector.get_table_names()) == {
            "agents",
            "audit_records",
            "alembic_version",
            "devices",
            "permission_groups",
            "permission_group_members",
            "step_up_approvals",
            "step_up_grants",
        }
        unique = {
            c["name"]: c["column_names"] for c in inspector.get_unique_constraints("audit_records")
        }
        assert unique["uq_audit_records_device_id_seq"] == ["device_id", "seq"]
        indexes = {i["name"] for i in inspector.get_indexes("audit_records")}
        assert {"ix_audit_records_agent", "ix_audit_records_system_id_ticket_id"} <= indexes
        columns = {c["name"]: c for c in inspector.get_columns("audit_records")}
        if database.url.get_backend_name() == "postgresql":
            assert getattr(columns["occurred_at"]["type"], "timezone", None) is True
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []

        with database.write_session() as session:
            crud.upsert_agent(session, name="kept", role=Role.AGENT, token="kept-token")
            session.commit()
        database.migrate()  # a no-op the second time

        assert database.revision() == "0003"
        with database.session() as session:
            assert crud.agent_for_token(session, "kept-token") is not None
            assert session.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        database.dispose()


def test_the_developer_ini_drives_the_same_migrations(database_url: str) -> None:
    config = Config(
        str(MIGRATIONS_DIR / "alembic.ini"), cmd_opts=argparse.Namespace(x=[f"url={database_url}"])
    )
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrations disagree
    database = Database(database_url)
    try:
        assert database.revision() == "0003"
    finally:
        database.dispose()


def test_migration_scripts_ship_with_the_package() -> None:
    packages = find_packages(str(MIGRATIONS_DIR.parents[1]), include=["backend*"])
    assert {"backend.migrations", "backend.migrations.versions"} <= set(packages)
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "alembic.ini").is_file()
