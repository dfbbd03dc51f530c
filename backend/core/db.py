"""The database: one engine, short sessions, migrations at start.

A session lives inside one function call on one thread (``with database.session() as s:``);
it never crosses threads or asyncio tasks, which is why routes open their own sessions
instead of receiving one from a yield-dependency (FastAPI runs those on other threads).

SQLite runs in WAL mode with a busy timeout; SQLAlchemy emits ``BEGIN`` itself (the pysqlite
recipe) so that DDL is transactional and writers take the lock up front (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Table, create_engine, event, insert, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.domain.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
_MIGRATION_LOCK_KEY = 0x7AB1E55  # pg_advisory_xact_lock: one replica migrates at a time
_WRITE_OPTION = "tabless_write"


def normalize_url(url: str | URL) -> URL:
    """``url`` with a driver we ship: ``postgres://`` and ``postgresql://`` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"Unreadable database URL ({exc.__class__.__name__})") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ConfigError("An in-memory SQLite database cannot be shared; give a file path")
    return parsed


def safe_url(url: URL) -> str:
    """``url`` for logs and messages: the password masked."""
    return url.render_as_string(hide_password=True)


def alembic_config(url: URL) -> Config:
    """An Alembic configuration without alembic.ini: scripts inside this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%': escape the URL (URL-encoded passwords contain it).
    config.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def head_revision() -> str | None:
    """The newest migration in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


class Database:
    """The engine and session factories of one database URL."""

    def __init__(self, url: str | URL) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"json_serializer": json_text}
        if self.is_sqlite:
            assert self.url.database is not None
            Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"check_same_thread": False}
        else:
            options["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **options)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
        self.write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.device_keys: dict[str, str] = {}
        """Registered public keys by device id, as read (a device's key never changes)."""
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)

    def session(self) -> Session:
        """A new session for reading (``with database.session() as session:``)."""
        return self._sessions()

    def write_session(self) -> Session:
        """A new session for a write transaction (SQLite: takes the write lock at BEGIN)."""
        return self._write_sessions()

    def writer(self) -> AbstractContextManager[object]:
        """Hold while writing: on SQLite one writer of this process at a time (the others wait
        here instead of timing out on the file lock); nothing on PostgreSQL."""
        return self._write_lock if self._write_lock is not None else nullcontext()

    def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op when it is already there."""
        config = alembic_config(self.url)
        with self.write_engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def revision(self) -> str | None:
        """The schema revision stored in the database (None: not migrated)."""
        with self.engine.connect() as connection:
            return current_revision(connection)

    def readiness_problem(self, expected_revision: str | None) -> str | None:
        """Why the database cannot serve requests now, or None when it can."""
        try:
            revision = self.revision()
        except SQLAlchemyError as exc:
            return f"database unreachable ({exc.__class__.__name__})"
        if revision != expected_revision:
            return f"schema at revision {revision}, expected {expected_revision}"
        return None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def copy_rows(session: Session, table: Table, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: append ``rows`` (values in ``table``'s column order) with one ``COPY ... FROM
    STDIN`` inside the session's transaction; a violated constraint raises SQLAlchemy's
    :class:`IntegrityError` as an INSERT would. Several times cheaper per row than an INSERT
    executemany, where the driver binds every parameter of every row in Python."""
    import psycopg  # only with the postgres extra
    from psycopg import sql

    raw = session.connection().connection.driver_connection
    assert raw is not None
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in table.c)
    )
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.IntegrityError as exc:
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc


def executemany_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (one dict per row, every column) with the driver's ``executemany``
    inside the session's transaction, each value through its column type's bind processor
    (exactly what SQLAlchemy would send); a violated constraint raises SQLAlchemy's
    :class:`IntegrityError`. For SQLite, where SQLAlchemy's own per-row parameter handling
    cost more than the insert itself."""
    connection = session.connection()
    dialect = connection.dialect
    key = (table.name, dialect.name)
    if key not in _EXECUTEMANY:
        columns = list(table.c)
        _EXECUTEMANY[key] = (
            str(insert(table).compile(dialect=dialect)),
            [(c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in columns],
        )
    statement, processors = _EXECUTEMANY[key]
    values = [
        tuple(
            process(row[name]) if process is not None else row[name] for name, process in processors
        )
        for row in rows
    ]
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.executemany(statement, values)
    except dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    finally:
        cursor.close()


_EXECUTEMANY: dict[tuple[str, str], tuple[str, list[tuple[str, Any]]]] = {}
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def json_text(value: object) -> str:
    """A JSON column's text (the encoder built once, UTF-8 text rather than escapes)."""
    return _JSON_ENCODER.encode(value)


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision recorded in the database behind ``connection``."""
    return MigrationContext.configure(connection).get_current_revision()


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
