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
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ClauseElement, Engine, Table, create_engine, event, insert, text
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler

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
        self.engine: Engine = create_engine(self.url, **options)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
        else:
            _ping_after_idle(self.engine, PING_AFTER_IDLE_S)
        self._read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
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

    def read_connection(self) -> Connection:
        """A pooled connection for reading with :class:`DriverStatement` (``with ... as c:``).

        On PostgreSQL in autocommit: each statement is its own snapshot, and no ``BEGIN`` and
        ``ROLLBACK`` round trips around it (for single-statement reads, such as every request's
        token lookup)."""
        return self._read_engine.connect()

    def write_connection(self) -> Connection:
        """A pooled connection for one write transaction without an ORM session: ``with
        database.write_connection() as c, c.begin():`` (SQLite: ``BEGIN IMMEDIATE``)."""
        return self.write_engine.connect()

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


class DriverStatement:
    """A Core statement compiled once per dialect and run on the driver's own cursor, inside a
    SQLAlchemy :class:`Connection` (its pool, events and transaction).

    For the upload hot path, where SQLAlchemy's per-execution work (ORM or Core: compiling
    the cache key, result metadata, row processing) cost several times the query itself. The
    rows come back as the driver gives them: use it for plain columns (text, integers), not
    for ones whose type processes values (dates on SQLite, JSON).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, SQLCompiler] = {}

    def compiled(self, dialect: Dialect) -> SQLCompiler:
        """The statement compiled for ``dialect`` (once)."""
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            made = self.statement.compile(dialect=dialect)
            assert isinstance(made, SQLCompiler)
            compiled = self._compiled[dialect.name] = made
        return compiled

    def rows(self, connection: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """Run with the bound parameters ``params`` (by name); every row of the result."""
        compiled = self.compiled(connection.dialect)
        values = compiled.construct_params(params) or {}
        args: Any = values
        if compiled.positiontup is not None:
            args = tuple(values[name] for name in compiled.positiontup)
        with driver_errors(connection, compiled.string):
            cursor = _driver_connection(connection).cursor()
            try:
                cursor.execute(compiled.string, args)
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()

    def first(self, connection: Connection, **params: Any) -> tuple[Any, ...] | None:
        """The first row (None: no row)."""
        rows = self.rows(connection, **params)
        return rows[0] if rows else None


def _driver_connection(connection: Connection) -> Any:
    raw = connection.connection.driver_connection
    assert raw is not None
    return raw


@contextmanager
def driver_errors(connection: Connection, statement: str) -> Iterator[None]:
    """Raise the driver's errors inside as SQLAlchemy's (:class:`IntegrityError`,
    :class:`OperationalError`, ...), as if SQLAlchemy had run ``statement``; a lost connection
    is invalidated, so that the pool does not hand it out again."""
    dialect = connection.dialect
    dbapi = dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, _driver_connection(connection), None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            statement, None, exc, dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from exc


def copy_rows(
    connection: Session | Connection, table: Table, rows: Iterable[Sequence[Any]]
) -> None:
    """PostgreSQL: append ``rows`` (values in ``table``'s column order) with one ``COPY ... FROM
    STDIN`` inside the transaction of ``connection`` (a session's or a connection's); a violated
    constraint raises SQLAlchemy's :class:`IntegrityError` as an INSERT would (any error: see
    :func:`driver_errors`). Several times
    cheaper per row than an INSERT executemany, where the driver binds every parameter of every
    row in Python."""
    from psycopg import sql  # only with the postgres extra

    if isinstance(connection, Session):
        connection = connection.connection()
    raw = _driver_connection(connection)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in table.c)
    )
    with (
        driver_errors(connection, f"COPY {table.name}"),
        raw.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def executemany_rows(
    connection: Session | Connection,
    table: Table,
    rows: Iterable[Sequence[Any]],
    *,
    ready: frozenset[str] = frozenset(),
) -> None:
    """Insert ``rows`` (values in ``table``'s column order) with the driver's ``executemany``
    inside the transaction of ``connection``, each value through its column type's bind
    processor (exactly what SQLAlchemy would send) except in the ``ready`` columns, whose
    values are given as the driver takes them (JSON as text); a violated constraint raises
    SQLAlchemy's :class:`IntegrityError`. For SQLite, where SQLAlchemy's own per-row parameter
    handling cost more than the insert itself."""
    if isinstance(connection, Session):
        connection = connection.connection()
    dialect = connection.dialect
    key = (table.name, dialect.name, ready)
    if key not in _EXECUTEMANY:
        processors = [
            None if c.name in ready else c.type.dialect_impl(dialect).bind_processor(dialect)
            for c in table.c
        ]
        _EXECUTEMANY[key] = (
            str(insert(table).compile(dialect=dialect)),
            [(index, process) for index, process in enumerate(processors) if process is not None],
        )
    statement, processed = _EXECUTEMANY[key]
    values = []
    for row in rows:
        row_values = list(row)
        for index, process in processed:
            row_values[index] = process(row_values[index])
        values.append(row_values)
    with driver_errors(connection, statement):
        cursor = _driver_connection(connection).cursor()
        try:
            cursor.executemany(statement, values)
        finally:
            cursor.close()


_EXECUTEMANY: dict[tuple[str, str, frozenset[str]], tuple[str, list[tuple[int, Any]]]] = {}
"""Per table, dialect and ready columns: the INSERT, and the columns to process."""
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def json_text(value: object) -> str:
    """A JSON column's text, UTF-8 text rather than escapes. Written by orjson (several times
    faster) unless ``value`` holds a float (orjson would write NaN as null) or something orjson
    refuses (integers beyond 64 bits): then by the standard library's encoder, built once."""
    if float_free(value):
        try:
            return orjson.dumps(value).decode("utf-8")
        except TypeError:  # orjson.JSONEncodeError included
            pass
    return _JSON_ENCODER.encode(value)


def float_free(value: object) -> bool:
    """Whether ``value`` (plain JSON: dicts, lists, scalars) holds no float at any depth."""
    kind = type(value)
    if kind is dict:
        return all(map(float_free, value.values()))  # type: ignore[attr-defined]
    if kind is list:
        return all(map(float_free, value))  # type: ignore[call-overload]
    return kind is not float


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision recorded in the database behind ``connection``."""
    return MigrationContext.configure(connection).get_current_revision()


PING_AFTER_IDLE_S = 5.0
"""A pooled PostgreSQL connection idle this long is pinged before it is handed out."""


def _ping_after_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection at checkout only when it sat idle for ``idle_s`` or more; one
    that does not answer is replaced (SQLAlchemy's pessimistic disconnect handling, with the
    ping skipped for connections in steady use).

    ``pool_pre_ping`` pings at every checkout: under load one extra round trip per request
    (two for an upload), for connections that answered milliseconds ago. A database restart
    is still noticed: the first statement on a lost connection invalidates the whole pool
    (:func:`driver_errors`, SQLAlchemy's own error handling), idle connections are pinged.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_s:
            return  # just connected, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection lost ({exc.__class__.__name__})") from exc


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
